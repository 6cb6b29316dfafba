// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The options of the pools and of the calls that submit work to them.

import type { ChildPermissions } from "../_runtime/permissions.ts";

/** Options of every way to submit work. */
export interface TaskOptions {
  /**
   * How long one task may run, in milliseconds. A task over time rejects
   * with a `DOMException` named `TimeoutError`, and its worker is killed and
   * replaced.
   *
   * @default {Infinity}
   */
  timeout?: number;
  /**
   * Cancels the work: queued tasks are dropped, running ones have their
   * workers killed and replaced, and the call rejects with the reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** Options of `map`, `imap` and their kin. */
export interface MapOptions extends TaskOptions {
  /**
   * How many tasks travel to a worker together. Without it, `map` and
   * `starmap` start from Python's choice, `ceil(n / (4 × workers))`, and
   * shrink each next chunk to a quarter of what is left per worker, so that
   * no worker idles at the end while another finishes a large chunk (guided
   * scheduling), or keep it when workers retire after `maxTasksPerChild`
   * chunks; `imap` and `imapUnordered` send 1, so results come as soon as
   * each is done.
   *
   * @default {undefined}
   */
  chunksize?: number;
}

/** Options of `applyAsync`, `mapAsync` and `starmapAsync`. */
export interface AsyncOptions<T> extends MapOptions {
  /**
   * Called with the result on success.
   *
   * @default {undefined}
   */
  callback?: (value: T) => void;
  /**
   * Called with the error on failure.
   *
   * @default {undefined}
   */
  errorCallback?: (error: unknown) => void;
}

/** Options shared by {@linkcode Pool} and {@linkcode ThreadPool}. */
export interface BasePoolOptions {
  /**
   * Runs once in each worker before its first task.
   *
   * @default {undefined}
   */
  initializer?: (...args: never[]) => unknown;
  /**
   * The arguments of `initializer`.
   *
   * @default {[]}
   */
  initargs?: unknown[];
  /**
   * How many tasks (a chunk counts as one, as in Python) a worker runs
   * before it is replaced by a new one; unlimited when left out.
   *
   * @default {undefined}
   */
  maxTasksPerChild?: number;
  /**
   * The module that exports the functions the workers run; by default the
   * module that creates the pool.
   *
   * @default {undefined}
   */
  module?: string | URL;
}

/** Options of {@linkcode Pool}. */
export interface PoolOptions extends BasePoolOptions {
  /**
   * How many worker processes to run.
   *
   * @default {navigator.hardwareConcurrency}
   */
  processes?: number;
  /**
   * The permissions of each worker process; see `ProcessOptions`.
   *
   * @default {"inherit"}
   */
  permissions?: ChildPermissions;
}

/** Options of {@linkcode ThreadPool}. */
export interface ThreadPoolOptions extends BasePoolOptions {
  /**
   * How many worker threads to run.
   *
   * @default {navigator.hardwareConcurrency}
   */
  threads?: number;
}
