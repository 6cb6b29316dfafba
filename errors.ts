// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * The package's errors, in one place: each is registered for transport
 * beside its class, so that one thrown in a child, a thread or a pool
 * worker comes back to the caller as an instance of the same class, with
 * its message, stack and cause. Each is also exported by the entry point
 * of the API that throws it.
 *
 * @example Catch a queue's Empty
 * ```ts
 * import { Empty } from "@parallel/multiprocessing/errors";
 * import { Queue } from "@parallel/multiprocessing";
 * import { assertRejects } from "@std/assert";
 *
 * await assertRejects(() => new Queue().getNowait(), Empty);
 * ```
 *
 * @module
 */

import { registerError } from "./_ipc/error_classes.ts";

/**
 * Error for a target that a child cannot find or rebuild: a subclass whose
 * module is unknown (thrown by `start()`), or, in the child, a target that
 * is not exported and not self-contained.
 *
 * @example Catch it around start()
 * ```ts
 * import { TargetNotFoundError } from "@parallel/multiprocessing";
 *
 * const error = new TargetNotFoundError("export `func` from file:///x.ts");
 * console.log(error.name); // "TargetNotFoundError"
 * ```
 */
export class TargetNotFoundError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was looked for and how to fix it.
   * @param options The underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TargetNotFoundError";
  }
}

registerError(TargetNotFoundError);

/**
 * Thrown by `putNowait()`, or by `put()` after its timeout, when the queue
 * is full (Python's `queue.Full`).
 *
 * @example Usage
 * ```ts
 * import { Full, Queue } from "@parallel/multiprocessing";
 * import { assertRejects } from "@std/assert";
 *
 * const queue = new Queue(1);
 * await queue.put("a");
 * await assertRejects(() => queue.putNowait("b"), Full);
 * ```
 */
export class Full extends Error {
  /**
   * Creates the error.
   *
   * @param message What was full.
   */
  constructor(message = "Cannot put: the queue is full") {
    super(message);
    this.name = "Full";
  }
}

registerError(Full);

/**
 * Thrown by `getNowait()`, or by `get()` after its timeout, when the queue
 * is empty (Python's `queue.Empty`).
 *
 * @example Usage
 * ```ts
 * import { Empty, Queue } from "@parallel/multiprocessing";
 * import { assertRejects } from "@std/assert";
 *
 * await assertRejects(() => new Queue().getNowait(), Empty);
 * ```
 */
export class Empty extends Error {
  /**
   * Creates the error.
   *
   * @param message What was empty.
   */
  constructor(message = "Cannot get: the queue is empty") {
    super(message);
    this.name = "Empty";
  }
}

registerError(Empty);

/**
 * Thrown by `recv()` when the other end is closed and nothing is left to
 * read (Python's `EOFError`).
 *
 * @example Usage
 * ```ts
 * import { EOFError, Pipe } from "@parallel/multiprocessing";
 * import { assertRejects } from "@std/assert";
 *
 * const [a, b] = Pipe();
 * b.close();
 * await assertRejects(() => a.recv(), EOFError);
 * ```
 */
export class EOFError extends Error {
  /**
   * Creates the error.
   *
   * @param message What ended.
   */
  constructor(message = "Cannot receive: the other end is closed") {
    super(message);
    this.name = "EOFError";
  }
}

registerError(EOFError);

/**
 * Thrown when the link to the process or thread that owns a shared object
 * is gone: the owner exited, or this side was closed.
 *
 * @example Usage
 * ```ts
 * import { BrokenPipeError } from "@parallel/multiprocessing";
 *
 * const error = new BrokenPipeError("Cannot reach the owner of Queue 1");
 * console.log(error.name); // "BrokenPipeError"
 * ```
 */
export class BrokenPipeError extends Error {
  /**
   * Creates the error.
   *
   * @param message What could not be reached.
   * @param options The underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BrokenPipeError";
  }
}

registerError(BrokenPipeError);

/**
 * Error from {@linkcode Barrier.wait} when the barrier is broken: by a
 * timeout, an abort, {@linkcode Barrier.abort} or {@linkcode Barrier.reset},
 * as Python's `threading.BrokenBarrierError`.
 *
 * @example Catch it
 * ```ts
 * import { Barrier, BrokenBarrierError } from "@parallel/multiprocessing/sync";
 * import { assertRejects } from "@std/assert";
 *
 * const barrier = new Barrier(2);
 * await assertRejects(() => barrier.wait(10), BrokenBarrierError);
 * ```
 */
export class BrokenBarrierError extends Error {
  /**
   * Creates the error.
   *
   * @param message What broke the barrier.
   * @param options The underlying error, if any.
   */
  constructor(
    message = "Cannot wait on a broken barrier",
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "BrokenBarrierError";
  }
}

registerError(BrokenBarrierError);

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

/**
 * Thrown for a pool task whose result (or error) cannot travel back from
 * its worker, as Python's `multiprocessing.pool.MaybeEncodingError`: the
 * task fails with it, and the worker and the pool go on. `cause` is the
 * clone error.
 *
 * @example Usage
 * ```ts
 * import { MaybeEncodingError } from "@parallel/multiprocessing";
 *
 * const error = new MaybeEncodingError("a function", "could not be cloned");
 * console.log(error.message);
 * ```
 */
export class MaybeEncodingError extends Error {
  /** What could not be sent, as its description. */
  readonly value: string;

  /**
   * Creates the error.
   *
   * @param value What could not be sent, described.
   * @param reason Why, as the clone error says it.
   * @param options The clone error, as `cause`.
   */
  constructor(value: string, reason: string, options?: ErrorOptions) {
    super(`Error sending result: ${value}. Reason: ${reason}`, options);
    this.name = "MaybeEncodingError";
    this.value = value;
  }
}

registerError(MaybeEncodingError);
