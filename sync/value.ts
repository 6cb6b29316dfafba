// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Value: Python's `multiprocessing.Value` on shared memory, and its
// servant and proxy (a copy kept up to date) for other processes.

import { broker, registerRemoteKind, type Servant } from "../_ipc/broker.ts";
import {
  registerMemoryKind,
  toMemoryForm,
  toRemoteForm,
} from "../_ipc/crossing.ts";
import { adopt, type Form, revive } from "./_cells.ts";
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
  makeLock,
  readItem,
  type Typecode,
  type TypecodeValue,
  type TypeInfo,
  typeOf,
  type ValueOptions,
  writeItem,
} from "./_typecodes.ts";
import { describeLockForm } from "./_lock_forms.ts";
import { RLock, type RLockState } from "./rlock.ts";

export interface ValueState {
  typecode: Typecode;
  buffer: SharedArrayBuffer;
  lock: Form<RLockState> | null;
}

/**
 * A number in shared memory, as Python's `multiprocessing.Value`.
 *
 * Reading or writing `.value` is atomic for the integer typecodes; a
 * read-modify-write such as `v.value += 1` is not, so hold
 * {@linkcode Value.getLock} (or another lock) around it, as in Python.
 *
 * @typeParam C The typecode; `q` and `Q` hold bigints, the others numbers.
 *
 * @example Count under the value's lock
 * ```ts
 * import { Value } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const counter = new Value("i", 0);
 * {
 *   using _held = await counter.getLock().hold();
 *   counter.value += 1;
 * }
 * assertEquals(counter.value, 1);
 *
 * const big = new Value("q", 2n ** 40n);
 * assertEquals(big.value, 1099511627776n);
 * ```
 */
export class Value<C extends Typecode = Typecode> {
  #typecode: C;
  #info: TypeInfo;
  #array: AnyTypedArray;
  #lock: RLock | null;

  /**
   * Creates a value in shared memory.
   *
   * @param typecode The item type, as Python's `array` typecodes.
   * @param initial The first value; 0 (or `0n`) by default.
   * @param options Whether to create a lock.
   * @throws {TypeError} If the typecode is unknown, or `initial` has the
   * wrong type for it, or the options are malformed.
   * @throws {RangeError} If `initial` is out of the typecode's range.
   */
  constructor(typecode: C, initial?: TypecodeValue<C>, options?: ValueOptions) {
    const state = adopt<ValueState>();
    this.#info = typeOf(typecode, "create a Value");
    this.#typecode = typecode;
    if (state) {
      this.#array = new this.#info.make(state.buffer);
      this.#lock = state.lock
        ? revive(state.lock.state, () => new RLock())
        : null;
      return;
    }
    const value = initial === undefined
      ? (this.#info.kind === "bigint" ? 0n : 0)
      : checkItem(this.#info, typecode, initial, "create a Value");
    this.#lock = makeLock(options, "create a Value");
    this.#array = new this.#info.make(new SharedArrayBuffer(this.#info.size));
    writeItem(this.#info, this.#array, 0, value);
  }

  /** The typecode. */
  get typecode(): C {
    return this.#typecode;
  }

  /**
   * The value, read from shared memory.
   *
   * @throws {TypeError} On assignment, if the type is wrong for the
   * typecode.
   * @throws {RangeError} On assignment, if out of the typecode's range.
   */
  get value(): TypecodeValue<C> {
    return readItem(this.#info, this.#array, 0) as TypecodeValue<C>;
  }

  set value(value: TypecodeValue<C>) {
    writeItem(
      this.#info,
      this.#array,
      0,
      checkItem(this.#info, this.#typecode, value, "set the value"),
    );
  }

  /**
   * The value's shared lock, as Python's `get_lock()`.
   *
   * @returns The lock.
   * @throws {Error} If the value was created with `lock: false`.
   *
   * @example Without a lock
   * ```ts
   * import { Value } from "@parallel/multiprocessing/sync";
   * import { assertThrows } from "@std/assert";
   *
   * const v = new Value("d", 1.5, { lock: false });
   * assertThrows(() => v.getLock(), Error, "lock false");
   * ```
   */
  getLock(): RLock {
    return lockOrThrow(this.#lock, "a Value");
  }

  /**
   * The remote form, by which the value reaches other processes: its
   * owner serves it there (see ARCHITECTURE.md).
   *
   * @returns The kind, the id and the metadata a proxy starts from.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return exportAs("Value", this, () => valueServant(this), {
      typecode: this.typecode,
      value: this.value,
      lock: lockOf(() => this.getLock()),
    });
  }

  /**
   * The memory form, by which the value and its lock cross into threads
   * by reference.
   *
   * @returns The kind, the typecode and the shared memory.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return {
      kind: "Value",
      state: {
        typecode: this.#typecode,
        buffer: this.#array.buffer as SharedArrayBuffer,
        lock: this.#lock ? describeLockForm(this.#lock) : null,
      } as ValueState,
    };
  }
}

/**
 * A value in shared memory without a lock, as Python's `RawValue`: a
 * {@linkcode Value} whose `getLock()` throws.
 *
 * @typeParam C The typecode.
 * @param typecode The item type, as Python's `array` typecodes.
 * @param initial The first value; 0 (`0n`, `"\0"`) by default.
 * @returns The value.
 * @throws {TypeError} If the typecode is unknown, or `initial` has the
 * wrong type for it.
 * @throws {RangeError} If `initial` is out of the typecode's range.
 *
 * @example A raw character
 * ```ts
 * import { RawValue } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const letter = RawValue("c", "a");
 * letter.value = "b";
 * assertEquals(letter.value, "b");
 * ```
 */
export function RawValue<C extends Typecode>(
  typecode: C,
  initial?: TypecodeValue<C>,
): Value<C> {
  return new Value(typecode, initial, { lock: false });
}

registerMemoryKind<ValueState>(
  "Value",
  (state) => revive(state, () => new Value(state.typecode)),
);

function valueServant(value: Value): Servant {
  return {
    handle(op, args) {
      switch (op) {
        case "get":
          return value.value;
        case "set":
          value.value = args[0] as never;
          return;
        default:
          throw new TypeError(`Cannot run ${op} on a Value: unknown operation`);
      }
    },
  };
}

interface ValueMeta {
  typecode: Typecode;
  value: never;
  /** Its lock's proxy, revived with the metadata. */
  lock: RLock | null;
}

registerRemoteKind("Value", (id, meta) => {
  const { typecode, value, lock: remoteLock } = meta as ValueMeta;
  // This process's copy: a Value of its own, without a lock.
  const copy = new Value(typecode, value, { lock: false });
  const self = proxy(Value, id, {
    getLock(): RLock {
      if (!remoteLock) {
        throw new Error(
          "Cannot get the lock of a Value created with lock: false",
        );
      }
      return remoteLock;
    },
  }, { typecode: () => typecode });
  Object.defineProperty(self, "value", {
    get: () => copy.value,
    set: (next: never) => {
      copy.value = next;
      broker().post(id, "set", [copy.value]);
    },
    configurable: true,
  });
  const entry: Copy = {
    async refresh() {
      copy.value = await request(id, "get", []) as never;
    },
    publish() {},
  };
  copies.add(new WeakRef(entry));
  (self as unknown as Record<symbol, unknown>)[COPY] = entry;
  return self;
});
