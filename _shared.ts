// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Objects that live in shared memory (locks, events, values) cross into a
// Thread by reference: each has a shared form (its SharedArrayBuffers and
// settings), and each kind registers a reviver that rebuilds an object on
// the same memory in the receiving thread. Plain objects and arrays are
// walked; anything else travels by structured clone as it is.

/** Returns an object's shared form; see {@linkcode Shareable}. */
export const toShared: unique symbol = Symbol.for(
  "@parallel/multiprocessing/toShared",
) as never;

/** What a shared object becomes in transit: its kind and its memory. */
export interface SharedForm {
  kind: string;
  state: unknown;
}

/** An object that lives in shared memory and crosses into threads. */
export interface Shareable {
  [toShared](): SharedForm;
}

const MARK = "@parallel/multiprocessing/shared";
const revivers = new Map<string, (state: never) => unknown>();

/** Registers how to rebuild a kind of shared object from its state. */
export function registerShareable<S>(
  kind: string,
  revive: (state: S) => unknown,
): void {
  revivers.set(kind, revive as (state: never) => unknown);
}

/** True for objects with a shared form. */
export function isShareable(value: unknown): value is Shareable {
  return typeof value === "object" && value !== null && toShared in value;
}

function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Replaces shared objects in `value` by their shared forms. */
export function encodeShared(value: unknown): unknown {
  if (isShareable(value)) return { [MARK]: value[toShared]() };
  if (Array.isArray(value)) return value.map(encodeShared);
  if (isPlain(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, encodeShared(item)]),
    );
  }
  return value;
}

/** Rebuilds shared objects encoded by {@linkcode encodeShared}. */
export function decodeShared(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeShared);
  if (!isPlain(value)) return value;
  const form = value[MARK] as SharedForm | undefined;
  if (form) {
    const revive = revivers.get(form.kind);
    if (!revive) {
      throw new TypeError(`Cannot rebuild shared ${form.kind}: unknown kind`);
    }
    return revive(form.state as never);
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, decodeShared(item)]),
  );
}

/** The class name of the first shared object inside `value`, if any. */
export function findShareable(value: unknown): string | null {
  if (isShareable(value)) return value.constructor.name;
  const items = Array.isArray(value)
    ? value
    : isPlain(value)
    ? Object.values(value)
    : [];
  for (const item of items) {
    const found = findShareable(item);
    if (found) return found;
  }
  return null;
}
