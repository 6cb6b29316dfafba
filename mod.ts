// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's `multiprocessing` and `threading` for Deno.
 *
 * {@linkcode Process} runs a function in a real OS child process, with
 * Python's meaning: `start()`, `join(timeout)`, `isAlive()`, `terminate()`,
 * `pid`, `name`, `daemon`, `exitCode`. Beyond Python, a child never has more
 * permissions than its parent, never outlives it, and `terminate()` ends
 * everything it started.
 *
 * @example Start a child and wait for it
 * ```ts
 * import { Process } from "@parallel/multiprocessing";
 *
 * export function func(x: number, y: number) {
 *   console.log(x + y);
 * }
 *
 * if (import.meta.main) {
 *   const p = new Process({ target: func, args: [1, 2] });
 *   p.start();
 *   await p.join();
 *   console.log(p.exitCode); // 0
 * }
 * ```
 *
 * @module
 */

export * from "./process.ts";
export * from "./thread.ts";
export * from "./sync.ts";
export * from "./queue.ts";
export * from "./pipe.ts";
export * from "./pool.ts";
export * from "./manager.ts";
export * from "./context.ts";
export * from "./shared_memory.ts";
export * from "./redis_process.ts";
