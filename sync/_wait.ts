// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// How the primitives wait: on a cell of shared memory, with a deadline
// and a signal, without blocking the thread's event loop.

import { denoBefore } from "../_util/deno.ts";
import { describe } from "../_util/repr.ts";
import { MAX_TIMER, unrefInterval } from "../_util/timers.ts";
import {
  unrefSignals,
  type WaitOptions,
  waitOptions,
} from "../_util/wait_options.ts";

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

export interface Wait {
  deadline: number;
  timeout: number;
  signal: AbortSignal | undefined;
  blocking: boolean;
}

/** Reads a `number | options` wait argument, or throws. */
export function parseWait(
  options: unknown,
  action: string,
  acquire = false,
): Wait {
  const { timeout, signal } = waitOptions(
    options,
    action,
    acquire ? "acquire" : "now",
  );
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

/**
 * Deno before 2.7 (2.5.7 and 2.6.8 measured) does not wake its event loop
 * when an `Atomics.waitAsync` resolves. There, a waiter that keeps the loop
 * alive looks again on its own timer, after 1 ms, then twice as long each
 * time up to 50 ms; and one unref'd ticker, started with this module, wakes
 * the loop every 10 ms for the waiters that must not keep it alive.
 */
export const WAKE_BY_TIMER = denoBefore(2, 7);
export const WAKE_FIRST = WAKE_BY_TIMER ? 1 : MAX_TIMER;
export const WAKE_LAST = WAKE_BY_TIMER ? 50 : MAX_TIMER;
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
export async function waitOn(
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
export async function acquireLoop(
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
export async function changeOf(
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

export function holdOf(
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
