// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// `node:worker_threads`, loaded on demand, and the thread runtime's URL.

/**
 * `node:worker_threads`' Worker, loaded on the first start: importing it
 * up front would cost every program that imports this package ~15 ms of
 * start-up, thread or no thread. `process.getBuiltinModule` loads it
 * synchronously, as `start()` must be.
 */
export function workerThreads(): typeof import("node:worker_threads") {
  const process = (globalThis as {
    process?: { getBuiltinModule?(id: string): unknown };
  }).process;
  const threads = process?.getBuiltinModule?.("node:worker_threads") as
    | typeof import("node:worker_threads")
    | undefined;
  if (!threads) {
    throw new Error(
      "Cannot start a thread: node:worker_threads is not available in this runtime",
    );
  }
  return threads;
}

/** The thread runtime every worker imports first. */
export const THREAD_ENTRY_URL =
  new URL("./thread_entry.ts", import.meta.url).href;
