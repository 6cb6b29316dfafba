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

/** The `data:` entry of a new worker: the runtime, then its modules. */
export function workerEntryUrl(modules: string[]): string {
  const names = modules.map((_, i) => `m${i}`);
  const lines = [
    'import { parentPort } from "node:worker_threads";',
    // Imported here, one after another, so that a module that cannot load
    // is an exception of this thread, said once (uncaught, Deno would print
    // it with this entry's URL as well).
    "try {",
    `  const { runThread } = await import(${
      JSON.stringify(THREAD_ENTRY_URL)
    });`,
    ...modules.map((url, i) =>
      `  const ${names[i]} = await import(${JSON.stringify(url)});`
    ),
    `  await runThread([${names.join(", ")}]);`,
    // A module that failed to load: the error as structured clone keeps it
    // (built-in classes, message, stack); the runtime sends its own.
    "} catch (error) {",
    "  const sent = error instanceof Error ? error : new Error(String(error));",
    "  try {",
    '    parentPort.postMessage({ kind: "exception", error: sent, classAt: null });',
    "  } catch {",
    '    parentPort.postMessage({ kind: "exception", error: new Error(String(sent.stack ?? sent)), classAt: null });',
    "  }",
    '  parentPort.postMessage({ kind: "end", code: 1 });',
    "}",
    // Here, not in the runtime: see runThread.
    "globalThis.close();",
  ];
  return `data:text/javascript,${encodeURIComponent(lines.join("\n"))}`;
}
