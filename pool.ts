// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's `multiprocessing.Pool` over child processes, and
 * `multiprocessing.pool.ThreadPool` over threads, with one API: `apply`,
 * `map`, `imap`, `imapUnordered`, `starmap` and their `Async` forms.
 *
 * Beyond Python: a worker that dies mid-task is replaced and its task
 * rejects with {@linkcode BrokenWorkerError} (the pool never hangs); a task
 * may have a `timeout`, after which it rejects with a `TimeoutError` and its
 * worker is killed and replaced; a `signal` cancels queued and running
 * tasks; errors keep their class name, message, stack and cause.
 *
 * @example Squares in four processes
 * ```ts
 * import { Pool } from "@parallel/multiprocessing";
 *
 * export function square(x: number): number {
 *   return x * x;
 * }
 *
 * if (import.meta.main) {
 *   await using pool = new Pool({ processes: 4 });
 *   console.log(await pool.map(square, [1, 2, 3])); // [1, 4, 9]
 * }
 * ```
 *
 * @module
 */

export { AsyncResult } from "./pool/async_result.ts";
export { BasePool } from "./pool/base_pool.ts";
export { BrokenWorkerError, MaybeEncodingError } from "./errors.ts";
export type {
  AsyncOptions,
  BasePoolOptions,
  MapOptions,
  PoolOptions,
  TaskOptions,
  ThreadPoolOptions,
} from "./pool/options.ts";
export { Pool, ThreadPool } from "./pool/pools.ts";
