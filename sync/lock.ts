// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Lock: Python's `threading.Lock` on shared memory, and its servant and
// proxy for other processes.

import { registerRemoteKind, type Servant } from "../_ipc/broker.ts";
import {
  registerMemoryKind,
  toMemoryForm,
  toRemoteForm,
} from "../_ipc/crossing.ts";
import { adopt, internals, newCells, revive } from "./_cells.ts";
import {
  acquireOptions,
  exportAs,
  lockProxy,
  mirrorMeta,
  remoteHooks,
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

const LOCK_STATE = 0;
const LOCK_WAITERS = 1;
/** 1 once a holder died holding the lock, until the next acquire. */
const LOCK_ABANDONED = 2;
/** Counts acquisitions: a servant tells its own hold from a later one. */
const LOCK_GENERATION = 3;

export interface LockState {
  cells: SharedArrayBuffer;
}

/**
 * A primitive lock, as Python's `threading.Lock`: once acquired, any other
 * acquire waits until it is released, from any task of any thread.
 *
 * @example Hold a lock for a block
 * ```ts
 * import { Lock } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const lock = new Lock();
 * {
 *   using _held = await lock.hold();
 *   assertEquals(lock.locked(), true);
 *   assertEquals(await lock.acquire({ timeout: 10 }), false);
 * }
 * assertEquals(lock.locked(), false);
 * ```
 */
export class Lock {
  #cells: Int32Array;
  #abandoned = false;

  /**
   * Creates an unlocked lock in shared memory.
   */
  constructor() {
    const state = adopt<LockState>();
    this.#cells = state ? new Int32Array(state.cells) : newCells(4);
    remoteHooks.set(this, {
      generation: () => Atomics.load(this.#cells, LOCK_GENERATION),
      forceRelease: () => {
        Atomics.store(this.#cells, LOCK_ABANDONED, 1);
        this.release();
      },
      changed: (known, signal) =>
        changeOf(this.#cells, LOCK_STATE, LOCK_WAITERS, known, signal),
      snapshot: () => Atomics.load(this.#cells, LOCK_STATE),
    });
    internals.set(this, {
      isOwned: () => this.locked(),
      releaseSave: () => {
        this.release();
        return 0;
      },
      acquireRestore: async () => {
        await this.#acquire(Infinity, undefined);
      },
    });
  }

  /**
   * Acquires the lock, waiting while another holder has it.
   *
   * @param options A timeout in milliseconds, or options with `timeout`,
   * `signal` and `blocking`.
   * @returns `true` once acquired; `false` if the timeout passed first, or
   * at once if `blocking` is `false` and the lock is held.
   * @throws {TypeError} If the options are not a number or an object of
   * the right types, or combine a timeout with `blocking: false`.
   * @throws {RangeError} If the timeout is negative and not -1 (no
   * limit, as in Python).
   *
   * @example Try with a timeout
   * ```ts
   * import { Lock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const lock = new Lock();
   * assertEquals(await lock.acquire(), true);
   * assertEquals(await lock.acquire(10), false);
   * assertEquals(await lock.acquire({ blocking: false }), false);
   * lock.release();
   * ```
   */
  async acquire(options?: number | AcquireOptions): Promise<boolean> {
    const wait = parseWait(options, "acquire the lock", true);
    wait.signal?.throwIfAborted();
    if (!wait.blocking) return this.tryAcquire();
    return await this.#acquire(wait.deadline, wait.signal);
  }

  #acquire(
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    return acquireLoop(
      this.#cells,
      LOCK_STATE,
      LOCK_WAITERS,
      () => 1,
      () => this.tryAcquire(),
      deadline,
      signal,
    );
  }

  /**
   * Acquires the lock if it is free, without waiting.
   *
   * @returns Whether the lock was acquired.
   *
   * @example Take a free lock
   * ```ts
   * import { Lock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const lock = new Lock();
   * assertEquals(lock.tryAcquire(), true);
   * assertEquals(lock.tryAcquire(), false);
   * ```
   */
  tryAcquire(): boolean {
    if (Atomics.compareExchange(this.#cells, LOCK_STATE, 0, 1) !== 0) {
      return false;
    }
    Atomics.add(this.#cells, LOCK_GENERATION, 1);
    this.#abandoned = Atomics.exchange(this.#cells, LOCK_ABANDONED, 0) === 1;
    return true;
  }

  /**
   * Whether the last acquire through this object took the lock over from a
   * process that died holding it (the lock was released for it, so nothing
   * deadlocks; what it guarded may be half-updated).
   *
   * @example A lock nobody abandoned
   * ```ts
   * import { Lock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const lock = new Lock();
   * await lock.acquire();
   * assertEquals(lock.abandoned, false);
   * ```
   */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  /**
   * Acquires the lock and returns a hold that releases it when disposed.
   *
   * @param options A timeout in milliseconds, or options with `timeout`,
   * `signal` and `blocking`.
   * @returns The hold, for `using`.
   * @throws {DOMException} A `TimeoutError` if the lock was not acquired.
   * @throws {TypeError} If the options are malformed.
   * @throws {RangeError} If the timeout is negative and not -1 (no
   * limit, as in Python).
   *
   * @example Hold for a block
   * ```ts
   * import { Lock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const lock = new Lock();
   * {
   *   using _held = await lock.hold({ timeout: 1000 });
   *   assertEquals(lock.locked(), true);
   * }
   * assertEquals(lock.locked(), false);
   * ```
   */
  async hold(options?: number | AcquireOptions): Promise<LockHold> {
    const wait = parseWait(options, "hold the lock", true);
    return holdOf(
      await this.acquire(options),
      wait,
      "the lock",
      () => this.release(),
    );
  }

  /**
   * Releases the lock, waking a waiting acquirer. Any task of any thread
   * may release it, as in Python.
   *
   * @throws {Error} If the lock is not held.
   *
   * @example Release
   * ```ts
   * import { Lock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const lock = new Lock();
   * await lock.acquire();
   * lock.release();
   * assertEquals(lock.locked(), false);
   * ```
   */
  release(): void {
    const cells = this.#cells;
    if (Atomics.compareExchange(cells, LOCK_STATE, 1, 0) !== 1) {
      throw new Error("Cannot release a lock that is not held");
    }
    if (Atomics.load(cells, LOCK_WAITERS) > 0) {
      Atomics.notify(cells, LOCK_STATE);
    }
  }

  /**
   * Tells whether the lock is held.
   *
   * @returns `true` if held.
   *
   * @example A new lock is free
   * ```ts
   * import { Lock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new Lock().locked(), false);
   * ```
   */
  locked(): boolean {
    return Atomics.load(this.#cells, LOCK_STATE) === 1;
  }

  /**
   * The remote form, by which the lock reaches other processes: its
   * owner serves it there (see ARCHITECTURE.md).
   *
   * @returns The kind, the id and the metadata a proxy starts from.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return exportAs("Lock", this, () => lockServant(this), mirrorMeta(this));
  }

  /**
   * The memory form, by which the lock crosses into threads by reference.
   *
   * @returns The kind and the shared memory.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return {
      kind: "Lock",
      state: { cells: this.#cells.buffer } as LockState,
    };
  }
}

registerMemoryKind<LockState>(
  "Lock",
  (state) => revive(state, () => new Lock()),
);

/**
 * A Lock has no owner: whoever acquired it last holds it, until anyone
 * releases it. The servant remembers which runtime that was, and the lock's
 * generation then: if that runtime dies before a release and nobody has
 * acquired the lock since, the servant releases it.
 */
function lockServant(lock: Lock): Servant {
  const hooks = remoteHooks.get(lock)!;
  let holder: { origin: string; generation: number } | null = null;
  return {
    async handle(op, args, call) {
      switch (op) {
        case "acquire": {
          const ok = await lock.acquire(acquireOptions(args, call));
          if (!ok) return [false, false];
          if (call.signal.aborted) {
            // The caller went away while it waited: nobody holds this.
            lock.release();
            return [false, false];
          }
          holder = { origin: call.origin, generation: hooks.generation!() };
          return [true, lock.abandoned];
        }
        case "release":
          lock.release();
          holder = null;
          return;
        default:
          return watch(lock, op, args, call);
      }
    },
    originsGone(origins, graceful) {
      if (!holder || !origins.has(holder.origin)) return;
      const { generation } = holder;
      holder = null;
      // A clean exit leaves the lock held, as Python's would stay.
      if (graceful || !lock.locked()) return;
      if (hooks.generation!() === generation) hooks.forceRelease!();
    },
  };
}

registerRemoteKind("Lock", (id, meta) => lockProxy(Lock, id, meta));
