// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Python's `array` typecodes: their typed arrays, ranges and checks, for
// Value and SharedArray.

import { describe } from "../_util/repr.ts";
import { checkCount } from "./_cells.ts";
import { RLock } from "./rlock.ts";

/**
 * Python's `array` typecodes: `b` `B` `h` `H` `i` `I` (8, 16 and 32-bit
 * integers, signed and unsigned; numbers), `l` `L` `q` `Q` (64-bit
 * integers, as `long` is on 64-bit Linux and macOS; bigints), `f` `d` (32
 * and 64-bit floats; numbers), `c` (a byte, Python's `c_char`; a
 * one-character string from `"\0"` to `"\xff"`) and `u` (a character,
 * Python's `c_wchar`; a one-code-point string).
 */
export type Typecode =
  | "b"
  | "B"
  | "h"
  | "H"
  | "i"
  | "I"
  | "l"
  | "L"
  | "q"
  | "Q"
  | "f"
  | "d"
  | "c"
  | "u";

/**
 * The JavaScript type of an item of a typecode: bigint for the 64-bit
 * integers, string for `c` and `u`, number for the others.
 */
export type TypecodeValue<C extends Typecode> = C extends "l" | "L" | "q" | "Q"
  ? bigint
  : C extends "c" | "u" ? string
  : number;

/** The typed array that holds items of each typecode. */
export interface TypedArrays {
  /** Signed 8-bit integers. */
  b: Int8Array<SharedArrayBuffer>;
  /** Unsigned 8-bit integers. */
  B: Uint8Array<SharedArrayBuffer>;
  /** Signed 16-bit integers. */
  h: Int16Array<SharedArrayBuffer>;
  /** Unsigned 16-bit integers. */
  H: Uint16Array<SharedArrayBuffer>;
  /** Signed 32-bit integers. */
  i: Int32Array<SharedArrayBuffer>;
  /** Unsigned 32-bit integers. */
  I: Uint32Array<SharedArrayBuffer>;
  /** Signed 64-bit integers (a C `long` on 64-bit Linux and macOS). */
  l: BigInt64Array<SharedArrayBuffer>;
  /** Unsigned 64-bit integers (a C `unsigned long`). */
  L: BigUint64Array<SharedArrayBuffer>;
  /** Signed 64-bit integers. */
  q: BigInt64Array<SharedArrayBuffer>;
  /** Unsigned 64-bit integers. */
  Q: BigUint64Array<SharedArrayBuffer>;
  /** 32-bit floats. */
  f: Float32Array<SharedArrayBuffer>;
  /** 64-bit floats. */
  d: Float64Array<SharedArrayBuffer>;
  /** Bytes, read and written as one-character strings. */
  c: Uint8Array<SharedArrayBuffer>;
  /** Code points, read and written as one-character strings. */
  u: Uint32Array<SharedArrayBuffer>;
}

/** Options for {@linkcode Value} and {@linkcode SharedArray}. */
export interface ValueOptions {
  /**
   * Whether to create a shared {@linkcode RLock} for `getLock()`, as
   * Python's `lock=True`.
   *
   * @default {true}
   */
  lock?: boolean;
}

export type AnyTypedArray = TypedArrays[Typecode];

export interface TypeInfo {
  make: new (buffer: SharedArrayBuffer) => AnyTypedArray;
  size: number;
  kind: "integer" | "bigint" | "float" | "char";
  min: number | bigint;
  max: number | bigint;
}

const INT64: TypeInfo = {
  make: BigInt64Array,
  size: 8,
  kind: "bigint",
  min: -(2n ** 63n),
  max: 2n ** 63n - 1n,
};
const UINT64: TypeInfo = {
  make: BigUint64Array,
  size: 8,
  kind: "bigint",
  min: 0n,
  max: 2n ** 64n - 1n,
};

export const TYPES: Record<Typecode, TypeInfo> = {
  b: { make: Int8Array, size: 1, kind: "integer", min: -128, max: 127 },
  B: { make: Uint8Array, size: 1, kind: "integer", min: 0, max: 255 },
  h: { make: Int16Array, size: 2, kind: "integer", min: -32768, max: 32767 },
  H: { make: Uint16Array, size: 2, kind: "integer", min: 0, max: 65535 },
  i: {
    make: Int32Array,
    size: 4,
    kind: "integer",
    min: -(2 ** 31),
    max: 2 ** 31 - 1,
  },
  I: { make: Uint32Array, size: 4, kind: "integer", min: 0, max: 2 ** 32 - 1 },
  l: INT64,
  L: UINT64,
  q: INT64,
  Q: UINT64,
  f: {
    make: Float32Array,
    size: 4,
    kind: "float",
    min: -Infinity,
    max: Infinity,
  },
  d: {
    make: Float64Array,
    size: 8,
    kind: "float",
    min: -Infinity,
    max: Infinity,
  },
  c: { make: Uint8Array, size: 1, kind: "char", min: 0, max: 0xff },
  u: { make: Uint32Array, size: 4, kind: "char", min: 0, max: 0x10ffff },
};

export const TYPECODES = Object.keys(TYPES).map((code) => `"${code}"`).join(
  ", ",
);

export function typeOf(typecode: unknown, action: string): TypeInfo {
  if (typeof typecode !== "string" || !Object.hasOwn(TYPES, typecode)) {
    throw new TypeError(
      `Cannot ${action}: expected a typecode, one of ${TYPECODES}, received ${
        describe(typecode)
      }`,
    );
  }
  return TYPES[typecode as Typecode];
}

/** Checks an item for a typecode; returns it. */
export function checkItem(
  info: TypeInfo,
  typecode: string,
  value: unknown,
  action: string,
): number | bigint {
  if (info.kind === "char") return checkChar(info, typecode, value, action);
  const bigint = info.kind === "bigint";
  const expected = bigint ? "a bigint" : "a number";
  if (bigint ? typeof value !== "bigint" : typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action}: expected ${expected} for typecode "${typecode}", received ${
        describe(value)
      }`,
    );
  }
  if (info.kind === "integer" && !Number.isInteger(value)) {
    throw new TypeError(
      `Cannot ${action}: expected an integer for typecode "${typecode}", received ${value}`,
    );
  }
  if (
    info.kind !== "float" &&
    ((value as number) < info.min || (value as number) > info.max)
  ) {
    throw new RangeError(
      `Cannot ${action}: expected an integer from ${info.min} to ${info.max} for typecode "${typecode}", received ${value}`,
    );
  }
  return value as number | bigint;
}

/** Checks a `c` or `u` item, a one-character string; returns its code. */
function checkChar(
  info: TypeInfo,
  typecode: string,
  value: unknown,
  action: string,
): number {
  const code = typeof value === "string" ? value.codePointAt(0) : undefined;
  if (code === undefined || String.fromCodePoint(code) !== value) {
    throw new TypeError(
      `Cannot ${action}: expected a one-character string for typecode "${typecode}", received ${
        describe(value)
      }`,
    );
  }
  if (code > (info.max as number)) {
    throw new RangeError(
      `Cannot ${action}: expected a character from "\\0" to "\\x${
        info.max.toString(16)
      }" for typecode "${typecode}", received code ${code}`,
    );
  }
  return code;
}

export function readItem(
  info: TypeInfo,
  array: AnyTypedArray,
  index: number,
): number | bigint | string {
  if (info.kind === "float") return array[index];
  const raw = Atomics.load(array as Int32Array, index);
  return info.kind === "char" ? String.fromCodePoint(raw) : raw;
}

export function writeItem(
  info: TypeInfo,
  array: AnyTypedArray,
  index: number,
  value: number | bigint,
): void {
  if (info.kind === "float") (array as Float64Array)[index] = value as number;
  else Atomics.store(array as Int32Array, index, value as number);
}

/** Builds a typed array over new shared memory, from a size or items. */
export function makeArray(
  typecode: unknown,
  sizeOrInitializer: unknown,
  action: string,
): AnyTypedArray {
  const info = typeOf(typecode, action);
  if (typeof sizeOrInitializer === "number") {
    checkCount(sizeOrInitializer, action, "a size");
    if (sizeOrInitializer < 0) {
      throw new RangeError(
        `Cannot ${action}: expected a size of 0 or more, received ${sizeOrInitializer}`,
      );
    }
    return new info.make(
      new SharedArrayBuffer(sizeOrInitializer * info.size),
    );
  }
  if (
    typeof sizeOrInitializer !== "object" || sizeOrInitializer === null ||
    !(Symbol.iterator in sizeOrInitializer)
  ) {
    throw new TypeError(
      `Cannot ${action}: expected a size or an iterable of items, received ${
        describe(sizeOrInitializer)
      }`,
    );
  }
  const items = Array.from(sizeOrInitializer as Iterable<unknown>);
  const array = new info.make(new SharedArrayBuffer(items.length * info.size));
  items.forEach((item, i) => {
    array[i] = checkItem(info, typecode as string, item, `${action} item ${i}`);
  });
  return array;
}

export function makeLock(options: unknown, action: string): RLock | null {
  if (options === undefined) return new RLock();
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${action}: expected an options object, received ${
        describe(options)
      }`,
    );
  }
  const { lock = true } = options as ValueOptions;
  if (typeof lock !== "boolean") {
    throw new TypeError(
      `Cannot ${action}: expected lock to be a boolean, received ${
        describe(lock)
      }`,
    );
  }
  return lock ? new RLock() : null;
}

export function lockOrThrow(lock: RLock | null, what: string): RLock {
  if (!lock) {
    throw new Error(
      `Cannot get the lock of ${what} created with lock false`,
    );
  }
  return lock;
}
