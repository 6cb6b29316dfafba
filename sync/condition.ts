// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Condition: Python's `threading.Condition` on shared memory, and its
// servant and proxy for other processes.

import { registerRemoteKind, type Servant } from "../_ipc/broker.ts";
import {
  registerMemoryKind,
  toMemoryForm,
  toRemoteForm,
} from "../_ipc/crossing.ts";
import { exportAs, heldHere, proxy, request } from "./_remote.ts";
import { describe } from "../_util/repr.ts";
import type { WaitOptions } from "../_util/wait_options.ts";
import { adopt, type Form, internals, newCells, revive } from "./_cells.ts";
import {
  type AcquireOptions,
  type LockHold,
  parseWait,
  waitOn,
} from "./_wait.ts";
import { Lock, type LockState } from "./lock.ts";
import { RLock, type RLockState } from "./rlock.ts";
import { describeLockForm, reviveLock } from "./_lock_forms.ts";

const COND_GEN = 0;
const COND_PACKED = 1;
// COND_PACKED holds the waiters (bits 0-14) and the wake tokens not yet
// taken (bits 15-29), so that a woken waiter takes a token and leaves the
// waiters in one compare-and-swap.
const TOKEN = 1 << 15;
const MAX_WAITERS = TOKEN - 1;

export interface ConditionState {
  cells: SharedArrayBuffer;
  lock: Form<LockState | RLockState>;
}

/** What the servant of a condition reaches: its memory and its wakes. */
interface ConditionInternals {
  cells: Int32Array;
  lock: Lock | RLock;
  notify(n: number): void;
  takeToken(): boolean;
}

const conditionInternals = new WeakMap<object, ConditionInternals>();

/**
 * A condition variable, as Python's `threading.Condition`: tasks wait,
 * holding its lock, until another notifies them.
 *
 * `notify(n)` wakes at most `n` of the tasks waiting at the time of the
 * call (never one that starts waiting after), in no set order.
 *
 * The default lock is an {@linkcode RLock}, as in Python, and an `RLock`
 * tells threads apart, not tasks: for tasks of one thread that wait on each
 * other, pass a {@linkcode Lock}, as the example does.
 *
 * A condition goes to threads by its shared memory and to processes
 * through the process that created it, with its lock, as Python's does.
 *
 * @example Wait for a value
 * ```ts
 * import { Condition, Lock } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const cond = new Condition(new Lock());
 * const items: number[] = [];
 *
 * const consumer = (async () => {
 *   using _held = await cond.hold();
 *   await cond.waitFor(() => items.length > 0);
 *   return items.shift();
 * })();
 *
 * {
 *   using _held = await cond.hold();
 *   items.push(42);
 *   cond.notify();
 * }
 * assertEquals(await consumer, 42);
 * ```
 */
export class Condition {
  #cells: Int32Array;
  #lock: Lock | RLock;

  /**
   * Creates a condition on a lock.
   *
   * @param lock The lock to use; a new {@linkcode RLock} by default.
   * @throws {TypeError} If `lock` is not a `Lock` or an `RLock`.
   */
  constructor(lock?: Lock | RLock) {
    const state = adopt<ConditionState>();
    if (state) {
      this.#cells = new Int32Array(state.cells);
      this.#lock = reviveLock(state.lock);
    } else {
      if (
        lock !== undefined && !(lock instanceof Lock) &&
        !(lock instanceof RLock)
      ) {
        throw new TypeError(
          `Cannot create a condition: expected a Lock or an RLock, received ${
            describe(lock)
          }`,
        );
      }
      this.#cells = newCells(2);
      this.#lock = lock ?? new RLock();
    }
    conditionInternals.set(this, {
      cells: this.#cells,
      lock: this.#lock,
      notify: (n) => this.#notify(n),
      takeToken: () => this.#takeToken(),
    });
  }

  /**
   * Acquires the underlying lock.
   *
   * @param options A timeout in milliseconds, or options with `timeout`,
   * `signal` and `blocking`.
   * @returns Whether the lock was acquired.
   * @throws {TypeError} If the options are malformed.
   * @throws {RangeError} If the timeout is negative and not -1 (no
   * limit, as in Python).
   *
   * @example Acquire and release
   * ```ts
   * import { Condition } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const cond = new Condition();
   * assertEquals(await cond.acquire(), true);
   * cond.release();
   * ```
   */
  acquire(options?: number | AcquireOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  /**
   * Acquires the underlying lock if that needs no waiting.
   *
   * @returns Whether the lock was acquired.
   *
   * @example Try
   * ```ts
   * import { Condition } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const cond = new Condition();
   * assertEquals(cond.tryAcquire(), true);
   * cond.release();
   * ```
   */
  tryAcquire(): boolean {
    return this.#lock.tryAcquire();
  }

  /**
   * Acquires the underlying lock and returns a hold that releases it when
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
   * import { Condition } from "@parallel/multiprocessing/sync";
   *
   * const cond = new Condition();
   * {
   *   using _held = await cond.hold();
   *   cond.notifyAll();
   * }
   * ```
   */
  hold(options?: number | AcquireOptions): Promise<LockHold> {
    return this.#lock.hold(options);
  }

  /**
   * Releases the underlying lock.
   *
   * @throws {Error} If the lock is not held (or, for an `RLock`, is held
   * by another thread).
   *
   * @example Release
   * ```ts
   * import { Condition } from "@parallel/multiprocessing/sync";
   *
   * const cond = new Condition();
   * await cond.acquire();
   * cond.release();
   * ```
   */
  release(): void {
    this.#lock.release();
  }

  /**
   * Releases the lock, waits until notified, and acquires the lock again
   * before returning, even when the wait times out or is aborted. An
   * `RLock` is released and restored at every level.
   *
   * @param options A timeout in milliseconds, or options with `timeout`
   * and `signal`; a negative timeout does not wait, as in
   * Python.
   * @returns `true` if notified, `false` if the timeout passed first.
   * @throws {Error} If the lock is not held by the caller.
   * @throws {TypeError} If the options are malformed.
   * @throws {RangeError} If 32767 tasks already wait.
   *
   * @example Time out
   * ```ts
   * import { Condition } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const cond = new Condition();
   * using _held = await cond.hold();
   * assertEquals(await cond.wait(10), false);
   * ```
   */
  async wait(options?: number | WaitOptions): Promise<boolean> {
    const { deadline, signal } = parseWait(options, "wait on the condition");
    const lock = internals.get(this.#lock)!;
    if (!lock.isOwned()) {
      throw new Error("Cannot wait on a condition whose lock is not held");
    }
    signal?.throwIfAborted();
    const cells = this.#cells;
    // Join the waiters, holding the lock, as notify() does.
    joinWaiters(cells);
    const joined = Atomics.load(cells, COND_GEN);
    const saved = lock.releaseSave();
    let notified = false;
    let failure: { error: unknown } | undefined;
    try {
      while (true) {
        const gen = Atomics.load(cells, COND_GEN);
        if (gen !== joined && this.#takeToken()) {
          notified = true;
          break;
        }
        if (!await waitOn(cells, COND_GEN, gen, deadline, signal)) break;
      }
    } catch (error) {
      failure = { error };
    }
    await lock.acquireRestore(saved);
    if (!notified) {
      // With the lock held no notify is under way: take a token meant for
      // this waiter if there is one, else leave the waiters.
      if (Atomics.load(cells, COND_GEN) !== joined && this.#takeToken()) {
        notified = true;
        // Aborted: pass the notification on rather than lose it.
        if (failure) this.#notify(1);
      } else {
        Atomics.sub(cells, COND_PACKED, 1);
      }
    }
    if (failure) throw failure.error;
    return notified;
  }

  #takeToken(): boolean {
    const cells = this.#cells;
    let packed = Atomics.load(cells, COND_PACKED);
    while (packed >= TOKEN) {
      const seen = Atomics.compareExchange(
        cells,
        COND_PACKED,
        packed,
        packed - TOKEN - 1,
      );
      if (seen === packed) return true;
      packed = seen;
    }
    return false;
  }

  /**
   * Waits until `predicate` returns true, as Python's `wait_for`: checks
   * it first, then after each notification, holding the lock each time.
   *
   * @param predicate Called with the lock held.
   * @param options A timeout in milliseconds for the whole wait, or
   * options with `timeout` and `signal`.
   * @returns The predicate's last result: `false` if the timeout passed.
   * @throws {TypeError} If `predicate` is not a function, or the options
   * are malformed.
   * @throws {Error} If the predicate is false and the lock is not held.
   *
   * @example Time out on a false predicate
   * ```ts
   * import { Condition } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const cond = new Condition();
   * using _held = await cond.hold();
   * assertEquals(await cond.waitFor(() => false, 10), false);
   * assertEquals(await cond.waitFor(() => true), true);
   * ```
   */
  async waitFor(
    predicate: () => boolean,
    options?: number | WaitOptions,
  ): Promise<boolean> {
    if (typeof predicate !== "function") {
      throw new TypeError(
        `Cannot wait for a predicate: expected a function, received ${
          describe(predicate)
        }`,
      );
    }
    const { deadline, signal } = parseWait(options, "wait on the condition");
    let result = predicate();
    while (!result) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await this.wait({
        timeout: left === Infinity ? undefined : left,
        signal,
      });
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes at most `n` of the tasks waiting on this condition.
   *
   * @param n How many waiters to wake.
   * @throws {Error} If the lock is not held by the caller.
   * @throws {TypeError} If `n` is not an integer.
   * @throws {RangeError} If `n` is negative.
   *
   * @example Notify with no waiters
   * ```ts
   * import { Condition } from "@parallel/multiprocessing/sync";
   *
   * const cond = new Condition();
   * using _held = await cond.hold();
   * cond.notify(); // nobody waits: nothing happens
   * ```
   */
  notify(n = 1): void {
    checkCount(n);
    if (!internals.get(this.#lock)!.isOwned()) {
      throw new Error("Cannot notify on a condition whose lock is not held");
    }
    this.#notify(n);
  }

  #notify(n: number): void {
    const cells = this.#cells;
    let packed = Atomics.load(cells, COND_PACKED);
    while (true) {
      const waiters = packed & MAX_WAITERS;
      const tokens = packed >>> 15;
      const wake = Math.min(n, waiters - tokens);
      if (wake <= 0) return;
      const seen = Atomics.compareExchange(
        cells,
        COND_PACKED,
        packed,
        packed + wake * TOKEN,
      );
      if (seen === packed) break;
      packed = seen;
    }
    Atomics.add(cells, COND_GEN, 1);
    Atomics.notify(cells, COND_GEN);
  }

  /**
   * Wakes every task waiting on this condition.
   *
   * @throws {Error} If the lock is not held by the caller.
   *
   * @example Notify all
   * ```ts
   * import { Condition } from "@parallel/multiprocessing/sync";
   *
   * const cond = new Condition();
   * using _held = await cond.hold();
   * cond.notifyAll();
   * ```
   */
  notifyAll(): void {
    this.notify(MAX_WAITERS);
  }

  /**
   * The remote form, by which the condition reaches other processes: its
   * owner serves it there, and its lock travels with it (see
   * ARCHITECTURE.md).
   *
   * @returns The kind, the id and the metadata a proxy starts from.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return exportAs(
      "Condition",
      this,
      () => conditionServant(this),
      { lock: this.#lock },
    );
  }

  /**
   * The memory form, by which the condition and its lock cross into
   * threads by reference.
   *
   * @returns The kind and the shared memory, with the lock's memory form.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return {
      kind: "Condition",
      state: {
        cells: this.#cells.buffer,
        lock: describeLockForm(this.#lock),
      } as ConditionState,
    };
  }
}

registerMemoryKind<ConditionState>(
  "Condition",
  (state) => revive(state, () => new Condition()),
);

/** Counts one more waiter, or throws if as many as can wait already do. */
function joinWaiters(cells: Int32Array): void {
  let packed = Atomics.load(cells, COND_PACKED);
  while (true) {
    if ((packed & MAX_WAITERS) === MAX_WAITERS) {
      throw new RangeError(
        `Cannot wait on the condition: expected fewer than ${MAX_WAITERS} waiters, received ${MAX_WAITERS}`,
      );
    }
    const seen = Atomics.compareExchange(
      cells,
      COND_PACKED,
      packed,
      packed + 1,
    );
    if (seen === packed) return;
    packed = seen;
  }
}

/** Checks how many waiters `notify(n)` is asked to wake. */
function checkCount(n: unknown): void {
  if (!Number.isInteger(n)) {
    throw new TypeError(
      `Cannot notify the condition: expected n to be an integer, received ${
        describe(n)
      }`,
    );
  }
  if ((n as number) < 0) {
    throw new RangeError(
      `Cannot notify the condition: expected n to be 0 or more, received ${n}`,
    );
  }
}

/**
 * Serves a condition to other processes. A remote wait is four steps, the
 * lock held by the waiter around the first and the last, as in `wait()`:
 * `join` (count this waiter; answers the generation it joined at),
 * `await` (the waiter has released the lock: wait for a wake token),
 * and, if none came, `settle` once it holds the lock again (take a token
 * that came meanwhile, or leave). `notify` wakes for a holder elsewhere.
 * A waiter whose process dies is settled for it, passing on a token it
 * took, so no wake is lost.
 */
function conditionServant(condition: Condition): Servant {
  const { cells, notify, takeToken } = conditionInternals.get(condition)!;
  // The generations each origin's waiters joined at, while they wait.
  const joined = new Map<string, number[]>();
  // A wait that runtime did not join is refused: a forged `await` or
  // `settle` would take another waiter's wake, or uncount a waiter.
  const forget = (origin: string, generation: number): boolean => {
    const list = joined.get(origin) ?? [];
    const i = list.indexOf(generation);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) joined.delete(origin);
    return i >= 0;
  };
  const joinedBy = (origin: string, generation: number) =>
    joined.get(origin)?.includes(generation) ?? false;
  const refuse = (op: string): never => {
    throw new TypeError(
      `Cannot ${op} on the condition: this runtime did not join that wait`,
    );
  };
  const settle = (generation: number, passOn: boolean): boolean => {
    if (Atomics.load(cells, COND_GEN) !== generation && takeToken()) {
      if (passOn) notify(1);
      return true;
    }
    Atomics.sub(cells, COND_PACKED, 1);
    return false;
  };
  return {
    async handle(op, args, call) {
      switch (op) {
        case "join": {
          joinWaiters(cells);
          const generation = Atomics.load(cells, COND_GEN);
          joined.set(call.origin, [
            ...joined.get(call.origin) ?? [],
            generation,
          ]);
          return generation;
        }
        case "await": {
          const [generation, timeout] = args as [number, number | undefined];
          if (!joinedBy(call.origin, generation)) return refuse(op);
          const deadline = performance.now() + (timeout ?? Infinity);
          while (true) {
            const gen = Atomics.load(cells, COND_GEN);
            if (!joinedBy(call.origin, generation)) return refuse(op);
            if (gen !== generation && takeToken()) {
              forget(call.origin, generation);
              return true;
            }
            if (!await waitOn(cells, COND_GEN, gen, deadline, call.signal)) {
              return false;
            }
          }
        }
        case "settle": {
          const [generation, failed] = args as [number, boolean];
          if (!forget(call.origin, generation)) return refuse(op);
          return settle(generation, failed);
        }
        case "notify":
          return notify(args[0] as number);
        default:
          throw new TypeError(
            `Cannot run ${op} on a condition: unknown operation`,
          );
      }
    },
    originsGone(origins) {
      for (const origin of origins) {
        for (const generation of joined.get(origin) ?? []) {
          settle(generation, true);
        }
        joined.delete(origin);
      }
    },
  };
}

registerRemoteKind("Condition", (id, meta) => {
  const { lock } = meta as { lock: Lock | RLock };
  const held = () => heldHere.get(lock)?.() ?? 0;
  const checkHeld = (action: string) => {
    if (held() === 0) {
      throw new Error(`Cannot ${action} a condition whose lock is not held`);
    }
  };
  const self: Condition = proxy(Condition, id, {
    acquire: (options?: number | AcquireOptions) => lock.acquire(options),
    release: () => lock.release(),
    hold: (options?: number | AcquireOptions) => lock.hold(options),
    async wait(options?: number | WaitOptions): Promise<boolean> {
      const { timeout, signal } = parseWait(options, "wait on the condition");
      checkHeld("wait on");
      signal?.throwIfAborted();
      const depth = held();
      const generation = await request(id, "join", []) as number;
      // The releases go on the same link as the requests: in order.
      for (let i = 0; i < depth; i++) lock.release();
      let notified = false;
      let failure: { error: unknown } | undefined;
      try {
        notified = await request(id, "await", [
          generation,
          timeout === Infinity ? undefined : timeout,
        ], signal) as boolean;
      } catch (error) {
        failure = { error };
      }
      for (let i = 0; i < depth; i++) await lock.acquire();
      if (!notified) {
        notified = await request(id, "settle", [
          generation,
          failure !== undefined,
        ]) as boolean;
      }
      if (failure) throw failure.error;
      return notified;
    },
    notify(n = 1): void {
      checkCount(n);
      checkHeld("notify");
      request(id, "notify", [n]).catch(() => {});
    },
    notifyAll(): void {
      self.notify(MAX_WAITERS);
    },
  });
  // Passed on (to a grandchild), it goes as its owner's, with its lock: the
  // class's own form reads fields a proxy has not.
  Object.defineProperty(self, toRemoteForm, {
    value: () =>
      exportAs("Condition", self, () => {
        throw new TypeError("Cannot serve another runtime's condition");
      }, { lock }),
  });
  return self;
});
