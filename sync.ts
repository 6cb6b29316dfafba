// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's synchronization primitives and shared values, on shared memory:
 * {@linkcode Lock}, {@linkcode RLock}, {@linkcode Condition},
 * {@linkcode Semaphore}, {@linkcode BoundedSemaphore}, {@linkcode Event},
 * {@linkcode Barrier}, {@linkcode Value}, {@linkcode RawArray} and
 * {@linkcode SharedArray}.
 *
 * Each object lives in a `SharedArrayBuffer`, so passing it to a `Thread`
 * shares it rather than copying it: both threads operate on the same memory.
 * Every wait is asynchronous (`Atomics.waitAsync`), so a waiting task never
 * blocks its thread's event loop, and the other tasks of that thread keep
 * running. Waits take a timeout in milliseconds, or an options object with a
 * `timeout` and an `AbortSignal`; a timeout gives Python's result (`false`)
 * rather than an error, except for {@linkcode Barrier.wait} and the `hold()`
 * methods.
 *
 * Passed to a `Process`, every object but a `Condition` is served by the
 * process that created it: the child gets an object of the same class that
 * asks the owner (see ARCHITECTURE.md). There, `tryAcquire()`, `getValue()`,
 * `Barrier.nWaiting` and `Barrier.broken` are not available, and a `Value`
 * or `SharedArray` is a copy brought up to date each time the child acquires
 * a lock or semaphore.
 *
 * @example Guard a shared counter with a lock
 * ```ts
 * import { Lock, Value } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const lock = new Lock();
 * const counter = new Value("i", 0);
 *
 * async function work(): Promise<void> {
 *   for (let i = 0; i < 100; i++) {
 *     using _held = await lock.hold();
 *     const seen = counter.value;
 *     await Promise.resolve(); // another task may run here
 *     counter.value = seen + 1;
 *   }
 * }
 *
 * await Promise.all([work(), work(), work()]);
 * assertEquals(counter.value, 300);
 * ```
 *
 * @module
 */

import { denoBefore } from "./_util/deno.ts";
import { MAX_TIMER, unrefInterval } from "./_util/timers.ts";
import { waitOptions } from "./_util/wait_options.ts";
import type { WaitOptions } from "./_util/wait_options.ts";
import { getIdent } from "./_runtime/ident.ts";
import { registerError, registerShareable, toShared } from "./_ipc/crossing.ts";
import { remoteHooks, syncHelpers, unrefSignals } from "./sync/_hooks.ts";
import { describe } from "./_util/repr.ts";

// ---------------------------------------------------------------------------
// Waiting

export type { WaitOptions };

/** Options for acquiring a lock or a semaphore. */
export interface AcquireOptions extends WaitOptions {
  /**
   * Whether to wait at all: `false` tries once and returns at once, and
   * cannot be combined with a `timeout`.
   *
   * @default {true}
   */
  blocking?: boolean;
}

/**
 * A held lock or semaphore, released when disposed: write
 * `using _held = await lock.hold();` and the block releases it on exit.
 */
export interface LockHold extends Disposable {
  /** Releases what was acquired; later calls do nothing. */
  [Symbol.dispose](): void;
}

interface Wait {
  deadline: number;
  timeout: number;
  signal: AbortSignal | undefined;
  blocking: boolean;
}

/** Reads a `number | options` wait argument, or throws. */
function parseWait(options: unknown, action: string, acquire = false): Wait {
  const { timeout, signal } = waitOptions(options, action);
  const blocking = acquire && typeof options === "object" && options !== null
    ? (options as AcquireOptions).blocking ?? true
    : true;
  if (typeof blocking !== "boolean") {
    throw new TypeError(
      `Cannot ${action}: expected blocking to be a boolean, received ${
        describe(blocking)
      }`,
    );
  }
  if (!blocking && timeout !== undefined) {
    throw new TypeError(
      `Cannot ${action}: expected no timeout for a non-blocking call, received timeout ${timeout}`,
    );
  }
  const ms = timeout ?? Infinity;
  return { deadline: performance.now() + ms, timeout: ms, signal, blocking };
}

syncHelpers.parseWait = parseWait;

/**
 * Deno before 2.7 (2.5.7 and 2.6.8 measured) does not wake its event loop
 * when an `Atomics.waitAsync` resolves. There, a waiter that keeps the loop
 * alive looks again on its own timer, after 1 ms, then twice as long each
 * time up to 50 ms; and one unref'd ticker, started with this module, wakes
 * the loop every 10 ms for the waiters that must not keep it alive.
 */
const WAKE_BY_TIMER = denoBefore(2, 7);
const WAKE_FIRST = WAKE_BY_TIMER ? 1 : MAX_TIMER;
const WAKE_LAST = WAKE_BY_TIMER ? 50 : MAX_TIMER;
if (WAKE_BY_TIMER) unrefInterval(() => {}, 10);

/**
 * Waits until `cells[index]` is woken or no longer `expected`, the deadline
 * passes (false) or the signal aborts (rejects with its reason). Callers
 * loop: a wake is only a hint to look again.
 *
 * Deno does not keep its event loop alive for `Atomics.waitAsync`, so a
 * timer does, as a blocked thread keeps a Python program alive; it also
 * ends the wait at the deadline. Both are removed before returning.
 */
async function waitOn(
  cells: Int32Array,
  index: number,
  expected: number,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  signal?.throwIfAborted();
  const left = deadline - performance.now();
  if (left <= 0) return false;
  const result = Atomics.waitAsync(
    cells,
    index,
    expected,
    left === Infinity ? undefined : left,
  );
  if (!result.async) return result.value !== "timed-out";
  const { promise, resolve, reject } = Promise.withResolvers<boolean>();
  let pending = true;
  result.value.then((outcome) => {
    pending = false;
    resolve(outcome === "ok");
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A wait that must not keep the loop alive needs a timer only for its
  // deadline.
  const unref = signal !== undefined && unrefSignals.has(signal);
  let look = unref ? MAX_TIMER : WAKE_FIRST;
  const arm = (): void => {
    const rest = deadline - performance.now();
    if (rest <= 0) resolve(false);
    else if (!unref || rest !== Infinity) {
      timer = setTimeout(arm, Math.min(rest, look));
      look = Math.min(look * 2, unref ? MAX_TIMER : WAKE_LAST);
      if (unref) Deno.unrefTimer(timer);
    }
  };
  const abort = (): void => reject(signal?.reason);
  signal?.addEventListener("abort", abort, { once: true });
  arm();
  try {
    return await promise;
  } catch (error) {
    // An abandoned waiter would linger until the next notify: wake it now.
    // Every waiter loops and looks again, so the others lose nothing.
    if (pending) Atomics.notify(cells, index);
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", abort);
  }
}

/**
 * Waits until `tryAcquire()` succeeds or the deadline passes, sleeping on
 * `cells[index]` while it holds the value `busy()` gives (null: look again
 * at once), and counting itself in `cells[waiters]` meanwhile. Lock, RLock
 * and Semaphore all acquire this way.
 */
async function acquireLoop(
  cells: Int32Array,
  index: number,
  waiters: number,
  busy: () => number | null,
  tryAcquire: () => boolean,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  if (tryAcquire()) return true;
  Atomics.add(cells, waiters, 1);
  try {
    while (true) {
      if (tryAcquire()) return true;
      const value = busy();
      if (value === null) continue;
      if (!await waitOn(cells, index, value, deadline, signal)) {
        return tryAcquire();
      }
    }
  } finally {
    Atomics.sub(cells, waiters, 1);
  }
}

/**
 * Resolves with the new state once `cells[index]` (seen through `view`)
 * is no longer `known`: how a servant tells another process of a change.
 */
async function changeOf(
  cells: Int32Array,
  index: number,
  waiters: number | null,
  known: number,
  signal: AbortSignal,
  view: (value: number) => number = (value) => value,
): Promise<number> {
  // Counted as a waiter, so that a release notifies.
  if (waiters !== null) Atomics.add(cells, waiters, 1);
  try {
    while (true) {
      const raw = Atomics.load(cells, index);
      if (view(raw) !== known) return view(raw);
      await waitOn(cells, index, raw, Infinity, signal);
    }
  } finally {
    if (waiters !== null) Atomics.sub(cells, waiters, 1);
  }
}

function newCells(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(length * 4));
}

function holdOf(
  acquired: boolean,
  wait: Wait,
  what: string,
  release: () => void,
): LockHold {
  if (!acquired) {
    throw new DOMException(
      wait.blocking
        ? `Cannot hold ${what}: timed out after ${wait.timeout} ms`
        : `Cannot hold ${what}: it is not free and blocking is false`,
      "TimeoutError",
    );
  }
  let held = true;
  return {
    [Symbol.dispose](): void {
      if (!held) return;
      held = false;
      release();
    },
  };
}

// ---------------------------------------------------------------------------
// Revival: a constructor called by a reviver adopts the given state instead
// of allocating new memory.

let adoption: unknown = undefined;

function revive<T>(state: unknown, make: () => T): T {
  adoption = state;
  try {
    return make();
  } finally {
    adoption = undefined;
  }
}

function adopt<S>(): S | undefined {
  const state = adoption as S | undefined;
  adoption = undefined;
  return state;
}

/** A shared form, as `_shared.ts` defines it. */
interface Form<S> {
  kind: string;
  state: S;
}

/** What a Condition needs from its lock. */
interface LockInternals {
  isOwned(): boolean;
  releaseSave(): number;
  acquireRestore(saved: number): Promise<void>;
}

const internals = new WeakMap<Lock | RLock, LockInternals>();

// ---------------------------------------------------------------------------
// Lock

const LOCK_STATE = 0;
const LOCK_WAITERS = 1;
/** 1 once a holder died holding the lock, until the next acquire. */
const LOCK_ABANDONED = 2;
/** Counts acquisitions: a servant tells its own hold from a later one. */
const LOCK_GENERATION = 3;

interface LockState {
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
   * @throws {RangeError} If the timeout is negative.
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
   * @throws {RangeError} If the timeout is negative.
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
   * The shared form, by which the lock crosses into threads by reference.
   *
   * @returns The kind and the shared memory.
   */
  [toShared](): { kind: string; state: unknown } {
    return {
      kind: "Lock",
      state: { cells: this.#cells.buffer } as LockState,
    };
  }
}

registerShareable<LockState>(
  "Lock",
  (state) => revive(state, () => new Lock()),
);

// ---------------------------------------------------------------------------
// RLock

const RLOCK_OWNER = 0;
const RLOCK_COUNT = 1;
const RLOCK_WAITERS = 2;
const RLOCK_ABANDONED = 3;

interface RLockState {
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
   * @throws {RangeError} If the timeout is negative.
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
   * @throws {RangeError} If the timeout is negative.
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
   * The shared form, by which the lock crosses into threads by reference.
   *
   * @returns The kind and the shared memory.
   */
  [toShared](): { kind: string; state: unknown } {
    return {
      kind: "RLock",
      state: { cells: this.#cells.buffer } as RLockState,
    };
  }
}

registerShareable<RLockState>(
  "RLock",
  (state) => revive(state, () => new RLock()),
);

function reviveLock(form: Form<LockState | RLockState>): Lock | RLock {
  return form.kind === "Lock"
    ? revive(form.state, () => new Lock())
    : revive(form.state, () => new RLock());
}

function describeLockForm(lock: Lock | RLock): Form<LockState | RLockState> {
  return lock[toShared]() as Form<LockState | RLockState>;
}

// ---------------------------------------------------------------------------
// Condition

const COND_GEN = 0;
const COND_PACKED = 1;
// COND_PACKED holds the waiters (bits 0-14) and the wake tokens not yet
// taken (bits 15-29), so that a woken waiter takes a token and leaves the
// waiters in one compare-and-swap.
const TOKEN = 1 << 15;
const MAX_WAITERS = TOKEN - 1;

interface ConditionState {
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
   * @throws {RangeError} If the timeout is negative.
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
   * @throws {RangeError} If the timeout is negative.
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
   * and `signal`.
   * @returns `true` if notified, `false` if the timeout passed first.
   * @throws {Error} If the lock is not held by the caller.
   * @throws {TypeError} If the options are malformed.
   * @throws {RangeError} If the timeout is negative, or 32767 tasks
   * already wait.
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
   * @throws {RangeError} If the timeout is negative.
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
   * The shared form, by which the condition and its lock cross into
   * threads by reference.
   *
   * @returns The kind and the shared memory, with the lock's shared form.
   */
  [toShared](): { kind: string; state: unknown } {
    return {
      kind: "Condition",
      state: {
        cells: this.#cells.buffer,
        lock: describeLockForm(this.#lock),
      } as ConditionState,
    };
  }
}

registerShareable<ConditionState>(
  "Condition",
  (state) => revive(state, () => new Condition()),
);

// ---------------------------------------------------------------------------
// Semaphore

const SEM_VALUE = 0;
const SEM_WAITERS = 1;
const MAX_INT32 = 2 ** 31 - 1;

interface SemaphoreState {
  cells: SharedArrayBuffer;
  bound: number | null;
}

function checkCount(value: unknown, action: string, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(
      `Cannot ${action}: expected ${name} to be an integer, received ${
        describe(value)
      }`,
    );
  }
  return value;
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
      return;
    }
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

  /**
   * Decrements the counter, waiting while it is 0.
   *
   * @param options A timeout in milliseconds, or options with `timeout`,
   * `signal` and `blocking`.
   * @returns `true` once decremented; `false` if the timeout passed first,
   * or at once if `blocking` is `false` and the counter is 0.
   * @throws {TypeError} If the options are malformed.
   * @throws {RangeError} If the timeout is negative.
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
      if (seen === value) return true;
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
   * @throws {RangeError} If the timeout is negative.
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
   * The shared form, by which the semaphore crosses into threads by
   * reference.
   *
   * @returns The kind and the shared memory.
   */
  [toShared](): { kind: string; state: unknown } {
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

registerShareable<SemaphoreState>(
  "Semaphore",
  (state) => revive(state, () => new Semaphore()),
);
registerShareable<SemaphoreState>(
  "BoundedSemaphore",
  (state) => revive(state, () => new BoundedSemaphore()),
);

// ---------------------------------------------------------------------------
// Event

interface EventState {
  cells: SharedArrayBuffer;
}

/**
 * An event, as Python's `threading.Event`: a flag that tasks wait on until
 * another sets it.
 *
 * @example Wake a waiter
 * ```ts
 * import { Event } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const event = new Event();
 * const waiter = event.wait();
 * event.set();
 * assertEquals(await waiter, true);
 * ```
 */
export class Event {
  #cells: Int32Array;

  /**
   * Creates a cleared event in shared memory.
   */
  constructor() {
    const state = adopt<EventState>();
    this.#cells = state ? new Int32Array(state.cells) : newCells(1);
    remoteHooks.set(this, {
      changed: (known, signal) => changeOf(this.#cells, 0, null, known, signal),
      snapshot: () => Atomics.load(this.#cells, 0),
    });
  }

  /**
   * Tells whether the flag is set.
   *
   * @returns The flag.
   *
   * @example A new event is clear
   * ```ts
   * import { Event } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new Event().isSet(), false);
   * ```
   */
  isSet(): boolean {
    return Atomics.load(this.#cells, 0) === 1;
  }

  /**
   * Sets the flag, waking every waiter.
   *
   * @example Set
   * ```ts
   * import { Event } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const event = new Event();
   * event.set();
   * assertEquals(event.isSet(), true);
   * ```
   */
  set(): void {
    Atomics.store(this.#cells, 0, 1);
    Atomics.notify(this.#cells, 0);
  }

  /**
   * Clears the flag, so that later waits wait again.
   *
   * @example Clear
   * ```ts
   * import { Event } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const event = new Event();
   * event.set();
   * event.clear();
   * assertEquals(event.isSet(), false);
   * ```
   */
  clear(): void {
    Atomics.store(this.#cells, 0, 0);
    // Wakes only watchers in other processes' servants: waiters wait for 1.
    Atomics.notify(this.#cells, 0);
  }

  /**
   * Waits until the flag is set.
   *
   * @param options A timeout in milliseconds, or options with `timeout`
   * and `signal`.
   * @returns The flag on return: `false` if the timeout passed first.
   * @throws {TypeError} If the options are malformed.
   * @throws {RangeError} If the timeout is negative.
   *
   * @example Time out
   * ```ts
   * import { Event } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(await new Event().wait(10), false);
   * ```
   */
  async wait(options?: number | WaitOptions): Promise<boolean> {
    const { deadline, signal } = parseWait(options, "wait on the event");
    signal?.throwIfAborted();
    while (true) {
      if (this.isSet()) return true;
      if (!await waitOn(this.#cells, 0, 0, deadline, signal)) {
        return this.isSet();
      }
    }
  }

  /**
   * The shared form, by which the event crosses into threads by reference.
   *
   * @returns The kind and the shared memory.
   */
  [toShared](): { kind: string; state: unknown } {
    return {
      kind: "Event",
      state: { cells: this.#cells.buffer } as EventState,
    };
  }
}

registerShareable<EventState>(
  "Event",
  (state) => revive(state, () => new Event()),
);

// ---------------------------------------------------------------------------
// Barrier

// BARRIER_STATE holds the phase (bits 0-1) and the count of tasks inside
// (bits 2-30); BARRIER_SEQ changes, with a notify, on every phase change.
const BARRIER_STATE = 0;
const BARRIER_SEQ = 1;
const FILLING = 0;
const DRAINING = 1;
const RESETTING = 2;
const BROKEN = 3;
const MAX_PARTIES = 2 ** 29 - 1;

interface BarrierState {
  cells: SharedArrayBuffer;
  parties: number;
}

/**
 * Error from {@linkcode Barrier.wait} when the barrier is broken: by a
 * timeout, an abort, {@linkcode Barrier.abort} or {@linkcode Barrier.reset},
 * as Python's `threading.BrokenBarrierError`.
 *
 * @example Catch it
 * ```ts
 * import { Barrier, BrokenBarrierError } from "@parallel/multiprocessing/sync";
 * import { assertRejects } from "@std/assert";
 *
 * const barrier = new Barrier(2);
 * await assertRejects(() => barrier.wait(10), BrokenBarrierError);
 * ```
 */
export class BrokenBarrierError extends Error {
  /**
   * Creates the error.
   *
   * @param message What broke the barrier.
   * @param options The underlying error, if any.
   */
  constructor(
    message = "Cannot wait on a broken barrier",
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "BrokenBarrierError";
  }
}

/**
 * A barrier, as Python's `threading.Barrier`: `parties` tasks call
 * `wait()`, and all are let through when the last arrives; then it is
 * ready for the next round.
 *
 * Unlike Python, there is no `action` option (a function cannot be shared
 * between threads): run it after `wait()` in the task that got index 0.
 *
 * @example Meet
 * ```ts
 * import { Barrier } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const barrier = new Barrier(3);
 * const indices = await Promise.all([
 *   barrier.wait(),
 *   barrier.wait(),
 *   barrier.wait(),
 * ]);
 * assertEquals(indices.toSorted(), [0, 1, 2]);
 * ```
 */
export class Barrier {
  #cells: Int32Array;
  #parties: number;

  /**
   * Creates a barrier in shared memory.
   *
   * @param parties How many tasks must wait before all go through.
   * @throws {TypeError} If `parties` is not an integer.
   * @throws {RangeError} If `parties` is below 1 or above 536870911.
   */
  constructor(parties: number) {
    const state = adopt<BarrierState>();
    if (state) {
      this.#cells = new Int32Array(state.cells);
      this.#parties = state.parties;
      return;
    }
    checkCount(parties, "create a barrier", "parties");
    if (parties < 1 || parties > MAX_PARTIES) {
      throw new RangeError(
        `Cannot create a barrier: expected parties from 1 to ${MAX_PARTIES}, received ${parties}`,
      );
    }
    this.#cells = newCells(2);
    this.#parties = parties;
  }

  /** How many tasks must wait before all go through. */
  get parties(): number {
    return this.#parties;
  }

  /** How many tasks wait now. */
  get nWaiting(): number {
    const state = Atomics.load(this.#cells, BARRIER_STATE);
    return (state & 3) === FILLING ? state >>> 2 : 0;
  }

  /** Whether the barrier is broken. */
  get broken(): boolean {
    return (Atomics.load(this.#cells, BARRIER_STATE) & 3) === BROKEN;
  }

  /**
   * Waits until `parties` tasks are waiting, then lets all through.
   *
   * A task arriving while the previous round still drains waits for it
   * (with no timeout, as Python). A timeout or an abort during the wait
   * breaks the barrier, as Python's timeout does, so that the other
   * parties do not wait for ever.
   *
   * @param options A timeout in milliseconds, or options with `timeout`
   * and `signal`.
   * @returns The arrival index, from 0 for the first to `parties - 1` for
   * the last.
   * @throws {BrokenBarrierError} If the barrier is or becomes broken, or
   * the timeout passes.
   * @throws {TypeError} If the options are malformed.
   * @throws {RangeError} If the timeout is negative.
   *
   * @example One party
   * ```ts
   * import { Barrier } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(await new Barrier(1).wait(), 0);
   * ```
   */
  async wait(options?: number | WaitOptions): Promise<number> {
    const { deadline, signal } = parseWait(options, "wait on the barrier");
    signal?.throwIfAborted();
    const cells = this.#cells;
    // Enter, once a previous round has drained.
    let index: number;
    while (true) {
      const seq = Atomics.load(cells, BARRIER_SEQ);
      const state = Atomics.load(cells, BARRIER_STATE);
      const phase = state & 3;
      if (phase === BROKEN) throw new BrokenBarrierError();
      if (phase !== FILLING) {
        // Unlike CPython, the timeout holds here too: a party stopped
        // mid-round (Thread.terminate()) could leave it draining for ever.
        if (!await waitOn(cells, BARRIER_SEQ, seq, deadline, signal)) {
          throw new BrokenBarrierError(
            "Cannot pass the barrier: its previous round did not end before the timeout",
          );
        }
        continue;
      }
      index = state >>> 2;
      const last = index + 1 === this.#parties;
      const next = ((index + 1) << 2) | (last ? DRAINING : FILLING);
      if (
        Atomics.compareExchange(cells, BARRIER_STATE, state, next) !== state
      ) {
        continue;
      }
      if (last) this.#bump();
      break;
    }
    try {
      while (true) {
        const seq = Atomics.load(cells, BARRIER_SEQ);
        const phase = Atomics.load(cells, BARRIER_STATE) & 3;
        if (phase === DRAINING) return index;
        if (phase !== FILLING) throw new BrokenBarrierError();
        let woken: boolean;
        try {
          woken = await waitOn(cells, BARRIER_SEQ, seq, deadline, signal);
        } catch (error) {
          this.#setPhase((p) => p === FILLING ? BROKEN : p);
          throw error;
        }
        if (!woken && this.#setPhase((p) => p === FILLING ? BROKEN : p)) {
          throw new BrokenBarrierError(
            "Cannot pass the barrier: the wait timed out, so the barrier is broken",
          );
        }
      }
    } finally {
      // Leave; the last to leave a drained or reset barrier refills it.
      let state = Atomics.load(cells, BARRIER_STATE);
      while (true) {
        const count = (state >>> 2) - 1;
        const phase = state & 3;
        const next = (count << 2) |
          (count === 0 && (phase === DRAINING || phase === RESETTING)
            ? FILLING
            : phase);
        const seen = Atomics.compareExchange(cells, BARRIER_STATE, state, next);
        if (seen === state) {
          if ((next & 3) !== phase) this.#bump();
          break;
        }
        state = seen;
      }
    }
  }

  /** Changes the phase; returns whether it changed. */
  #setPhase(change: (phase: number) => number): boolean {
    const cells = this.#cells;
    let state = Atomics.load(cells, BARRIER_STATE);
    while (true) {
      const phase = change(state & 3);
      if (phase === (state & 3)) return false;
      const next = (state & ~3) | phase;
      const seen = Atomics.compareExchange(cells, BARRIER_STATE, state, next);
      if (seen === state) break;
      state = seen;
    }
    this.#bump();
    return true;
  }

  #bump(): void {
    Atomics.add(this.#cells, BARRIER_SEQ, 1);
    Atomics.notify(this.#cells, BARRIER_SEQ);
  }

  /**
   * Breaks the barrier: current and later waits reject with
   * {@linkcode BrokenBarrierError} until {@linkcode Barrier.reset}.
   *
   * @example Abort
   * ```ts
   * import { Barrier } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const barrier = new Barrier(2);
   * barrier.abort();
   * assertEquals(barrier.broken, true);
   * ```
   */
  abort(): void {
    this.#setPhase(() => BROKEN);
  }

  /**
   * Returns the barrier to its empty state. Tasks waiting now reject with
   * {@linkcode BrokenBarrierError}.
   *
   * @example Reset a broken barrier
   * ```ts
   * import { Barrier } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const barrier = new Barrier(2);
   * barrier.abort();
   * barrier.reset();
   * assertEquals(barrier.broken, false);
   * ```
   */
  reset(): void {
    const cells = this.#cells;
    let state = Atomics.load(cells, BARRIER_STATE);
    while (true) {
      const phase = state & 3;
      const count = state >>> 2;
      const next = count > 0
        ? (state & ~3) | (phase === DRAINING ? DRAINING : RESETTING)
        : FILLING;
      const seen = Atomics.compareExchange(cells, BARRIER_STATE, state, next);
      if (seen === state) break;
      state = seen;
    }
    this.#bump();
  }

  /**
   * The shared form, by which the barrier crosses into threads by
   * reference.
   *
   * @returns The kind, the shared memory and the parties.
   */
  [toShared](): { kind: string; state: unknown } {
    return {
      kind: "Barrier",
      state: {
        cells: this.#cells.buffer,
        parties: this.#parties,
      } as BarrierState,
    };
  }
}

registerShareable<BarrierState>(
  "Barrier",
  (state) => revive(state, () => new Barrier(state.parties)),
);

// ---------------------------------------------------------------------------
// Values and arrays

/**
 * Python's `array` typecodes: `b` `B` `h` `H` `i` `I` (8, 16 and 32-bit
 * integers, signed and unsigned; numbers), `q` `Q` (64-bit integers;
 * bigints), `f` `d` (32 and 64-bit floats; numbers).
 */
export type Typecode =
  | "b"
  | "B"
  | "h"
  | "H"
  | "i"
  | "I"
  | "q"
  | "Q"
  | "f"
  | "d";

/** The JavaScript type of an item of a typecode: bigint for `q` and `Q`. */
export type TypecodeValue<C extends Typecode> = C extends "q" | "Q" ? bigint
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
  /** Signed 64-bit integers. */
  q: BigInt64Array<SharedArrayBuffer>;
  /** Unsigned 64-bit integers. */
  Q: BigUint64Array<SharedArrayBuffer>;
  /** 32-bit floats. */
  f: Float32Array<SharedArrayBuffer>;
  /** 64-bit floats. */
  d: Float64Array<SharedArrayBuffer>;
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

type AnyTypedArray = TypedArrays[Typecode];

interface TypeInfo {
  make: new (buffer: SharedArrayBuffer) => AnyTypedArray;
  size: number;
  kind: "integer" | "bigint" | "float";
  min: number | bigint;
  max: number | bigint;
}

const TYPES: Record<Typecode, TypeInfo> = {
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
  q: {
    make: BigInt64Array,
    size: 8,
    kind: "bigint",
    min: -(2n ** 63n),
    max: 2n ** 63n - 1n,
  },
  Q: {
    make: BigUint64Array,
    size: 8,
    kind: "bigint",
    min: 0n,
    max: 2n ** 64n - 1n,
  },
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
};

const TYPECODES = Object.keys(TYPES).map((code) => `"${code}"`).join(", ");

function typeOf(typecode: unknown, action: string): TypeInfo {
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
function checkItem(
  info: TypeInfo,
  typecode: string,
  value: unknown,
  action: string,
): number | bigint {
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

function readItem(
  info: TypeInfo,
  array: AnyTypedArray,
  index: number,
): number | bigint {
  return info.kind === "float"
    ? array[index]
    : Atomics.load(array as Int32Array, index);
}

function writeItem(
  info: TypeInfo,
  array: AnyTypedArray,
  index: number,
  value: number | bigint,
): void {
  if (info.kind === "float") (array as Float64Array)[index] = value as number;
  else Atomics.store(array as Int32Array, index, value as number);
}

/** Builds a typed array over new shared memory, from a size or items. */
function makeArray(
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

interface ValueState {
  typecode: Typecode;
  buffer: SharedArrayBuffer;
  lock: Form<RLockState> | null;
}

function makeLock(options: unknown, action: string): RLock | null {
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

function lockOrThrow(lock: RLock | null, what: string): RLock {
  if (!lock) {
    throw new Error(
      `Cannot get the lock of ${what} created with lock false`,
    );
  }
  return lock;
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
   * The shared form, by which the value and its lock cross into threads
   * by reference.
   *
   * @returns The kind, the typecode and the shared memory.
   */
  [toShared](): { kind: string; state: unknown } {
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

registerShareable<ValueState>(
  "Value",
  (state) => revive(state, () => new Value(state.typecode)),
);

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

interface SharedArrayState {
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
 */
export class SharedArray<C extends Typecode = Typecode> {
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
      return;
    }
    this.#array = makeArray(
      typecode,
      sizeOrInitializer,
      "create a SharedArray",
    );
    this.#lock = makeLock(options, "create a SharedArray");
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

  #index(index: unknown, action: string): number {
    if (typeof index !== "number" || !Number.isInteger(index)) {
      throw new TypeError(
        `Cannot ${action}: expected an integer index, received ${
          describe(index)
        }`,
      );
    }
    const length = this.#array.length;
    if (index < -length || index >= length) {
      throw new RangeError(
        `Cannot ${action}: expected an index from ${-length} to ${
          length - 1
        }, received ${index}`,
      );
    }
    return index < 0 ? index + length : index;
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
      this.#index(index, "get an item"),
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
    const i = this.#index(index, "set an item");
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
   * The shared form, by which the array and its lock cross into threads
   * by reference.
   *
   * @returns The kind, the typecode and the shared memory.
   */
  [toShared](): { kind: string; state: unknown } {
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

registerShareable<SharedArrayState>(
  "SharedArray",
  (state) => revive(state, () => new SharedArray(state.typecode, 0)),
);

registerError(BrokenBarrierError);
