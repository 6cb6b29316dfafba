// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The error of a task whose worker died while running it, registered so
// that it keeps its class when it crosses between processes.

import { registerError } from "../_ipc/crossing.ts";

/**
 * Thrown for a task whose worker died while running it: killed, out of
 * memory, or ended by `Deno.exit()`. The pool replaces the worker.
 *
 * @example Usage
 * ```ts
 * import { BrokenWorkerError } from "@parallel/multiprocessing";
 *
 * const error = new BrokenWorkerError("PoolWorker-1", 42, -9, 7);
 * console.log(error.message);
 * ```
 */
export class BrokenWorkerError extends Error {
  /** The worker's name. */
  readonly worker: string;
  /** The worker's pid (a process) or ident (a thread), if it had one. */
  readonly pid: number | null;
  /** The worker's exit code: `-N` when killed by signal N. */
  readonly exitCode: number | null;
  /** The index of the task in its call, if it was running one. */
  readonly task: number | null;

  /**
   * Creates the error.
   *
   * @param worker The worker's name.
   * @param pid Its pid or ident.
   * @param exitCode Its exit code.
   * @param task The index of the task it was running.
   * @param message What happened, if not the default.
   */
  constructor(
    worker: string,
    pid: number | null,
    exitCode: number | null,
    task: number | null,
    message?: string,
  ) {
    super(
      message ??
        `Cannot finish task${
          task === null ? "" : ` ${task}`
        }: its worker ${worker}${
          pid === null
            ? ""
            : ` (${worker.startsWith("Thread") ? "ident" : "pid"} ${pid})`
        } exited with code ${exitCode} while running it`,
    );
    this.name = "BrokenWorkerError";
    this.worker = worker;
    this.pid = pid;
    this.exitCode = exitCode;
    this.task = task;
  }
}

registerError(BrokenWorkerError);
