// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The API both pools share: the checks of their options and calls, and
// the calls themselves, run on a Scheduler that keeps the workers.

import { describeFunction, inferModules } from "../_runtime/target.ts";
import { START_METHOD } from "../_runtime/options.ts";
import { describe } from "../_util/repr.ts";
import { type AsyncResult, withCallbacks } from "./async_result.ts";
import { checkCount, checkOptions, collect, iterate } from "./_checks.ts";
import { ImapResults, readItems } from "./_imap_results.ts";

/** The fewest tasks an `imap` call reads ahead of its consumer. */
const READ_AHEAD = 64;
import type {
  AsyncOptions,
  MapOptions,
  PoolOptions,
  TaskOptions,
  ThreadPoolOptions,
} from "./options.ts";
import { type Job, Scheduler, type SchedulerOptions } from "./_scheduler.ts";
import { POOL_WORKER_URL } from "./_units.ts";

/**
 * Checks a pool's options and turns them into its scheduler's.
 *
 * @param kind What the workers are.
 * @param options The pool's options.
 * @param stack The stack of the constructor call, to find the caller.
 * @param what The pool's name in messages.
 * @returns What its scheduler needs.
 */
function schedulerOptions(
  kind: "process" | "thread",
  options: PoolOptions | ThreadPoolOptions,
  stack: string,
  what: string,
): SchedulerOptions {
  const [option, size] = kind === "process"
    ? ["processes", (options as PoolOptions | undefined)?.processes]
    : ["threads", (options as ThreadPoolOptions | undefined)?.threads];
  const action = `create ${what}`;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${action}: expected an options object, received ${
        describe(options)
      }`,
    );
  }
  const checkedSize = size === undefined
    ? navigator.hardwareConcurrency || 1
    : checkCount(option, size, action);
  const { initializer, initargs = [], maxTasksPerChild, module } = options;
  const maxTasks = maxTasksPerChild === undefined
    ? undefined
    : checkCount("maxTasksPerChild", maxTasksPerChild, action);
  if (!Array.isArray(initargs)) {
    throw new TypeError(
      `Cannot ${action}: expected initargs to be an array, received ${
        describe(initargs)
      }`,
    );
  }
  if (
    module !== undefined && typeof module !== "string" &&
    !(module instanceof URL)
  ) {
    throw new TypeError(
      `Cannot ${action}: expected module to be a string or a URL, received ${
        describe(module)
      }`,
    );
  }
  const url = module === undefined
    ? inferModules(stack, null)[0]
    : new URL(String(module), inferModules(stack, null)[0]).href;
  return {
    kind,
    size: checkedSize,
    maxTasks,
    module: url,
    setup: {
      modules: url ? [url, POOL_WORKER_URL] : [POOL_WORKER_URL],
      initializer: initializer === undefined
        ? null
        : describeFunction(initializer),
      initargs,
    },
    permissions: kind === "process"
      ? (options as PoolOptions).permissions
      : undefined,
    startMethod:
      (options as Record<symbol, "spawn" | "warm" | undefined>)[START_METHOD],
  };
}

/**
 * The API {@linkcode Pool} and {@linkcode ThreadPool} share (Python's
 * `multiprocessing.pool.Pool`); construct one of those.
 *
 * @example Usage
 * ```ts
 * import { type BasePool, Pool, ThreadPool } from "@parallel/multiprocessing";
 *
 * export function square(x: number): number {
 *   return x * x;
 * }
 *
 * async function squares(pool: BasePool): Promise<number[]> {
 *   return await pool.map(square, [1, 2, 3]);
 * }
 * ```
 */
export abstract class BasePool {
  #workers: Scheduler;
  #what: string;

  /**
   * Checks the options and starts the workers: call it through
   * `new Pool()` or `new ThreadPool()`.
   *
   * @param kind What the workers are.
   * @param options The pool's options.
   * @param stack The stack of the constructor call, to find the caller.
   */
  constructor(
    kind: "process" | "thread",
    options: PoolOptions | ThreadPoolOptions,
    stack: string,
  ) {
    this.#what = kind === "process" ? "pool" : "thread pool";
    this.#workers = new Scheduler(
      schedulerOptions(kind, options, stack, this.#what),
    );
  }

  /** How many workers the pool keeps. */
  get size(): number {
    return this.#workers.size;
  }

  /**
   * Runs `use` on the items: at once for an iterable, once read for an
   * async iterable. A call accepted before `close()` runs to the end.
   */
  #collected<T>(
    action: string,
    items: unknown,
    use: (tasks: unknown[]) => T,
  ): T | Promise<T> {
    const collected = collect(items as Iterable<unknown>, action);
    if (!(collected instanceof Promise)) return use(collected);
    this.#workers.collecting++;
    return collected.then((tasks) => {
      if (this.#workers.state === "terminated") this.#checkRunning(action);
      return use(tasks);
    }).finally(() => {
      this.#workers.collecting--;
      this.#workers.dispatch();
    });
  }

  #checkRunning(action: string): void {
    if (this.#workers.state !== "running") {
      throw new Error(
        `Cannot ${action}: the ${this.#what} is ${this.#workers.state}`,
      );
    }
  }

  /** Runs a list of tasks and resolves with their results in order. */
  #run<R>(
    action: string,
    fn: unknown,
    tasks: unknown[],
    star: boolean,
    options: MapOptions,
    chunksize: number | null,
  ): Promise<R[]> {
    const { promise, resolve, reject } = Promise.withResolvers<R[]>();
    const results = new Array<R>(tasks.length);
    let remaining = tasks.length;
    if (remaining === 0) return Promise.resolve(results);
    let release = () => {};
    const job: Pick<Job, "result" | "fail" | "settled"> = {
      settled: false,
      result: (index, ok, value) => {
        if (!ok) return job.fail(value);
        results[index] = value as R;
        if (--remaining === 0) {
          job.settled = true;
          release();
          resolve(results);
        }
      },
      fail: (error) => {
        if (job.settled) return;
        job.settled = true;
        release();
        reject(error);
      },
    };
    release = this.#workers.submit(
      action,
      fn,
      tasks,
      star,
      options,
      chunksize,
      job,
    );
    return this.#workers.whileBusy(promise);
  }

  /**
   * The chunk size when none is given: guided (null), or Python's fixed
   * `ceil(n / (4 × workers))` when workers retire after `maxTasksPerChild`
   * chunks, as Python counts them, so they retire as often as there.
   */
  #defaultChunksize(n: number): number | null {
    if (this.#workers.maxTasks === undefined) return null;
    return Math.max(1, Math.ceil(n / (this.#workers.size * 4)));
  }

  #mapLike<R>(
    action: string,
    fn: unknown,
    items: unknown,
    star: boolean,
    options: unknown,
  ): Promise<R[]> {
    const checked = checkOptions(options, action);
    this.#checkRunning(action);
    checked.signal?.throwIfAborted();
    return Promise.resolve(this.#collected(action, items, (tasks) => {
      if (star) {
        tasks.forEach((args, i) => {
          if (!Array.isArray(args)) {
            throw new TypeError(
              `Cannot ${action}: expected item ${i} to be an array of arguments, received ${
                describe(args)
              }`,
            );
          }
        });
      }
      return this.#run<R>(
        action,
        fn,
        tasks,
        star,
        checked,
        checked.chunksize ?? this.#defaultChunksize(tasks.length),
      );
    }));
  }

  /**
   * Runs `fn(...args)` in a worker.
   *
   * @param fn The function, exported from its module or self-contained.
   * @param args Its arguments.
   * @param options A timeout and a signal.
   * @returns Its result.
   * @throws {BrokenWorkerError} If its worker died while running it.
   */
  apply<A extends unknown[], R>(
    fn: (...args: A) => R | Promise<R>,
    args: A = [] as unknown as A,
    options?: TaskOptions,
  ): Promise<R> {
    const action = "apply";
    try {
      if (!Array.isArray(args)) {
        throw new TypeError(
          `Cannot ${action}: expected args to be an array, received ${
            describe(args)
          }`,
        );
      }
      const checked = checkOptions(options, action);
      this.#checkRunning(action);
      checked.signal?.throwIfAborted();
      return this.#run<R>(action, fn, [args], true, checked, 1).then((
        [value],
      ) => value);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs `fn(...args)` in a worker without waiting (Python's
   * `apply_async`).
   *
   * @param fn The function.
   * @param args Its arguments.
   * @param options A timeout, a signal and callbacks.
   * @returns Its pending result.
   */
  applyAsync<A extends unknown[], R>(
    fn: (...args: A) => R | Promise<R>,
    args: A = [] as unknown as A,
    options?: AsyncOptions<R>,
  ): AsyncResult<R> {
    return withCallbacks(options, () => this.apply(fn, args, options));
  }

  /**
   * Runs `fn(item)` for every item and resolves with the results in input
   * order. The first task to fail rejects the call.
   *
   * @param fn The function.
   * @param items The inputs: an iterable or async iterable.
   * @param options Chunk size, timeout per task, signal.
   * @returns The results, in input order.
   */
  map<T, R>(
    fn: (item: T) => R | Promise<R>,
    items: Iterable<T> | AsyncIterable<T>,
    options?: MapOptions,
  ): Promise<R[]> {
    try {
      return this.#mapLike<R>("map", fn, items, false, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `map` without waiting (Python's `map_async`).
   *
   * @param fn The function.
   * @param items The inputs.
   * @param options Chunk size, timeout, signal and callbacks.
   * @returns The pending results.
   */
  mapAsync<T, R>(
    fn: (item: T) => R | Promise<R>,
    items: Iterable<T> | AsyncIterable<T>,
    options?: AsyncOptions<R[]>,
  ): AsyncResult<R[]> {
    return withCallbacks(options, () => this.map(fn, items, options));
  }

  /**
   * Runs `fn(...args)` for every array of arguments, results in order.
   *
   * @param fn The function.
   * @param items Arrays of arguments.
   * @param options Chunk size, timeout per task, signal.
   * @returns The results, in input order.
   */
  starmap<A extends unknown[], R>(
    fn: (...args: A) => R | Promise<R>,
    items: Iterable<A> | AsyncIterable<A>,
    options?: MapOptions,
  ): Promise<R[]> {
    try {
      return this.#mapLike<R>("starmap", fn, items, true, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `starmap` without waiting.
   *
   * @param fn The function.
   * @param items Arrays of arguments.
   * @param options Chunk size, timeout, signal and callbacks.
   * @returns The pending results.
   */
  starmapAsync<A extends unknown[], R>(
    fn: (...args: A) => R | Promise<R>,
    items: Iterable<A> | AsyncIterable<A>,
    options?: AsyncOptions<R[]>,
  ): AsyncResult<R[]> {
    return withCallbacks(options, () => this.starmap(fn, items, options));
  }

  /**
   * Runs `fn(item)` for every item and yields the results in input order,
   * each as soon as it and those before it are done. The items are read as
   * the call goes, a few batches ahead of the consumer, so an endless
   * iterable works. A task that throws (or the iterable, at an item) makes
   * the iterator throw in that task's turn, after the results before it.
   *
   * @param fn The function.
   * @param items The inputs.
   * @param options Chunk size (default 1), timeout per task, signal.
   * @returns The results, as they come.
   */
  imap<T, R>(
    fn: (item: T) => R | Promise<R>,
    items: Iterable<T> | AsyncIterable<T>,
    options?: MapOptions,
  ): AsyncIterableIterator<R> {
    return this.#iterate<R>("imap", fn, items, options, true);
  }

  /**
   * Runs `fn(item)` for every item and yields the results in the order
   * they are done. The items are read as for {@linkcode BasePool.imap}; a
   * task that throws makes the iterator throw when its outcome comes.
   *
   * @param fn The function.
   * @param items The inputs.
   * @param options Chunk size (default 1), timeout per task, signal.
   * @returns The results, as they come.
   */
  imapUnordered<T, R>(
    fn: (item: T) => R | Promise<R>,
    items: Iterable<T> | AsyncIterable<T>,
    options?: MapOptions,
  ): AsyncIterableIterator<R> {
    return this.#iterate<R>("imapUnordered", fn, items, options, false);
  }

  #iterate<R>(
    action: string,
    fn: unknown,
    items: unknown,
    options: unknown,
    ordered: boolean,
  ): AsyncIterableIterator<R> {
    const checked = checkOptions(options, action);
    this.#checkRunning(action);
    const results = new ImapResults<R>(ordered);
    const started = this.#startIterating(action, fn, items, checked, results);
    return results.results(
      started,
      (waiting) => this.#workers.whileBusy(waiting),
    );
  }

  /**
   * Opens an `imap` call and reads its items as it goes (see
   * `readItems`), their outcomes going to `results`.
   *
   * @returns A promise that resolves once the call is open, or rejects if
   * it cannot be; never unhandled.
   */
  #startIterating<R>(
    action: string,
    fn: unknown,
    items: unknown,
    checked: MapOptions,
    results: ImapResults<R>,
  ): Promise<void> {
    let started: Promise<void>;
    try {
      const source = iterate(items as Iterable<unknown>, action);
      results.release = this.#workers.open(
        action,
        fn,
        false,
        checked,
        results.job,
      );
      const chunksize = checked.chunksize ?? 1;
      // Python's task handler reads ahead without a bound; this reads a
      // few batches per worker ahead of the consumer.
      const ahead = Math.max(READ_AHEAD, 4 * this.size * chunksize);
      this.#workers.collecting++;
      this.#workers.reading.add(results.job);
      readItems(
        source,
        results,
        (start, args) => this.#workers.add(results.job, start, args),
        chunksize,
        ahead,
      ).finally(() => {
        this.#workers.collecting--;
        this.#workers.reading.delete(results.job);
        this.#workers.dispatch();
      });
      started = Promise.resolve();
    } catch (error) {
      started = Promise.reject(error);
    }
    started.catch(() => {});
    return started;
  }

  /** Takes no more work; the workers exit once the queued work is done. */
  close(): void {
    this.#workers.close();
  }

  /**
   * Stops at once: kills the workers and rejects the work not yet done.
   *
   * @returns A promise that resolves once the workers have exited.
   */
  async terminate(): Promise<void> {
    if (this.#workers.state !== "terminated") {
      this.#workers.terminate(
        new Error(`Cannot finish the task: the ${this.#what} was terminated`),
      );
    }
    await this.join();
  }

  /**
   * Waits for the workers to exit, after `close()` or `terminate()`.
   *
   * @returns A promise that resolves once every worker has exited.
   * @throws {Error} If the pool is still running.
   */
  async join(): Promise<void> {
    if (this.#workers.state === "running") {
      throw new Error(
        `Cannot join the ${this.#what}: it is still running; call close() or terminate() first`,
      );
    }
    await this.#workers.exited();
  }

  /** Terminates the pool and waits for its workers, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }
}
