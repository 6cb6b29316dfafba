// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Condition: Python's `threading.Condition` on shared memory (threads of
// one process only).

import {
  registerMemoryKind,
  toMemoryForm,
  toRemoteForm,
} from "../_ipc/crossing.ts";
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
      return;
    }
    if (
      lock !== undefined && !(lock instanceof Lock) && !(lock instanceof RLock)
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
      if (seen === packed) break;
      packed = seen;
    }
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
    if (!Number.isInteger(n)) {
      throw new TypeError(
        `Cannot notify the condition: expected n to be an integer, received ${
          describe(n)
        }`,
      );
    }
    if (n < 0) {
      throw new RangeError(
        `Cannot notify the condition: expected n to be 0 or more, received ${n}`,
      );
    }
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
   * A Condition does not reach other processes.
   *
   * @throws {TypeError} Always: a Condition works between the threads of
   * one process only.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    throw new TypeError(
      `Cannot send a ${this.constructor.name} to another process: a Condition works between the threads of one process only; use an Event, a Queue or a Semaphore to signal between processes`,
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
