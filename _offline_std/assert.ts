// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// OFFLINE STAND-IN for jsr:@std/assert@^1, used only when JSR is unreachable
// (see README.md beside this file). Same signatures and behaviour as std
// 1.x for the functions this repository uses; never published.

import { inspect } from "node:util";

/** Error thrown when an assertion fails, as `@std/assert`'s. */
export class AssertionError extends Error {
  /** @param message The failure message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionError";
  }
}

function suffix(msg?: string): string {
  return msg ? `: ${msg}` : "";
}

function show(value: unknown): string {
  return inspect(value, { depth: 10, colors: false });
}

/** Asserts that `expr` is truthy. */
export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg);
}

/** Whether `value` is a primitive, as std's `equal` sorts values. */
function primitive(value: unknown): boolean {
  return value === null || value === undefined ||
    ["string", "number", "boolean", "bigint", "symbol"].includes(typeof value);
}

/** Own string and symbol keys. */
function keysOf(value: object): (string | symbol)[] {
  return [
    ...Object.getOwnPropertyNames(value),
    ...Object.getOwnPropertySymbols(value),
  ];
}

/** Keys along the prototype chain, up to the plain object or array. */
function keysUpTheChain(value: object | null): Set<string | symbol> {
  const keys = new Set<string | symbol>();
  for (
    let level = value;
    level !== null && level !== Object.prototype &&
    level !== Array.prototype;
    level = Object.getPrototypeOf(level)
  ) {
    for (const key of keysOf(level)) keys.add(key);
  }
  return keys;
}

/** Compared by their string form, as std compares them. */
const BY_STRING: Set<unknown> = new Set(
  [RegExp, URL, URLSearchParams, Intl.Locale].map((type) => type.prototype),
);
const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array);

/**
 * Deep equality with std 1.x's rules: `Object.is` or `===` (so `-0` equals
 * `0`, `NaN` equals `NaN`); a null prototype counts as `Object.prototype`;
 * typed arrays and buffers by element; dates by time; sets and maps by
 * members; regular expressions and URLs by string; other objects by every
 * key up their prototype chain (so boxed primitives compare by their own
 * keys only); cycles are followed once.
 */
export function equal(a: unknown, b: unknown): boolean {
  const seen = new Map<unknown, unknown>();
  const same = (x: unknown, y: unknown) => x === y || Object.is(x, y);
  const compare = (x: unknown, y: unknown): boolean => {
    if (same(x, y)) return true;
    if (primitive(x) || primitive(y)) return false;
    if (x instanceof Date && y instanceof Date) {
      return Object.is(x.getTime(), y.getTime());
    }
    if (typeof x !== "object" || typeof y !== "object") return false;
    const px = Object.getPrototypeOf(x);
    const py = Object.getPrototypeOf(y);
    const plain = (proto: unknown) =>
      proto === null || proto === Object.prototype;
    if (px !== py && !(plain(px) && plain(py))) return false;
    if (
      x instanceof TYPED_ARRAY || x instanceof ArrayBuffer ||
      x instanceof SharedArrayBuffer
    ) {
      const view = (value: unknown) =>
        (value instanceof TYPED_ARRAY
          ? value
          : new Uint8Array(value as ArrayBuffer)) as ArrayLike<unknown>;
      const [vx, vy] = [view(x), view(y)];
      if (vx.length !== vy.length) return false;
      for (let i = 0; i < vx.length; i++) if (!same(vx[i], vy[i])) return false;
      return true;
    }
    if (x instanceof WeakMap || x instanceof WeakSet) {
      throw new TypeError(`Cannot compare ${px.constructor.name} instances`);
    }
    if (x instanceof WeakRef) {
      return compare(x.deref(), (y as WeakRef<WeakKey>).deref());
    }
    if (seen.get(x) === y) return true;
    if (Object.keys(x!).length !== Object.keys(y!).length) return false;
    seen.set(x, y);
    if (
      (x instanceof Set || x instanceof Map) &&
      (y instanceof Set || y instanceof Map)
    ) {
      return sameMembers(x, y, compare);
    }
    if (px === null || px === Object.prototype || px === Array.prototype) {
      for (const key of new Set([...keysOf(x!), ...keysOf(y!)])) {
        if (!sameAt(x!, y!, key, compare)) return false;
      }
      return true;
    }
    if (BY_STRING.has(px)) return String(x) === String(y);
    for (const key of keysUpTheChain(x).union(keysUpTheChain(y))) {
      if (!sameAt(x!, y!, key, compare)) return false;
    }
    return true;
  };
  return compare(a, b);
}

function sameAt(
  x: object,
  y: object,
  key: string | symbol,
  compare: (x: unknown, y: unknown) => boolean,
): boolean {
  const [vx, vy] = [
    (x as Record<string | symbol, unknown>)[key],
    (y as Record<string | symbol, unknown>)[key],
  ];
  return compare(vx, vy) && (key in x) === (key in y);
}

/** Sets and maps: the same size, and each member matched by one of the other's. */
function sameMembers(
  x: Set<unknown> | Map<unknown, unknown>,
  y: Set<unknown> | Map<unknown, unknown>,
  compare: (x: unknown, y: unknown) => boolean,
): boolean {
  if (x.size !== y.size) return false;
  const keys = [...x.keys()];
  if (keys.every(primitive)) {
    if (x instanceof Set) {
      return x.symmetricDifference(y as Set<unknown>).size === 0;
    }
    const other = y as Map<unknown, unknown>;
    return keys.every((key) =>
      other.has(key) && compare(x.get(key), other.get(key))
    );
  }
  let unmatched = x.size;
  for (const [kx, vx] of x.entries()) {
    for (const [ky, vy] of y.entries()) {
      if (!compare(kx, ky)) continue;
      if ((kx === vx && ky === vy) || compare(vx, vy)) {
        unmatched--;
        break;
      }
    }
  }
  return unmatched === 0;
}

/** The lines of `actual` and `expected` as a diff, as std prints one. */
function diffMessage(actual: unknown, expected: unknown): string {
  const [a, b] = [show(actual).split("\n"), show(expected).split("\n")];
  // Longest common subsequence of lines, then a walk that marks the rest.
  const table = Array.from(
    { length: a.length + 1 },
    () => new Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i][j] = a[i] === b[j]
        ? table[i + 1][j + 1] + 1
        : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const lines: string[] = [];
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push(`    ${a[i++]}`);
      j++;
    } else if (
      j < b.length && (i === a.length || table[i][j + 1] >= table[i + 1][j])
    ) {
      lines.push(`+   ${b[j++]}`);
    } else {
      lines.push(`-   ${a[i++]}`);
    }
  }
  return `\n\n    [Diff] Actual / Expected\n\n\n${lines.join("\n")}\n`;
}

/** Asserts that `actual` and `expected` are deeply equal (std's `equal`). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (equal(actual, expected)) return;
  throw new AssertionError(
    `Values are not equal${suffix(msg)}${diffMessage(actual, expected)}`,
  );
}

/** Asserts that `actual` and `expected` are not deeply equal. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!equal(actual, expected)) return;
  throw new AssertionError(
    `Expected actual: ${show(actual)} not to be: ${show(expected)}${
      suffix(msg)
    }`,
  );
}

/** Asserts that `actual` and `expected` are the same value (`Object.is`). */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  if (Object.is(actual, expected)) return;
  throw new AssertionError(
    `Values are not strictly equal${suffix(msg)}\n\n    actual: ${
      show(actual)
    }\n    expected: ${show(expected)}`,
  );
}

/** Asserts that `actual` is not `null` or `undefined`. */
export function assertExists<T>(
  actual: T,
  msg?: string,
): asserts actual is NonNullable<T> {
  if (actual === undefined || actual === null) {
    throw new AssertionError(
      msg ?? `Expected actual: "${actual}" to not be null or undefined.`,
    );
  }
}

/** Asserts that `actual` includes `expected`. */
export function assertStringIncludes(
  actual: string,
  expected: string,
  msg?: string,
): void {
  if (actual.includes(expected)) return;
  throw new AssertionError(
    msg ?? `Expected actual: "${actual}" to contain: "${expected}".`,
  );
}

/** Asserts that `actual` matches the regular expression `expected`. */
export function assertMatch(
  actual: string,
  expected: RegExp,
  msg?: string,
): void {
  if (expected.test(actual)) return;
  throw new AssertionError(
    msg ?? `Expected actual: "${actual}" to match: "${expected}".`,
  );
}

/** Asserts that `actual` does not match the regular expression `expected`. */
export function assertNotMatch(
  actual: string,
  expected: RegExp,
  msg?: string,
): void {
  if (!expected.test(actual)) return;
  throw new AssertionError(
    msg ?? `Expected actual: "${actual}" to not match: "${expected}".`,
  );
}

/** Asserts that `actual` is an instance of `expectedType`. */
export function assertInstanceOf<
  // deno-lint-ignore no-explicit-any
  T extends abstract new (...args: any) => any,
>(
  actual: unknown,
  expectedType: T,
  msg = "",
): asserts actual is InstanceType<T> {
  if (actual instanceof expectedType) return;
  throw new AssertionError(
    msg || `Expected object to be an instance of "${expectedType.name}".`,
  );
}

/** Asserts that `actual` is greater than or equal to `expected`. */
export function assertGreaterOrEqual<T>(
  actual: T,
  expected: T,
  msg?: string,
): void {
  if (actual >= expected) return;
  throw new AssertionError(
    msg ?? `Expect ${show(actual)} >= ${show(expected)}`,
  );
}

/** Asserts that `actual` is less than `expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (actual < expected) return;
  throw new AssertionError(msg ?? `Expect ${show(actual)} < ${show(expected)}`);
}

/** Fails the test with `msg`. */
export function fail(msg?: string): never {
  throw new AssertionError(`Failed assertion${suffix(msg)}`);
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

function checkError<E extends Error>(
  error: unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): void {
  if (ErrorClass === undefined) return;
  if (!(error instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was "${
        (error as Error)?.constructor?.name
      }"${suffix(msg)}`,
      { cause: error },
    );
  }
  if (
    msgIncludes !== undefined && !String(error.message).includes(msgIncludes)
  ) {
    throw new AssertionError(
      `Expected error message to include "${msgIncludes}", but got "${error.message}"${
        suffix(msg)
      }`,
      { cause: error },
    );
  }
}

/** Asserts that `fn` throws; returns what it threw. */
export function assertThrows(fn: () => unknown, msg?: string): unknown;
/** Asserts that `fn` throws an instance of `ErrorClass`; returns it. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): E;
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClassOrMsg?: ErrorClass<E> | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): unknown {
  const [ErrorClass, msgIncludes, message] = typeof errorClassOrMsg === "string"
    ? [undefined, undefined, errorClassOrMsg]
    : [errorClassOrMsg, msgIncludesOrMsg, msg];
  try {
    fn();
  } catch (error) {
    checkError(error, ErrorClass, msgIncludes, message);
    return error;
  }
  throw new AssertionError(`Expected function to throw${suffix(message)}`);
}

/** Asserts that `fn` returns a promise that rejects; returns the reason. */
export function assertRejects(
  fn: () => PromiseLike<unknown>,
  msg?: string,
): Promise<unknown>;
/**
 * Asserts that `fn` returns a promise that rejects with an instance of
 * `ErrorClass`; returns it.
 */
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): Promise<E>;
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  errorClassOrMsg?: ErrorClass<E> | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): Promise<unknown> {
  const [ErrorClass, msgIncludes, message] = typeof errorClassOrMsg === "string"
    ? [undefined, undefined, errorClassOrMsg]
    : [errorClassOrMsg, msgIncludesOrMsg, msg];
  let promise: PromiseLike<unknown>;
  try {
    promise = fn();
  } catch (error) {
    throw new AssertionError(
      `Function throws when expected to reject${suffix(message)}`,
      { cause: error },
    );
  }
  if (typeof promise?.then !== "function") {
    throw new AssertionError(
      `Function returned a non-promise value when expected to reject${
        suffix(message)
      }`,
    );
  }
  try {
    await promise;
  } catch (error) {
    checkError(error, ErrorClass, msgIncludes, message);
    return error;
  }
  throw new AssertionError(`Expected function to reject${suffix(message)}`);
}
