// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// What crosses to another thread or process, and how: an object in shared
// memory by its memory form (to a thread), an object served by its owner by
// its remote form (to a process), an error as a record; plain objects,
// arrays, Maps and Sets are walked. See ARCHITECTURE.md, "Crossing".

import type { RemoteForm } from "./messages.ts";
import { isFlatMessage, type Link } from "./link.ts";
import { errorClass } from "./error_classes.ts";

/** Returns an object's memory form; see {@linkcode HasMemoryForm}. */
export const toMemoryForm: unique symbol = Symbol.for(
  "@parallel/multiprocessing/toMemoryForm",
) as never;

/** An object in shared memory in transit to a thread: its kind and memory. */
export interface MemoryForm {
  kind: string;
  state: unknown;
}

/** An object that lives in shared memory and crosses into threads. */
export interface HasMemoryForm {
  [toMemoryForm](): MemoryForm | null;
}

const MARK = "@parallel/multiprocessing/shared";
const revivers = new Map<string, (state: never) => unknown>();

/** Registers how to rebuild a kind of object from its memory form. */
export function registerMemoryKind<S>(
  kind: string,
  revive: (state: S) => unknown,
): void {
  revivers.set(kind, revive as (state: never) => unknown);
}

/** True for objects with a memory form. */
export function hasMemoryForm(value: unknown): value is HasMemoryForm {
  return typeof value === "object" && value !== null && toMemoryForm in value;
}

function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Builds the proxy for a remote form that arrived over `link`. */
export type RemoteReviver = (id: string, meta: unknown, link: Link) => object;

const remoteRevivers = new Map<string, RemoteReviver>();

/** Registers how to build a proxy for a kind of object served by its owner. */
export function registerRemoteKind(kind: string, revive: RemoteReviver): void {
  remoteRevivers.set(kind, revive);
}

/** The kinds this runtime can rebuild, in either form. */
export function knownKinds(): string[] {
  return [...new Set([...revivers.keys(), ...remoteRevivers.keys()])];
}

/** Whether this runtime can rebuild objects of `kind`, in either form. */
export function knowsKind(kind: string): boolean {
  return revivers.has(kind) || remoteRevivers.has(kind);
}

/** How to build a proxy of that kind, if this runtime knows the kind. */
export function remoteReviver(kind: string): RemoteReviver | undefined {
  return remoteRevivers.get(kind);
}

/** Returns an object's remote form; see {@linkcode HasRemoteForm}. */
export const toRemoteForm: unique symbol = Symbol.for(
  "@parallel/multiprocessing/toRemoteForm",
) as never;

/** An object that other processes use through its owner (`broker.ts`). */
export interface HasRemoteForm {
  [toRemoteForm](): RemoteForm;
}

function hasRemoteForm(value: object): value is HasRemoteForm {
  return toRemoteForm in value;
}

/** Where an encoded value goes. */
export interface EncodeOptions {
  /**
   * True when it goes to a thread of this process, so objects in shared
   * memory can cross as memory; else they cross as remote forms.
   */
  sameProcess: boolean;
  /**
   * Called for each object that crosses as a remote form, with its form;
   * returns the form to send (see `Broker.handOver`).
   */
  onRemote?: (object: object, form: RemoteForm) => RemoteForm;
  /**
   * For a copy within this runtime: objects that would cross as remote
   * forms are kept here by reference instead (see `copyValue`).
   */
  keep?: object[];
}

/**
 * Replaces shared objects in `value` by their forms in transit, walking
 * plain objects, arrays, Maps and Sets (cycles included): objects in shared
 * memory by their memory when they go to a thread, anything exportable by
 * its remote form, and errors by a record that keeps their class name,
 * message, stack, cause and own fields. A shared object inside anything
 * else (a class instance) would be copied by structured clone, so it is
 * refused rather than silently copied.
 *
 * @throws {TypeError} If a shared object sits inside a class instance.
 */
export function encodeShared(
  value: unknown,
  options: EncodeOptions = { sameProcess: true },
  seen: Map<object, unknown> = new Map(),
): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    // V8 would copy a view of shared memory into another process: what
    // its writes there do would be lost (Python refuses too).
    if (
      !options.sameProcess && ArrayBuffer.isView(value) &&
      value.buffer instanceof SharedArrayBuffer
    ) {
      throw new TypeError(
        "it is a view of memory shared between threads (a SharedArrayBuffer, as RawArray gives), which would arrive as a copy; pass a SharedArray or a Value (served by their owner), or a SharedMemory block (--allow-ffi)",
      );
    }
    return value;
  }
  const form = encodeForm(value, options, seen);
  if (form !== undefined) return form;
  const each = (item: unknown) => encodeShared(item, options, seen);
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const item of value) copy.push(each(item));
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map();
    seen.set(value, copy);
    for (const [key, item] of value) copy.set(each(key), each(item));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    seen.set(value, copy);
    for (const item of value) copy.add(each(item));
    return copy;
  }
  if (isPlain(value)) {
    const copy: Record<string, unknown> = {};
    seen.set(value, copy);
    for (const [key, item] of Object.entries(value)) copy[key] = each(item);
    return copy;
  }
  seen.set(value, value);
  const inside = findCrossing(value, new Set(), true);
  if (inside) {
    throw new TypeError(
      `Cannot share a ${inside} held inside an instance of ${
        Object.getPrototypeOf(value)?.constructor?.name ?? "a class"
      }: structured clone would copy it; pass it directly, or in a plain object, array, Map or Set`,
    );
  }
  return value;
}

/**
 * The marked form of an object that does not travel as it is: its memory
 * form, its remote form (or its place among the kept), an error's record;
 * undefined for anything else.
 */
function encodeForm(
  value: object,
  options: EncodeOptions,
  seen: Map<object, unknown>,
): unknown {
  const mark = (form: MemoryForm) => {
    const marked = { [MARK]: form };
    seen.set(value, marked);
    return marked;
  };
  // A proxy for an object in another process has no memory here: it
  // returns no memory form, and crosses as a remote form instead.
  const shared = options.sameProcess && hasMemoryForm(value)
    ? value[toMemoryForm]()
    : null;
  if (shared) return mark(shared);
  if (hasMemoryForm(value) && !hasRemoteForm(value)) {
    throw new TypeError(
      `it holds a ${value.constructor.name}, which shares memory only between threads`,
    );
  }
  if (hasRemoteForm(value) && options.keep) {
    options.keep.push(value);
    return mark({ kind: KEPT, state: options.keep.length - 1 });
  }
  if (hasRemoteForm(value)) {
    const form = value[toRemoteForm]();
    const marked = mark({ kind: REMOTE, state: null });
    // Its metadata may hold other shared objects (a Value's lock).
    const sent = options.onRemote?.(value, form) ?? form;
    marked[MARK].state = {
      ...sent,
      meta: encodeShared(sent.meta, options, seen),
    };
    return marked;
  }
  if (value instanceof Error) {
    return mark({ kind: ERROR, state: encodeError(value, options, seen) });
  }
  return undefined;
}

const REMOTE = "remote";
const KEPT = "kept";
const ERROR = "error";
const ERROR_KEYS = new Set(["name", "message", "stack", "cause"]);

interface ErrorRecord {
  name: string;
  className: string;
  message: string;
  stack: string | undefined;
  hasCause: boolean;
  cause: unknown;
  fields: Record<string, unknown>;
}

function encodeError(
  error: Error,
  options: EncodeOptions,
  seen: Map<object, unknown>,
): ErrorRecord {
  const fields: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(error)) {
    if (ERROR_KEYS.has(key)) continue;
    try {
      const encoded = encodeShared(item, options, seen);
      structuredClone(encoded);
      fields[key] = encoded;
    } catch {
      // A field that cannot travel is left behind; the rest still does.
    }
  }
  if (error instanceof AggregateError) {
    // Not enumerable, so not among the fields above.
    fields.errors = encodeShared(error.errors, options, seen);
  }
  return {
    name: String(error.name),
    className: error.constructor?.name ?? "Error",
    message: String(error.message),
    stack: error.stack,
    hasCause: "cause" in error,
    cause: "cause" in error
      ? encodeShared(error.cause, options, seen)
      : undefined,
    fields,
  };
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError: function (message?: string) {
    return new AggregateError([], message);
  } as unknown as ErrorConstructor,
};

/** Deno's own error classes (`NotCapable`, `NotFound`…) cross as themselves. */
function denoError(record: ErrorRecord): ErrorConstructor | undefined {
  const errors = Deno.errors as unknown as Record<string, unknown>;
  const Class = Object.hasOwn(errors, record.className)
    ? errors[record.className]
    : undefined;
  return typeof Class === "function" ? Class as ErrorConstructor : undefined;
}

/**
 * Rebuilds an error from its record: the built-in class when it was one,
 * a `DOMException` for `TimeoutError` and `AbortError`, else an `Error`
 * whose `name` is the original class's name.
 */
function decodeError(
  record: ErrorRecord,
  decodeCause: (value: unknown) => unknown,
): Error {
  let error: Error;
  const builtin =
    (Object.hasOwn(BUILTIN_ERRORS, record.className)
      ? BUILTIN_ERRORS[record.className]
      : undefined) ?? denoError(record);
  const known = errorClass(record.className);
  if (known) {
    // The package's own errors come back as instances of their class.
    error = Object.create(known.prototype);
    for (
      const [key, value] of [["message", record.message], ["name", record.name]]
    ) {
      Object.defineProperty(error, key, {
        value,
        writable: true,
        configurable: true,
      });
    }
  } else if (builtin) {
    error = new builtin(record.message);
    if (record.name !== record.className) {
      Object.defineProperty(error, "name", {
        value: record.name,
        writable: true,
        configurable: true,
      });
    }
  } else if (record.className === "DOMException") {
    error = new DOMException(record.message, record.name);
  } else {
    error = new Error(record.message);
    const name = record.name === "Error" ? record.className : record.name;
    Object.defineProperty(error, "name", {
      value: name,
      writable: true,
      configurable: true,
    });
  }
  if (record.stack !== undefined) {
    Object.defineProperty(error, "stack", {
      value: record.stack,
      writable: true,
      configurable: true,
    });
  }
  if (record.hasCause) {
    Object.defineProperty(error, "cause", {
      value: decodeCause(record.cause),
      writable: true,
      configurable: true,
    });
  }
  for (const [key, item] of Object.entries(record.fields)) {
    (error as unknown as Record<string, unknown>)[key] = decodeCause(item);
  }
  return error;
}

/** What crossing needs of a broker: the two ends of a remote form. */
export interface RemoteEnd {
  /** The form to send for `object` over `link`, which grants it there. */
  handOver(link: Link, object: object, form: RemoteForm): RemoteForm;
  /** The proxy for a form that arrived over `link`. */
  revive(form: RemoteForm, link: Link | (() => Link)): object;
}

/** For copies within a runtime: no remote form is ever decoded. */
const NO_REMOTE: RemoteEnd = {
  handOver: () => {
    throw new TypeError("Cannot hand over an object in a copy");
  },
  revive: () => {
    throw new TypeError("Cannot rebuild a remote form in a copy");
  },
};

/**
 * Rebuilds what {@linkcode encodeShared} encoded. Remote forms become
 * proxies, built by `remote`, that reach their owner over `link` (opened
 * only if one arrives).
 */
export function decodeShared(
  value: unknown,
  remote: RemoteEnd,
  link: () => Link,
  seen: Map<object, unknown> = new Map(),
  kept: object[] = [],
): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  const each = (item: unknown) => decodeShared(item, remote, link, seen, kept);
  if (Array.isArray(value)) {
    seen.set(value, value);
    value.forEach((item, i) => value[i] = each(item));
    return value;
  }
  if (value instanceof Map) {
    seen.set(value, value);
    for (const [key, item] of value) value.set(key, each(item));
    return value;
  }
  if (value instanceof Set) {
    seen.set(value, value);
    const items = [...value].map(each);
    value.clear();
    for (const item of items) value.add(item);
    return value;
  }
  if (!isPlain(value)) return value;
  const form = value[MARK] as MemoryForm | undefined;
  if (form) {
    const revived = decodeForm(form, remote, link, kept, each);
    seen.set(value, revived);
    return revived;
  }
  seen.set(value, value);
  for (const [key, item] of Object.entries(value)) value[key] = each(item);
  return value;
}

/** Rebuilds what {@linkcode encodeForm} marked. */
function decodeForm(
  form: MemoryForm,
  remote: RemoteEnd,
  link: () => Link,
  kept: object[],
  each: (item: unknown) => unknown,
): unknown {
  if (form.kind === KEPT) return kept[form.state as number];
  if (form.kind === REMOTE) {
    const sent = form.state as RemoteForm;
    return remote.revive({ ...sent, meta: each(sent.meta) }, link);
  }
  if (form.kind === ERROR) return decodeError(form.state as ErrorRecord, each);
  const revive = revivers.get(form.kind);
  if (!revive) {
    throw new TypeError(`Cannot rebuild shared ${form.kind}: unknown kind`);
  }
  return revive(form.state as never);
}

/**
 * The class name of the first shared object inside `value`, if any,
 * looking through objects of every kind (cycles included).
 */
/** What an object holds: a Map's keys and values, a Set's or an array's items, an object's values. */
function itemsOf(value: object): unknown[] {
  return value instanceof Map
    ? [...value.keys(), ...value.values()]
    : value instanceof Set
    ? [...value]
    : ArrayBuffer.isView(value)
    ? []
    : Object.values(value);
}

export function findCrossing(
  value: unknown,
  seen: Set<object> = new Set(),
  skipSelf = false,
): string | null {
  if (typeof value !== "object" || value === null || seen.has(value)) {
    return null;
  }
  seen.add(value);
  if (!skipSelf && (hasMemoryForm(value) || hasRemoteForm(value))) {
    return value.constructor.name;
  }
  for (const item of itemsOf(value)) {
    const found = findCrossing(item, seen);
    if (found) return found;
  }
  return null;
}

// Primitives, and arrays of them (most messages' args), need no walk.
const plain = (value: unknown) =>
  Array.isArray(value)
    ? isFlatMessage(value, 2)
    : typeof value !== "object" || value === null;
/** How a broker packs values for its links, and unpacks what arrives. */
export interface Codec {
  pack(value: unknown, link: Link): unknown;
  unpack(value: unknown, link: Link): unknown;
}

/** The codec of a broker: shared objects cross by memory or as forms. */
export function crossingCodec(remote: RemoteEnd): Codec {
  return {
    pack: (value, link) =>
      plain(value) ? value : encodeShared(value, {
        sameProcess: link.sameProcess,
        onRemote: (object, form) => remote.handOver(link, object, form),
      }),
    unpack: (value, link) =>
      plain(value) ? value : decodeShared(value, remote, () => link),
  };
}

/**
 * A copy of `value` as another thread would receive it: what a queue or a
 * pipe holds, so that later changes by the sender do not show (as Python's
 * queues pickle). Shared objects stay shared.
 *
 * @throws {DOMException} A `DataCloneError` if it cannot be copied.
 */
export function copyValue<T>(value: T): T {
  const type = typeof value;
  // Primitives are copies already; functions and symbols fail below.
  if (
    value === null ||
    (type !== "object" && type !== "function" && type !== "symbol")
  ) {
    return value;
  }
  const kept: object[] = [];
  const copy = structuredClone(
    encodeShared(value, { sameProcess: true, keep: kept }),
  );
  return decodeShared(
    copy,
    NO_REMOTE,
    () => {
      throw new TypeError("Cannot open a link for a copy");
    },
    undefined,
    kept,
  ) as T;
}

/**
 * Whether `value`, as it arrived (before {@linkcode decodeShared}), holds a
 * form of a kind this runtime has not registered: its module is not loaded
 * yet (see `kinds.ts`).
 */
export function hasUnknownKind(
  value: unknown,
  seen: Set<object> = new Set(),
): boolean {
  // Most messages' args are primitives or flat arrays: nothing to look at.
  if (plain(value) || seen.has(value as object)) return false;
  const object = value as object;
  seen.add(object);
  if (isPlain(object)) {
    const form = object[MARK] as MemoryForm | undefined;
    if (form && typeof form === "object") return formHasUnknownKind(form, seen);
  } else if (
    !Array.isArray(object) && !(object instanceof Map) &&
    !(object instanceof Set)
  ) {
    // Anything else crossed by structured clone, as it is.
    return false;
  }
  return itemsOf(object).some((item) => hasUnknownKind(item, seen));
}

/** Whether a marked form, or what it carries, is of a kind unknown here. */
function formHasUnknownKind(form: MemoryForm, seen: Set<object>): boolean {
  if (form.kind === KEPT) return false;
  if (form.kind === REMOTE) {
    const sent = form.state as RemoteForm | null;
    return !remoteRevivers.has(sent?.kind as string) ||
      hasUnknownKind(sent?.meta, seen);
  }
  if (form.kind === ERROR) {
    const record = form.state as ErrorRecord | null;
    return hasUnknownKind(record?.cause, seen) ||
      hasUnknownKind(record?.fields, seen);
  }
  return !revivers.has(form.kind);
}
