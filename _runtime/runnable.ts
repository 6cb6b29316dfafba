// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The contract Process and Thread share, and the options of their join().

/** Options for {@linkcode Process.prototype.join}. */
export interface JoinOptions {
  /**
   * How long to wait in milliseconds. When it passes, `join()` resolves with
   * the child still running, as in Python.
   *
   * @default {undefined} (wait for as long as it takes)
   */
  timeout?: number;
  /**
   * Aborting this signal rejects the wait with `signal.reason`; the child
   * goes on.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * The contract {@linkcode Process} and `Thread` share, as tinypool's two
 * runtimes share one: start, wait, ask, name, stop. Code that takes either
 * can take a `Runnable`.
 */
export interface Runnable {
  /** The name, for humans. */
  readonly name: string;
  /** Whether it ends with its parent rather than keeping it alive. */
  readonly daemon: boolean;
  /** The pid of a process, the package-given ident of a thread. */
  readonly ident: number | null;
  /** `null` until it has ended; then 0 on success, 1 on error, `-N` when stopped. */
  readonly exitCode: number | null;
  /** Starts it; synchronous. */
  start(): void;
  /** Waits for it to end, or for the timeout. */
  join(options?: number | JoinOptions): Promise<void>;
  /** Whether it has started and not ended. */
  isAlive(): boolean;
  /** Stops it. */
  terminate(): void | Promise<void>;
  /** What it runs. */
  run(): unknown;
}
