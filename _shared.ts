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

/**
 * Replaces shared objects in `value` by their shared forms, walking plain
 * objects, arrays, Maps and Sets (cycles included). A shared object inside
 * anything else (a class instance) would be copied by structured clone, so
 * it is refused rather than silently copied.
 *
 * @throws {TypeError} If a shared object sits inside a class instance.
 */
export function encodeShared(
  value: unknown,
  seen: Map<object, unknown> = new Map(),
): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (isShareable(value)) {
    const form = { [MARK]: value[toShared]() };
    seen.set(value, form);
    return form;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const item of value) copy.push(encodeShared(item, seen));
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map();
    seen.set(value, copy);
    for (const [key, item] of value) {
      copy.set(encodeShared(key, seen), encodeShared(item, seen));
    }
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    seen.set(value, copy);
    for (const item of value) copy.add(encodeShared(item, seen));
    return copy;
  }
  if (isPlain(value)) {
    const copy: Record<string, unknown> = {};
    seen.set(value, copy);
    for (const [key, item] of Object.entries(value)) {
      copy[key] = encodeShared(item, seen);
    }
    return copy;
  }
  seen.set(value, value);
  const inside = findShareable(value, new Set(), true);
  if (inside) {
    throw new TypeError(
      `Cannot share a ${inside} held inside an instance of ${
        Object.getPrototypeOf(value)?.constructor?.name ?? "a class"
      }: structured clone would copy it; pass it directly, or in a plain object, array, Map or Set`,
    );
  }
  return value;
}

/** Rebuilds shared objects encoded by {@linkcode encodeShared}. */
export function decodeShared(
  value: unknown,
  seen: Map<object, unknown> = new Map(),
): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (Array.isArray(value)) {
    seen.set(value, value);
    value.forEach((item, i) => value[i] = decodeShared(item, seen));
    return value;
  }
  if (value instanceof Map) {
    seen.set(value, value);
    for (const [key, item] of value) value.set(key, decodeShared(item, seen));
    return value;
  }
  if (value instanceof Set) {
    seen.set(value, value);
    const items = [...value].map((item) => decodeShared(item, seen));
    value.clear();
    for (const item of items) value.add(item);
    return value;
  }
  if (!isPlain(value)) return value;
  const form = value[MARK] as SharedForm | undefined;
  if (form) {
    const revive = revivers.get(form.kind);
    if (!revive) {
      throw new TypeError(`Cannot rebuild shared ${form.kind}: unknown kind`);
    }
    const revived = revive(form.state as never);
    seen.set(value, revived);
    return revived;
  }
  seen.set(value, value);
  for (const [key, item] of Object.entries(value)) {
    value[key] = decodeShared(item, seen);
  }
  return value;
}

/**
 * The class name of the first shared object inside `value`, if any,
 * looking through objects of every kind (cycles included).
 */
export function findShareable(
  value: unknown,
  seen: Set<object> = new Set(),
  skipSelf = false,
): string | null {
  if (typeof value !== "object" || value === null || seen.has(value)) {
    return null;
  }
  seen.add(value);
  if (!skipSelf && isShareable(value)) return value.constructor.name;
  const items = value instanceof Map
    ? [...value.keys(), ...value.values()]
    : value instanceof Set
    ? [...value]
    : ArrayBuffer.isView(value)
    ? []
    : Object.values(value);
  for (const item of items) {
    const found = findShareable(item, seen);
    if (found) return found;
  }
  return null;
}
