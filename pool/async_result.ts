// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The pending result of an `…Async` call, and how its callbacks are checked
// and attached.

import { Deadline } from "../_util/timers.ts";
import { describe } from "../_util/repr.ts";
import { checkTimeout } from "../_util/wait_options.ts";
import type { AsyncOptions } from "./options.ts";

/**
 * The result of an `…Async` call (Python's `AsyncResult`). It is also a
 * promise-like: `await` it for the value.
 *
 * @typeParam T The value's type.
 *
 * @example Usage
 * ```ts
 * import { Pool } from "@parallel/multiprocessing/pool";
 *
 * export function square(x: number): number {
 *   return x * x;
 * }
 *
 * if (import.meta.main) {
 *   await using pool = new Pool({ processes: 1 });
 *   const result = pool.applyAsync(square, [3]);
 *   console.log(result.ready()); // false, probably
 *   console.log(await result.get()); // 9
 * }
 * ```
 */
export class AsyncResult<T> implements PromiseLike<T> {
  readonly #promise: Promise<T>;
  #state: "pending" | "fulfilled" | "rejected" = "pending";

  /**
   * Wraps a promise.
   *
   * @param promise The work's promise.
   */
  constructor(promise: Promise<T>) {
    this.#promise = promise;
    promise.then(
      () => this.#state = "fulfilled",
      () => this.#state = "rejected",
    );
  }

  /**
   * Whether the work is done.
   *
   * @returns `true` once it has succeeded or failed.
   */
  ready(): boolean {
    return this.#state !== "pending";
  }

  /**
   * Whether the work succeeded.
   *
   * @returns `true` if it succeeded.
   * @throws {Error} If it is not done yet.
   */
  successful(): boolean {
    if (this.#state === "pending") {
      throw new Error("Cannot tell whether the work succeeded: it is not done");
    }
    return this.#state === "fulfilled";
  }

  /**
   * Waits for the work to be done, at most `timeout` ms.
   *
   * @param timeout How long to wait; for ever when left out. A negative
   * timeout does not wait, as in Python.
   * @returns A promise that resolves when the work is done or the time is up.
   */
  async wait(timeout?: number): Promise<void> {
    const ms = checkTimeout(timeout, "wait for the result", "now");
    await this.#within(ms).catch(() => {});
  }

  /**
   * The value, waiting at most `timeout` ms for it.
   *
   * @param timeout How long to wait; for ever when left out. A negative
   * timeout does not wait, as in Python.
   * @returns The value.
   * @throws {DOMException} A `TimeoutError` if the time is up first.
   */
  get(timeout?: number): Promise<T> {
    try {
      return this.#within(checkTimeout(timeout, "wait for the result", "now"));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The value, or a `TimeoutError` after `timeout` ms (none: no limit). */
  #within(timeout: number | undefined): Promise<T> {
    if (timeout === undefined) return this.#promise;
    let timer: Deadline | undefined;
    return Promise.race([
      this.#promise,
      new Promise<never>((_, reject) => {
        timer = new Deadline(timeout, () =>
          reject(
            new DOMException(
              `The result was not ready within ${timeout} ms`,
              "TimeoutError",
            ),
          ));
      }),
    ]).finally(() => timer?.clear());
  }

  /**
   * Attaches callbacks, as a promise does.
   *
   * @param onfulfilled Called with the value.
   * @param onrejected Called with the error.
   * @returns A promise for the callback's result.
   */
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onfulfilled, onrejected);
  }
}

/**
 * Checks the callbacks, then submits the work and attaches them: a bad
 * callback is refused before any work is sent.
 */
export function withCallbacks<T>(
  options: AsyncOptions<T> | undefined,
  submit: () => Promise<T>,
): AsyncResult<T> {
  const { callback, errorCallback } = options ?? {};
  const callbacks = { callback, errorCallback };
  for (const [name, fn] of Object.entries(callbacks)) {
    if (fn !== undefined && typeof fn !== "function") {
      throw new TypeError(
        `Cannot submit the task: expected ${name} to be a function, received ${
          describe(fn)
        }`,
      );
    }
  }
  const promise = submit();
  promise.then(callback, errorCallback ?? (() => {}));
  return new AsyncResult(promise);
}
