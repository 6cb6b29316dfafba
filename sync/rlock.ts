// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// RLock: Python's `threading.RLock` on shared memory, and its servant
// for other processes.

import { registerRemoteKind, type Servant } from "../_ipc/broker.ts";
import {
  registerMemoryKind,
  toMemoryForm,
  toRemoteForm,
} from "../_ipc/crossing.ts";
import { allocateIdent, getIdent } from "../_runtime/ident.ts";
import { adopt, internals, newCells, revive } from "./_cells.ts";
import {
  type AcquireArgs,
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

const RLOCK_OWNER = 0;
const RLOCK_COUNT = 1;
const RLOCK_WAITERS = 2;
const RLOCK_ABANDONED = 3;

export interface RLockState {
  cells: SharedArrayBuffer;
}

/**
 * A reentrant lock, as Python's `threading.RLock`: the thread that holds it
 * may acquire it again, and must release it as many times.
 *
 * Ownership is by thread ident (`getIdent()`), not by task: the async tasks
 * of one thread share one ident, so they all count as the owner. Use a
 * {@linkcode Lock} to exclude tasks of the same thread from one another.
 *
 * @example Acquire twice, release twice
 * ```ts
 * import { RLock } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const lock = new RLock();
 * await lock.acquire();
 * await lock.acquire();
 * lock.release();
 * assertEquals(lock.locked(), true);
 * lock.release();
 * assertEquals(lock.locked(), false);
 * ```
 */
export class RLock {
  #cells: Int32Array;
  #abandoned = false;

  /**
   * Creates an unlocked reentrant lock in shared memory.
   */
  constructor() {
    const state = adopt<RLockState>();
    this.#cells = state ? new Int32Array(state.cells) : newCells(4);
    remoteHooks.set(this, {
      acquireAs: (ident, timeout, signal, blocking) => {
        if (!blocking) return Promise.resolve(this.#tryAcquire(ident));
        return this.#acquire(
          performance.now() + (timeout ?? Infinity),
          signal,
          ident,
        );
      },
      releaseAs: (ident) => this.#release(ident),
      forceRelease: (ident) => {
        const cells = this.#cells;
        if (Atomics.load(cells, RLOCK_OWNER) !== ident) return;
        Atomics.store(cells, RLOCK_ABANDONED, 1);
        Atomics.store(cells, RLOCK_COUNT, 1);
        this.#release(ident!);
      },
      changed: (known, signal) =>
        changeOf(
          this.#cells,
          RLOCK_OWNER,
          RLOCK_WAITERS,
          known,
          signal,
          (owner) => owner ? 1 : 0,
        ),
      snapshot: () => Atomics.load(this.#cells, RLOCK_OWNER) ? 1 : 0,
    });
    internals.set(this, {
      isOwned: () => Atomics.load(this.#cells, RLOCK_OWNER) === getIdent(),
      releaseSave: () => {
        const cells = this.#cells;
        const count = Atomics.load(cells, RLOCK_COUNT);
        Atomics.store(cells, RLOCK_COUNT, 0);
        Atomics.store(cells, RLOCK_OWNER, 0);
        if (Atomics.load(cells, RLOCK_WAITERS) > 0) {
          Atomics.notify(cells, RLOCK_OWNER);
        }
        return count;
      },
      acquireRestore: async (count) => {
        await this.#acquire(Infinity, undefined);
        Atomics.add(this.#cells, RLOCK_COUNT, count - 1);
      },
    });
  }

  /**
   * Acquires the lock: at once if this thread holds it (counting one more
   * level), else waiting while another thread holds it.
   *
   * @param options A timeout in milliseconds, or options with `timeout`,
   * `signal` and `blocking`.
   * @returns `true` once acquired; `false` if the timeout passed first, or
   * at once if `blocking` is `false` and another thread holds it.
   * @throws {TypeError} If the options are malformed.
   * @throws {RangeError} If the timeout is negative and not -1 (no
   * limit, as in Python).
   *
   * @example Reenter
   * ```ts
   * import { RLock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const lock = new RLock();
   * assertEquals(await lock.acquire(), true);
   * assertEquals(await lock.acquire({ blocking: false }), true);
   * lock.release();
   * lock.release();
   * ```
   */
  async acquire(options?: number | AcquireOptions): Promise<boolean> {
    const wait = parseWait(options, "acquire the RLock", true);
    wait.signal?.throwIfAborted();
    if (!wait.blocking) return this.tryAcquire();
    return await this.#acquire(wait.deadline, wait.signal);
  }

  #acquire(
    deadline: number,
    signal: AbortSignal | undefined,
    ident = getIdent(),
  ): Promise<boolean> {
    const cells = this.#cells;
    return acquireLoop(
      cells,
      RLOCK_OWNER,
      RLOCK_WAITERS,
      () => Atomics.load(cells, RLOCK_OWNER) || null,
      () => this.#tryAcquire(ident),
      deadline,
      signal,
    );
  }

  /**
   * Acquires the lock if it is free or held by this thread, without
   * waiting.
   *
   * @returns Whether the lock was acquired.
   *
   * @example Take a free lock
   * ```ts
   * import { RLock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const lock = new RLock();
   * assertEquals(lock.tryAcquire(), true);
   * lock.release();
   * ```
   */
  tryAcquire(): boolean {
    return this.#tryAcquire(getIdent());
  }

  #tryAcquire(me: number): boolean {
    const cells = this.#cells;
    if (Atomics.load(cells, RLOCK_OWNER) === me) {
      Atomics.add(cells, RLOCK_COUNT, 1);
      return true;
    }
    if (Atomics.compareExchange(cells, RLOCK_OWNER, 0, me) === 0) {
      Atomics.store(cells, RLOCK_COUNT, 1);
      this.#abandoned = Atomics.exchange(cells, RLOCK_ABANDONED, 0) === 1;
      return true;
    }
    return false;
  }

  /**
   * Whether the last first-level acquire through this object took the lock
   * over from a process that died holding it.
   *
   * @example An RLock nobody abandoned
   * ```ts
   * import { RLock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const lock = new RLock();
   * await lock.acquire();
   * assertEquals(lock.abandoned, false);
   * ```
   */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  /**
   * Acquires the lock and returns a hold that releases one level when
   * disposed.
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
   * import { RLock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const lock = new RLock();
   * {
   *   using _outer = await lock.hold();
   *   using _inner = await lock.hold();
   *   assertEquals(lock.locked(), true);
   * }
   * assertEquals(lock.locked(), false);
   * ```
   */
  async hold(options?: number | AcquireOptions): Promise<LockHold> {
    const wait = parseWait(options, "hold the RLock", true);
    return holdOf(
      await this.acquire(options),
      wait,
      "the RLock",
      () => this.release(),
    );
  }

  /**
   * Releases one level; the last release frees the lock for other threads.
   *
   * @throws {Error} If the lock is not held, or is held by another thread.
   *
   * @example Release
   * ```ts
   * import { RLock } from "@parallel/multiprocessing/sync";
   * import { assertThrows } from "@std/assert";
   *
   * const lock = new RLock();
   * await lock.acquire();
   * lock.release();
   * assertThrows(() => lock.release(), Error, "not held");
   * ```
   */
  release(): void {
    this.#release(getIdent());
  }

  #release(me: number): void {
    const cells = this.#cells;
    const owner = Atomics.load(cells, RLOCK_OWNER);
    if (owner === 0) {
      throw new Error("Cannot release an RLock that is not held");
    }
    if (owner !== me) {
      throw new Error(
        `Cannot release an RLock owned by thread ${owner} from thread ${me}`,
      );
    }
    if (Atomics.sub(cells, RLOCK_COUNT, 1) > 1) return;
    Atomics.store(cells, RLOCK_OWNER, 0);
    if (Atomics.load(cells, RLOCK_WAITERS) > 0) {
      Atomics.notify(cells, RLOCK_OWNER);
    }
  }

  /**
   * Tells whether any thread holds the lock.
   *
   * @returns `true` if held.
   *
   * @example A new lock is free
   * ```ts
   * import { RLock } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new RLock().locked(), false);
   * ```
   */
  locked(): boolean {
    return Atomics.load(this.#cells, RLOCK_OWNER) !== 0;
  }

  /**
   * The remote form, by which the lock reaches other processes: its
   * owner serves it there (see ARCHITECTURE.md).
   *
   * @returns The kind, the id and the metadata a proxy starts from.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return exportAs("RLock", this, () => rlockServant(this), mirrorMeta(this));
  }

  /**
   * The memory form, by which the lock crosses into threads by reference.
   *
   * @returns The kind and the shared memory.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return {
      kind: "RLock",
      state: { cells: this.#cells.buffer } as RLockState,
    };
  }
}

registerMemoryKind<RLockState>(
  "RLock",
  (state) => revive(state, () => new RLock()),
);

/**
 * An RLock is owned by an ident: each runtime in another process gets one
 * of its own here, so reentrancy and ownership hold across processes.
 */
function rlockServant(lock: RLock): Servant {
  const hooks = remoteHooks.get(lock)!;
  const idents = new Map<string, number>();
  const identOf = (origin: string) => {
    let ident = idents.get(origin);
    if (ident === undefined) idents.set(origin, ident = allocateIdent());
    return ident;
  };
  return {
    async handle(op, args, call) {
      switch (op) {
        case "acquire": {
          const { timeout, blocking } = args[0] as AcquireArgs;
          const ident = identOf(call.origin);
          const ok = await hooks.acquireAs!(
            ident,
            timeout,
            call.signal,
            blocking,
          );
          if (ok && call.signal.aborted) {
            hooks.releaseAs!(ident);
            return [false, false];
          }
          return [ok, ok && lock.abandoned];
        }
        case "release":
          hooks.releaseAs!(identOf(call.origin));
          return;
        default:
          return watch(lock, op, args, call);
      }
    },
    originsGone(origins, graceful) {
      for (const origin of origins) {
        const ident = idents.get(origin);
        if (ident === undefined) continue;
        idents.delete(origin);
        if (!graceful) hooks.forceRelease!(ident);
      }
    },
  };
}

registerRemoteKind("RLock", (id, meta) => lockProxy(RLock, id, meta));
