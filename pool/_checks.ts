// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Checks of the arguments the pools take, with the messages they throw, and
// the reading of a call's items from an iterable or an async iterable.

import { describe } from "../_util/repr.ts";
import { checkTimeout } from "../_util/wait_options.ts";
import type { MapOptions } from "./options.ts";

/** Checks that option `option` is an integer >= 1, and returns it. */
export function checkCount(
  option: string,
  value: unknown,
  action: string,
): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(
      `Cannot ${action}: expected ${option} to be an integer, received ${
        describe(value)
      }`,
    );
  }
  if (value < 1) {
    throw new RangeError(
      `Cannot ${action}: expected ${option} to be >= 1, received ${value}`,
    );
  }
  return value;
}

/** Checks the options of a call: timeout, signal and chunksize. */
export function checkOptions(options: unknown, action: string): MapOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${action}: expected an options object, received ${
        describe(options)
      }`,
    );
  }
  const { timeout, signal, chunksize } = options as MapOptions;
  checkTimeout(timeout, action);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${action}: expected signal to be an AbortSignal, received ${
        describe(signal)
      }`,
    );
  }
  if (chunksize !== undefined) checkCount("chunksize", chunksize, action);
  return options as MapOptions;
}

/** The items of an iterable now, or of an async iterable later. */
export function collect<T>(
  items: Iterable<T> | AsyncIterable<T>,
  action: string,
): T[] | Promise<T[]> {
  if (items !== null && typeof items === "object") {
    if (Symbol.asyncIterator in items) return Array.fromAsync(items);
    if (Symbol.iterator in items) return [...items];
  }
  if (typeof items === "string") return [...items as Iterable<T>];
  throw notIterable(items, action);
}

function notIterable(items: unknown, action: string): TypeError {
  return new TypeError(
    `Cannot ${action}: expected an iterable or async iterable, received ${
      describe(items)
    }`,
  );
}

/** An iterator of a call's items, whether the items are sync or async. */
export interface ItemSource<T> {
  next(): IteratorResult<T> | Promise<IteratorResult<T>>;
  return?(): unknown;
}

/** The items' iterator, read one at a time (`imap`), or throws. */
export function iterate<T>(
  items: Iterable<T> | AsyncIterable<T>,
  action: string,
): ItemSource<T> {
  if (items !== null && typeof items === "object") {
    if (Symbol.asyncIterator in items) return items[Symbol.asyncIterator]();
    if (Symbol.iterator in items) return items[Symbol.iterator]();
  }
  if (typeof items === "string") {
    return (items as Iterable<T>)[Symbol.iterator]();
  }
  throw notIterable(items, action);
}
