// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Semaphore and BoundedSemaphore on shared memory, and their servant and
// proxy for other processes.

import { registerRemoteKind, type Servant } from "../_ipc/broker.ts";
import {
  registerMemoryKind,
  toMemoryForm,
  toRemoteForm,
} from "../_ipc/crossing.ts";
import { adopt, checkCount, MAX_INT32, newCells, revive } from "./_cells.ts";
import {
  acquireOptions,
  exportAs,
  mirror,
  mirrorMeta,
  notAcross,
  proxy,
  remoteAcquire,
  remoteHooks,
  remoteRelease,
  watch,
} from "./_remote.ts";
import {
  acquireLoop,
  type AcquireOptions,
  changeOf,
  holdOf,
  type LockHold,
  parseWait,
} from "./_wait.ts";

const SEM_VALUE = 0;
const SEM_WAITERS = 1;

export interface SemaphoreState {
  cells: SharedArrayBuffer;
  bound: number | null;
}

/**
 * A semaphore, as Python's `threading.Semaphore`: a counter that
 * `acquire()` decrements, waiting while it is 0, and `release()`
 * increments.
 *
 * @example Let two tasks in at a time
 * ```ts
 * import { Semaphore } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const sem = new Semaphore(2);
 * assertEquals(await sem.acquire(), true);
 * assertEquals(await sem.acquire(), true);
 * assertEquals(await sem.acquire(10), false);
 * sem.release(2);
 * assertEquals(sem.getValue(), 2);
 * ```
 */
export class Semaphore {
  #cells: Int32Array;
  #bound: number | null;

  /**
   * Creates a semaphore in shared memory.
   *
   * @param value The initial counter.
   * @throws {TypeError} If `value` is not an integer.
   * @throws {RangeError} If `value` is negative or above 2147483647.
   */
  constructor(value = 1) {
    const state = adopt<SemaphoreState>();
    if (state) {
      this.#cells = new Int32Array(state.cells);
      this.#bound = state.bound;
    } else {
      const kind = this instanceof BoundedSemaphore
        ? "a bounded semaphore"
        : "a semaphore";
      checkCount(value, `create ${kind}`, "value");
      if (value < 0 || value > MAX_INT32) {
        throw new RangeError(
          `Cannot create ${kind}: expected value from 0 to ${MAX_INT32}, received ${value}`,
        );
      }
      this.#cells = newCells(2);
      Atomics.store(this.#cells, SEM_VALUE, value);
      this.#bound = this instanceof BoundedSemaphore ? value : null;
    }
    // Other processes mirror the counter for getValue(): the watch counts
    // as a waiter, so that every change notifies it.
    remoteHooks.set(this, {
      changed: (known, signal) =>
        changeOf(this.#cells, SEM_VALUE, SEM_WAITERS, known, signal),
      snapshot: () => Atomics.load(this.#cells, SEM_VALUE),
    });
  }

  /**
   * Decrements the counter, waiting while it is 0.
   *
   * @param options A timeout in milliseconds, or options with `timeout`,
   * `signal` and `blocking`.
   * @returns `true` once decremented; `false` if the timeout passed first,
   * or at once if `blocking` is `false` and the counter is 0.
   * @throws {TypeError} If the options are malformed.
   * @throws {RangeError} If the timeout is negative and not -1 (no
   * limit, as in Python).
   *
   * @example Acquire
   * ```ts
   * import { Semaphore } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const sem = new Semaphore(1);
   * assertEquals(await sem.acquire(), true);
   * assertEquals(await sem.acquire({ blocking: false }), false);
   * ```
   */
  async acquire(options?: number | AcquireOptions): Promise<boolean> {
    const { deadline, signal, blocking } = parseWait(
      options,
      "acquire the semaphore",
      true,
    );
    signal?.throwIfAborted();
    if (!blocking) return this.tryAcquire();
    return await acquireLoop(
      this.#cells,
      SEM_VALUE,
      SEM_WAITERS,
      () => 0,
      () => this.tryAcquire(),
      deadline,
      signal,
    );
  }

  /**
   * Decrements the counter if it is above 0, without waiting.
   *
   * @returns Whether the counter was decremented.
   *
   * @example Try
   * ```ts
   * import { Semaphore } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const sem = new Semaphore(0);
   * assertEquals(sem.tryAcquire(), false);
   * ```
   */
  tryAcquire(): boolean {
    const cells = this.#cells;
    let value = Atomics.load(cells, SEM_VALUE);
    while (value > 0) {
      const seen = Atomics.compareExchange(cells, SEM_VALUE, value, value - 1);
      if (seen === value) {
        // A watching mirror (getValue() in another process) sees it.
        if (Atomics.load(cells, SEM_WAITERS) > 0) {
          Atomics.notify(cells, SEM_VALUE);
        }
        return true;
      }
      value = seen;
    }
    return false;
  }

  /**
   * Acquires and returns a hold that releases once when disposed.
   *
   * @param options A timeout in milliseconds, or options with `timeout`,
   * `signal` and `blocking`.
   * @returns The hold, for `using`.
   * @throws {DOMException} A `TimeoutError` if the semaphore was not
   * acquired.
   * @throws {TypeError} If the options are malformed.
   * @throws {RangeError} If the timeout is negative and not -1 (no
   * limit, as in Python).
   *
   * @example Hold for a block
   * ```ts
   * import { Semaphore } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const sem = new Semaphore(1);
   * {
   *   using _held = await sem.hold();
   *   assertEquals(sem.getValue(), 0);
   * }
   * assertEquals(sem.getValue(), 1);
   * ```
   */
  async hold(options?: number | AcquireOptions): Promise<LockHold> {
    const wait = parseWait(options, "hold the semaphore", true);
    return holdOf(
      await this.acquire(options),
      wait,
      "the semaphore",
      () => this.release(),
    );
  }

  /**
   * Increments the counter by `n`, waking waiters.
   *
   * @param n How much to add.
   * @throws {TypeError} If `n` is not an integer.
   * @throws {RangeError} If `n` is below 1, or the counter would pass
   * 2147483647.
   * @throws {Error} For a {@linkcode BoundedSemaphore}, if the counter
   * would pass its initial value.
   *
   * @example Release two
   * ```ts
   * import { Semaphore } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const sem = new Semaphore(0);
   * sem.release(2);
   * assertEquals(sem.getValue(), 2);
   * ```
   */
  release(n = 1): void {
    checkCount(n, "release the semaphore", "n");
    if (n < 1) {
      throw new RangeError(
        `Cannot release the semaphore: expected n to be 1 or more, received ${n}`,
      );
    }
    const cells = this.#cells;
    const bound = this.#bound ?? MAX_INT32;
    let value = Atomics.load(cells, SEM_VALUE);
    while (true) {
      if (value + n > bound) {
        throw this.#bound === null
          ? new RangeError(
            `Cannot release the semaphore: expected its value to stay at most ${MAX_INT32}, received ${
              value + n
            }`,
          )
          : new Error(
            `Cannot release a bounded semaphore above its initial value ${this.#bound}`,
          );
      }
      const seen = Atomics.compareExchange(cells, SEM_VALUE, value, value + n);
      if (seen === value) break;
      value = seen;
    }
    if (Atomics.load(cells, SEM_WAITERS) > 0) Atomics.notify(cells, SEM_VALUE);
  }

  /**
   * Reads the counter, as `multiprocessing`'s `get_value()`.
   *
   * @returns The counter now; it may change at once.
   *
   * @example Read
   * ```ts
   * import { Semaphore } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new Semaphore(3).getValue(), 3);
   * ```
   */
  getValue(): number {
    return Atomics.load(this.#cells, SEM_VALUE);
  }

  /**
   * The remote form, by which the semaphore reaches other processes: its
   * owner serves it there (see ARCHITECTURE.md).
   *
   * @returns The kind, the id and the metadata a proxy starts from.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return exportAs(
      this instanceof BoundedSemaphore ? "BoundedSemaphore" : "Semaphore",
      this,
      () => semaphoreServant(this),
      mirrorMeta(this),
    );
  }

  /**
   * The memory form, by which the semaphore crosses into threads by
   * reference.
   *
   * @returns The kind and the shared memory.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return {
      kind: this.#bound === null ? "Semaphore" : "BoundedSemaphore",
      state: {
        cells: this.#cells.buffer,
        bound: this.#bound,
      } as SemaphoreState,
    };
  }
}

/**
 * A semaphore that cannot be released above its initial value, as
 * Python's `threading.BoundedSemaphore`: a release without a matching
 * acquire throws.
 *
 * @example Catch an extra release
 * ```ts
 * import { BoundedSemaphore } from "@parallel/multiprocessing/sync";
 * import { assertThrows } from "@std/assert";
 *
 * const sem = new BoundedSemaphore(1);
 * assertThrows(() => sem.release(), Error, "above its initial value 1");
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  /**
   * Creates a bounded semaphore in shared memory.
   *
   * @param value The initial counter, and its bound.
   * @throws {TypeError} If `value` is not an integer.
   * @throws {RangeError} If `value` is negative or above 2147483647.
   */
  constructor(value = 1) {
    super(value);
  }
}

registerMemoryKind<SemaphoreState>(
  "Semaphore",
  (state) => revive(state, () => new Semaphore()),
);
registerMemoryKind<SemaphoreState>(
  "BoundedSemaphore",
  (state) => revive(state, () => new BoundedSemaphore()),
);

/**
 * A semaphore is a counter: permits acquired by a process that dies are not
 * given back, as in Python (one process may acquire what another releases).
 */
function semaphoreServant(semaphore: Semaphore): Servant {
  return {
    async handle(op, args, call) {
      switch (op) {
        case "acquire": {
          const ok = await semaphore.acquire(acquireOptions(args, call));
          if (ok && call.signal.aborted) {
            semaphore.release();
            return [false, false];
          }
          return [ok, false];
        }
        case "release":
          semaphore.release(args[0] as number);
          return;
        default:
          return watch(semaphore, op, args, call);
      }
    },
  };
}

function semaphoreProxy<T extends Semaphore>(
  Class: { prototype: T },
  id: string,
  meta: unknown,
): T {
  const counter = mirror(id, meta as number);
  return proxy(Class, id, {
    async acquire(options?: number | AcquireOptions): Promise<boolean> {
      const [ok] = await remoteAcquire(id, options, "semaphore");
      return ok;
    },
    tryAcquire(): boolean {
      return notAcross(
        "tryAcquire()",
        "use `await semaphore.acquire({ blocking: false })`",
      );
    },
    release(n = 1): void {
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
        throw new RangeError(
          `Cannot release the semaphore: expected n to be an integer >= 1, received ${n}`,
        );
      }
      remoteRelease(id, [n]);
    },
    getValue(): number {
      return counter.get();
    },
  });
}

registerRemoteKind(
  "Semaphore",
  (id, meta) => semaphoreProxy(Semaphore, id, meta),
);
registerRemoteKind(
  "BoundedSemaphore",
  (id, meta) => semaphoreProxy(BoundedSemaphore, id, meta),
);
