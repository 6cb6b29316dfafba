// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The argument every wait takes: a timeout in milliseconds, or options
// with a timeout and a signal.

import { describe } from "./repr.ts";

/** Options for a wait. */
export interface WaitOptions {
  /**
   * How long to wait, in milliseconds; `Infinity` waits for ever.
   *
   * @default {Infinity}
   */
  timeout?: number;
  /**
   * Cancels the wait: the promise rejects with `signal.reason`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** What no options mean: wait for as long as it takes. */
const NO_OPTIONS: WaitOptions = Object.freeze({
  timeout: undefined,
  signal: undefined,
});

/**
 * What a negative timeout means, as in Python, which gives each call its
 * own meaning:
 * - `"reject"`: a `RangeError` (`Queue.put()`/`get()`, Python's
 *   `ValueError`);
 * - `"now"`: do not wait, as `0` (`join()`, `poll()`, `Event.wait()`,
 *   `Condition.wait()`, `Barrier.wait()`, `AsyncResult.get()`);
 * - `"acquire"`: `-1` is no limit, as Python's `acquire(timeout=-1)`; any
 *   other negative timeout is a `RangeError`.
 */
export type NegativeTimeout = "reject" | "now" | "acquire";

/**
 * Checks a timeout in milliseconds and returns what it means: `undefined`
 * for none (left out, `Infinity`, or `-1` where it means no limit), else
 * the milliseconds to wait.
 */
export function checkTimeout(
  timeout: unknown,
  action: string,
  negative: NegativeTimeout = "reject",
): number | undefined {
  if (timeout === undefined || timeout === Infinity) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(
      `Cannot ${action}: expected timeout to be a number of milliseconds, received ${
        describe(timeout)
      }`,
    );
  }
  if (timeout >= 0) return timeout;
  if (negative === "now") return 0;
  if (negative === "acquire" && timeout === -1) return undefined;
  throw new RangeError(
    `Cannot ${action}: expected timeout to be a number >= 0${
      negative === "acquire" ? ", or -1 for no limit" : ""
    }, received ${timeout}`,
  );
}

export function waitOptions(
  options: unknown,
  action = "wait",
  negative: NegativeTimeout = "reject",
): WaitOptions {
  if (options === undefined) return NO_OPTIONS;
  const normalized = typeof options === "number"
    ? { timeout: options }
    : options;
  if (typeof normalized !== "object" || normalized === null) {
    throw new TypeError(
      `Cannot ${action}: expected a timeout in milliseconds or { timeout, signal }, received ${
        describe(options)
      }`,
    );
  }
  const { signal } = normalized as WaitOptions;
  const timeout = checkTimeout(
    (normalized as WaitOptions).timeout,
    action,
    negative,
  );
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${action}: expected signal to be an AbortSignal, received ${
        describe(signal)
      }`,
    );
  }
  return { timeout, signal };
}

/**
 * Signals of waits run for another process: such a wait must not keep this
 * process alive (a daemon child waiting on a lock would hold its parent).
 */
export const unrefSignals: WeakSet<AbortSignal> = new WeakSet();
