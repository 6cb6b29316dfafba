// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Timers past setTimeout's 2^31 - 1 ms limit, and a ticker that keeps
// nothing alive.

import { denoInternals } from "./deno.ts";

/** The longest delay setTimeout takes. */
export const MAX_TIMER = 2 ** 31 - 1;

/**
 * A timer for any delay: setTimeout takes at most 2^31 - 1 ms, so longer
 * ones are chained. `unref` keeps it from holding the event loop.
 */
export class Deadline {
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Arms the timer.
   *
   * @param ms The delay in milliseconds.
   * @param fire What to run when it is over.
   * @param unref Whether the timer lets the event loop end.
   */
  constructor(ms: number, fire: () => void, unref = false) {
    const end = performance.now() + ms;
    const arm = () => {
      const left = end - performance.now();
      this.#timer = setTimeout(
        left > MAX_TIMER ? arm : fire,
        Math.max(0, Math.min(left, MAX_TIMER)),
      );
      if (unref) Deno.unrefTimer(this.#timer);
    };
    arm();
  }

  /** Disarms the timer. */
  clear(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * Resolves when `promise` settles or `timeout` ms pass; rejects with the
 * signal's reason if it aborts first. Cleans up its timer and listener.
 */
export function settle(
  promise: Promise<void>,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (timeout === undefined && signal === undefined) return promise;
  return new Promise<void>((resolve, reject) => {
    const deadline = timeout === undefined ? undefined : new Deadline(
      timeout,
      done,
    );
    const onAbort = () => {
      cleanup();
      reject(signal!.reason);
    };
    function cleanup() {
      deadline?.clear();
      signal?.removeEventListener("abort", onAbort);
    }
    function done() {
      cleanup();
      resolve();
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(done, (error) => {
      cleanup();
      reject(error);
    });
  });
}

interface CoreTimers {
  createTimer?(
    callback: () => void,
    after: number,
    args: undefined,
    repeat: boolean,
    refed: boolean,
  ): unknown;
}

/**
 * Starts a timer on Deno's core timers where they can be reached: in Deno
 * 2.9 the first `setTimeout` or `setInterval` of a program or worker loads
 * Node's timers (about 8 ms), which a child or thread that starts and ends
 * at once would pay for one timer.
 *
 * @returns Whether it could.
 */
function coreTimer(
  callback: () => void,
  ms: number,
  repeat: boolean,
  refed: boolean,
): boolean {
  const core = denoInternals().core as CoreTimers | undefined;
  if (typeof core?.createTimer !== "function") return false;
  core.createTimer(callback, ms, undefined, repeat, refed);
  return true;
}

/**
 * Calls `callback` every `ms` ms without keeping the event loop alive.
 *
 * @param callback What to call.
 * @param ms The interval in milliseconds.
 */
export function unrefInterval(callback: () => void, ms: number): void {
  if (!coreTimer(callback, ms, true, false)) {
    Deno.unrefTimer(setInterval(callback, ms));
  }
}
