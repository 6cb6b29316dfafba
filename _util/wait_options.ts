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

export function waitOptions(
  options: unknown,
  action = "wait",
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
  const { timeout, signal } = normalized as WaitOptions;
  if (timeout !== undefined) {
    if (typeof timeout !== "number" || Number.isNaN(timeout)) {
      throw new TypeError(
        `Cannot ${action}: expected timeout to be a number of milliseconds, received ${
          describe(timeout)
        }`,
      );
    }
    if (timeout < 0) {
      throw new RangeError(
        `Cannot ${action}: expected timeout to be a number >= 0, received ${timeout}`,
      );
    }
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${action}: expected signal to be an AbortSignal, received ${
        describe(signal)
      }`,
    );
  }
  // Infinity waits for as long as it takes, as no timeout does.
  return { timeout: timeout === Infinity ? undefined : timeout, signal };
}

/**
 * Signals of waits run for another process: such a wait must not keep this
 * process alive (a daemon child waiting on a lock would hold its parent).
 */
export const unrefSignals: WeakSet<AbortSignal> = new WeakSet();
