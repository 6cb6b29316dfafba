// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// RawArray and SharedArray: Python's `multiprocessing` arrays on shared
// memory, and the array's servant and proxy for other processes.

import { broker, registerRemoteKind, type Servant } from "../_ipc/broker.ts";
import {
  registerMemoryKind,
  toMemoryForm,
  toRemoteForm,
} from "../_ipc/crossing.ts";
import { adopt, type Form, indexed, pythonIndex, revive } from "./_cells.ts";
import {
  copies,
  COPY,
  type Copy,
  exportAs,
  lockOf,
  proxy,
  request,
} from "./_remote.ts";
import {
  type AnyTypedArray,
  checkItem,
  lockOrThrow,
  makeArray,
  makeLock,
  readItem,
  type Typecode,
  type TypecodeValue,
  type TypedArrays,
  type TypeInfo,
  typeOf,
  type ValueOptions,
  writeItem,
} from "./_typecodes.ts";
import { describeLockForm } from "./_lock_forms.ts";
import { RLock, type RLockState } from "./rlock.ts";

/**
 * A typed array over new shared memory, as Python's
 * `multiprocessing.RawArray`: it has no lock, and it is shared (not copied)
 * when it crosses into a thread, since its buffer is a `SharedArrayBuffer`.
 *
 * @typeParam C The typecode; `q` and `Q` hold bigints, the others numbers.
 * @param typecode The item type, as Python's `array` typecodes.
 * @param sizeOrInitializer The length (items start at 0), or the items.
 * @returns The typed array.
 * @throws {TypeError} If the typecode is unknown, the size is not an
 * integer, or an item has the wrong type.
 * @throws {RangeError} If the size is negative or an item is out of range.
 *
 * @example From a size and from items
 * ```ts
 * import { RawArray } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals([...RawArray("i", 3)], [0, 0, 0]);
 * const items = RawArray("d", [0.5, 1.5]);
 * assertEquals(items.buffer instanceof SharedArrayBuffer, true);
 * ```
 */
export function RawArray<C extends Typecode>(
  typecode: C,
  sizeOrInitializer: number | Iterable<TypecodeValue<C>>,
): TypedArrays[C] {
  return makeArray(
    typecode,
    sizeOrInitializer,
    "create a RawArray",
  ) as TypedArrays[C];
}

export interface SharedArrayState {
  typecode: Typecode;
  buffer: SharedArrayBuffer;
  lock: Form<RLockState> | null;
}

/**
 * An array in shared memory with a lock, as Python's
 * `multiprocessing.Array` (renamed so as not to shadow `Array`).
 *
 * `get()` and `set()` are atomic for the integer typecodes; hold
 * {@linkcode SharedArray.getLock} around read-modify-writes.
 *
 * @typeParam C The typecode; `q` and `Q` hold bigints, the others numbers.
 *
 * @example Read and write items
 * ```ts
 * import { SharedArray } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const items = new SharedArray("i", [1, 2, 3]);
 * items.set(0, 10);
 * assertEquals(items.get(0), 10);
 * assertEquals(items.get(-1), 3);
 * assertEquals([...items.array], [10, 2, 3]);
 * ```
 *
 * @example Index it, as Python's `arr[i]`
 * ```ts
 * import { SharedArray } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const items = new SharedArray("d", 3);
 * items[0] = 1.5;
 * items[-1] = 2.5;
 * assertEquals(items[0], 1.5);
 * assertEquals([...items], [1.5, 0, 2.5]);
 * ```
 */
export class SharedArray<C extends Typecode = Typecode> {
  /** Item `index`, as `get(index)` and `set(index, value)` do. */
  [index: number]: TypecodeValue<C>;
  #typecode: C;
  #info: TypeInfo;
  #array: AnyTypedArray;
  #lock: RLock | null;

  /**
   * Creates an array in shared memory.
   *
   * @param typecode The item type, as Python's `array` typecodes.
   * @param sizeOrInitializer The length (items start at 0), or the items.
   * @param options Whether to create a lock.
   * @throws {TypeError} If the typecode is unknown, the size is not an
   * integer, an item has the wrong type, or the options are malformed.
   * @throws {RangeError} If the size is negative or an item is out of
   * range.
   */
  constructor(
    typecode: C,
    sizeOrInitializer: number | Iterable<TypecodeValue<C>>,
    options?: ValueOptions,
  ) {
    const state = adopt<SharedArrayState>();
    this.#info = typeOf(typecode, "create a SharedArray");
    this.#typecode = typecode;
    if (state) {
      this.#array = new this.#info.make(state.buffer);
      this.#lock = state.lock
        ? revive(state.lock.state, () => new RLock())
        : null;
    } else {
      this.#array = makeArray(
        typecode,
        sizeOrInitializer,
        "create a SharedArray",
      );
      this.#lock = makeLock(options, "create a SharedArray");
    }
    // What the constructor returns: the array with index access.
    return indexed(this);
  }

  /**
   * Iterates over the items, as Python's `for x in arr`.
   *
   * @returns The items, in order.
   */
  *[Symbol.iterator](): IterableIterator<TypecodeValue<C>> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  /** The typecode. */
  get typecode(): C {
    return this.#typecode;
  }

  /** The typed array over the shared memory. */
  get array(): TypedArrays[C] {
    return this.#array as TypedArrays[C];
  }

  /** The number of items. */
  get length(): number {
    return this.#array.length;
  }

  /**
   * Reads an item; a negative index counts from the end, as in Python.
   *
   * @param index The item's index.
   * @returns The item.
   * @throws {TypeError} If `index` is not an integer.
   * @throws {RangeError} If `index` is out of range.
   *
   * @example Read the last item
   * ```ts
   * import { SharedArray } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new SharedArray("q", [1n, 2n]).get(-1), 2n);
   * ```
   */
  get(index: number): TypecodeValue<C> {
    return readItem(
      this.#info,
      this.#array,
      pythonIndex(index, this.#array.length, "get an item"),
    ) as TypecodeValue<C>;
  }

  /**
   * Writes an item; a negative index counts from the end, as in Python.
   *
   * @param index The item's index.
   * @param value The new item.
   * @throws {TypeError} If `index` is not an integer, or `value` has the
   * wrong type for the typecode.
   * @throws {RangeError} If `index` or `value` is out of range.
   *
   * @example Write an item
   * ```ts
   * import { SharedArray } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const items = new SharedArray("B", 2);
   * items.set(1, 255);
   * assertEquals([...items.array], [0, 255]);
   * ```
   */
  set(index: number, value: TypecodeValue<C>): void {
    const i = pythonIndex(index, this.#array.length, "set an item");
    writeItem(
      this.#info,
      this.#array,
      i,
      checkItem(this.#info, this.#typecode, value, `set item ${index}`),
    );
  }

  /**
   * The array's shared lock, as Python's `get_lock()`.
   *
   * @returns The lock.
   * @throws {Error} If the array was created with `lock: false`.
   *
   * @example Hold the lock
   * ```ts
   * import { SharedArray } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const items = new SharedArray("i", 1);
   * {
   *   using _held = await items.getLock().hold();
   *   items.set(0, items.get(0) + 1);
   * }
   * assertEquals(items.get(0), 1);
   * ```
   */
  getLock(): RLock {
    return lockOrThrow(this.#lock, "a SharedArray");
  }

  /**
   * The remote form, by which the array reaches other processes: its
   * owner serves it there (see ARCHITECTURE.md).
   *
   * @returns The kind, the id and the metadata a proxy starts from.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return exportAs("SharedArray", this, () => arrayServant(this), {
      typecode: this.typecode,
      array: this.array.slice(),
      lock: lockOf(() => this.getLock()),
    });
  }

  /**
   * The memory form, by which the array and its lock cross into threads
   * by reference.
   *
   * @returns The kind, the typecode and the shared memory.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return {
      kind: "SharedArray",
      state: {
        typecode: this.#typecode,
        buffer: this.#array.buffer as SharedArrayBuffer,
        lock: this.#lock ? describeLockForm(this.#lock) : null,
      } as SharedArrayState,
    };
  }
}

registerMemoryKind<SharedArrayState>(
  "SharedArray",
  (state) => revive(state, () => new SharedArray(state.typecode, 0)),
);

function arrayServant(array: SharedArray): Servant {
  return {
    handle(op, args) {
      switch (op) {
        case "get":
          return array.array.slice();
        case "set":
          array.set(args[0] as number, args[1] as never);
          return;
        case "patch": {
          // Only the items this copy changed: others' writes stay.
          const [indices, values] = args as [number[], never[]];
          indices.forEach((index, i) => array.array[index] = values[i]);
          return;
        }
        default:
          throw new TypeError(
            `Cannot run ${op} on a SharedArray: unknown operation`,
          );
      }
    },
  };
}

interface ArrayMeta {
  typecode: Typecode;
  array: ArrayLike<number> & Iterable<never>;
  /** Its lock's proxy, revived with the metadata. */
  lock: RLock | null;
}

registerRemoteKind("SharedArray", (id, meta) => {
  const { typecode, array, lock: remoteLock } = meta as ArrayMeta;
  // The owner's raw items (character codes, for `c` and `u`).
  const copy = new SharedArray(typecode, array.length, { lock: false });
  copy.array.set(array as never);
  // What the owner had at the last refresh or write: a change to `array`
  // since then is written back at the next release.
  let seen = copy.array.slice();
  const self = proxy(SharedArray, id, {
    getLock(): RLock {
      if (!remoteLock) {
        throw new Error(
          "Cannot get the lock of a SharedArray created with lock: false",
        );
      }
      return remoteLock;
    },
    get(index: number) {
      return copy.get(index);
    },
    set(index: number, value: never) {
      copy.set(index, value);
      seen[index] = copy.array[index] as never;
      broker().post(id, "set", [index, copy.get(index)]);
    },
  }, {
    typecode: () => typecode,
    array: () => copy.array,
    length: () => copy.length,
  });
  const entry: Copy = {
    async refresh() {
      const fresh = await request(id, "get", []) as ArrayLike<number>;
      copy.array.set(fresh as never, 0);
      seen = copy.array.slice();
    },
    publish() {
      const now = copy.array;
      const indices: number[] = [];
      const values: unknown[] = [];
      for (let i = 0; i < now.length; i++) {
        if (now[i] === seen[i]) continue;
        indices.push(i);
        values.push(now[i]);
        seen[i] = now[i] as never;
      }
      if (indices.length > 0) broker().post(id, "patch", [indices, values]);
    },
  };
  copies.add(new WeakRef(entry));
  (self as unknown as Record<symbol, unknown>)[COPY] = entry;
  return indexed(self);
});
