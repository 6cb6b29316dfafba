// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Shared memory cells, and how a revived object adopts the memory it
// was sent with instead of allocating its own.

import { describe } from "../_util/repr.ts";

export function newCells(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(length * 4));
}

export let adoption: unknown = undefined;

export function revive<T>(state: unknown, make: () => T): T {
  adoption = state;
  try {
    return make();
  } finally {
    adoption = undefined;
  }
}

export function adopt<S>(): S | undefined {
  const state = adoption as S | undefined;
  adoption = undefined;
  return state;
}

/** A memory form, as `_ipc/crossing.ts` defines it. */
export interface Form<S> {
  kind: string;
  state: S;
}

/** What a Condition needs from its lock. */
export interface LockInternals {
  isOwned(): boolean;
  releaseSave(): number;
  acquireRestore(saved: number): Promise<void>;
}

export const internals = new WeakMap<object, LockInternals>();

export const MAX_INT32 = 2 ** 31 - 1;

export function checkCount(
  value: unknown,
  action: string,
  name: string,
): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(
      `Cannot ${action}: expected ${name} to be an integer, received ${
        describe(value)
      }`,
    );
  }
  return value;
}

/**
 * Checks an index of a sequence of `length` items, as Python indexes: a
 * negative one counts from the end. Returns the index from the start.
 */
export function pythonIndex(
  index: unknown,
  length: number,
  action: string,
): number {
  if (typeof index !== "number" || !Number.isInteger(index)) {
    throw new TypeError(
      `Cannot ${action}: expected an integer index, received ${
        describe(index)
      }`,
    );
  }
  if (index < -length || index >= length) {
    throw new RangeError(
      `Cannot ${action}: expected an index from ${-length} to ${
        length - 1
      }, received ${index}`,
    );
  }
  return index < 0 ? index + length : index;
}

/** A key that reads as a number: `arr[i]` goes to `get(i)` and `set(i)`. */
function isIndexKey(key: string | symbol): key is string {
  return typeof key === "string" && key.trim() !== "" &&
    !Number.isNaN(Number(key));
}

/**
 * A sequence behind a `Proxy` that gives it Python's `seq[i]`: a key that
 * reads as a number is an index, checked as its `get()` and `set()` check
 * it (so `arr[9] = 1` past the end throws, as Python's `IndexError`);
 * anything else is the sequence's own, its methods bound to it (they read
 * its private fields), each bound once. For SharedArray and ShareableList.
 */
export function indexed<
  T extends {
    readonly length: number;
    get(index: number): unknown;
    set(index: number, value: never): void;
  },
>(array: T): T {
  const bound = new Map<string | symbol, { fn: unknown; method: unknown }>();
  return new Proxy(array, {
    get(target, key) {
      if (isIndexKey(key)) return target.get(Number(key));
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      let entry = bound.get(key);
      if (entry?.fn !== value) {
        entry = { fn: value, method: value.bind(target) };
        bound.set(key, entry);
      }
      return entry.method;
    },
    set(target, key, value) {
      if (!isIndexKey(key)) return Reflect.set(target, key, value, target);
      target.set(Number(key), value as never);
      return true;
    },
    has(target, key) {
      if (!isIndexKey(key)) return Reflect.has(target, key);
      const index = Number(key);
      return Number.isInteger(index) && index >= -target.length &&
        index < target.length;
    },
  });
}
