// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The two concrete pools: Pool over child processes, ThreadPool over
// threads. Both are a BasePool; only their workers differ.

import { BasePool } from "./base_pool.ts";
import type { PoolOptions, ThreadPoolOptions } from "./options.ts";

/**
 * A pool of worker processes (Python's `multiprocessing.Pool`). Functions
 * run in the workers as a `Process` target does: exported from their
 * module (by default the one creating the pool), or self-contained.
 *
 * @example Usage
 * ```ts
 * import { Pool } from "@parallel/multiprocessing";
 *
 * export function square(x: number): number {
 *   return x * x;
 * }
 *
 * if (import.meta.main) {
 *   await using pool = new Pool({ processes: 2 });
 *   console.log(await pool.map(square, [1, 2, 3])); // [1, 4, 9]
 * }
 * ```
 */
export class Pool extends BasePool {
  /**
   * Creates the pool and starts its workers.
   *
   * @param options The pool's size, initializer, recycling and permissions;
   * or, as Python's `Pool(4)`, the number of processes.
   * @throws {TypeError} If an option has the wrong type.
   * @throws {RangeError} If a count is below 1.
   */
  constructor(options: PoolOptions | number = {}) {
    super(
      "process",
      typeof options === "number" ? { processes: options } : options,
      new Error().stack ?? "",
    );
  }
}

/**
 * A pool of worker threads (Python's `multiprocessing.pool.ThreadPool`),
 * with the API of {@linkcode Pool}.
 *
 * @example Usage
 * ```ts
 * import { ThreadPool } from "@parallel/multiprocessing";
 *
 * export function square(x: number): number {
 *   return x * x;
 * }
 *
 * if (import.meta.main) {
 *   await using pool = new ThreadPool({ threads: 2 });
 *   console.log(await pool.map(square, [1, 2, 3])); // [1, 4, 9]
 * }
 * ```
 */
export class ThreadPool extends BasePool {
  /**
   * Creates the pool and starts its threads.
   *
   * @param options The pool's size, initializer and recycling; or, as
   * Python's `ThreadPool(4)`, the number of threads.
   * @throws {TypeError} If an option has the wrong type.
   * @throws {RangeError} If a count is below 1.
   */
  constructor(options: ThreadPoolOptions | number = {}) {
    super(
      "thread",
      typeof options === "number" ? { threads: options } : options,
      new Error().stack ?? "",
    );
  }
}
