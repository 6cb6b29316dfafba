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

import { broker, type Call } from "./_ipc/broker.ts";
import { EXTRA_MODULES } from "./_runtime/options.ts";
import { Deadline } from "./_util/timers.ts";
import {
  type Chunk,
  chunkRanges,
  FEED_KIND,
  poolWorker,
  type WorkerSetup,
} from "./pool/_worker_loop.ts";
import { registerError, toRemote } from "./_ipc/crossing.ts";
import { EXITED, runtime, type TargetRef } from "./_runtime/state.ts";
import { describeFunction, inferModules } from "./_runtime/target.ts";
import { describe } from "./_util/repr.ts";
import { type ChildPermissions, Process } from "./process.ts";
import { Thread } from "./thread.ts";

const POOL_WORKER_URL = new URL("./pool/_worker_loop.ts", import.meta.url).href;

/** How many workers died before starting in a row before work fails. */
const START_FAILURES = 3;

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

/**
 * The result of an `…Async` call (Python's `AsyncResult`). It is also a
 * promise-like: `await` it for the value.
 *
 * @typeParam T The value's type.
 *
 * @example Usage
 * ```ts
 * import { Pool } from "@parallel/multiprocessing/pool";
 *
 * export function square(x: number): number {
 *   return x * x;
 * }
 *
 * if (import.meta.main) {
 *   await using pool = new Pool({ processes: 1 });
 *   const result = pool.applyAsync(square, [3]);
 *   console.log(result.ready()); // false, probably
 *   console.log(await result.get()); // 9
 * }
 * ```
 */
export class AsyncResult<T> implements PromiseLike<T> {
  readonly #promise: Promise<T>;
  #state: "pending" | "fulfilled" | "rejected" = "pending";

  /**
   * Wraps a promise.
   *
   * @param promise The work's promise.
   */
  constructor(promise: Promise<T>) {
    this.#promise = promise;
    promise.then(
      () => this.#state = "fulfilled",
      () => this.#state = "rejected",
    );
  }

  /**
   * Whether the work is done.
   *
   * @returns `true` once it has succeeded or failed.
   */
  ready(): boolean {
    return this.#state !== "pending";
  }

  /**
   * Whether the work succeeded.
   *
   * @returns `true` if it succeeded.
   * @throws {Error} If it is not done yet.
   */
  successful(): boolean {
    if (this.#state === "pending") {
      throw new Error("Cannot tell whether the work succeeded: it is not done");
    }
    return this.#state === "fulfilled";
  }

  /**
   * Waits for the work to be done, at most `timeout` ms.
   *
   * @param timeout How long to wait; for ever when left out.
   * @returns A promise that resolves when the work is done or the time is up.
   */
  async wait(timeout?: number): Promise<void> {
    checkTimeout(timeout, "wait for the result");
    await this.#within(timeout).catch(() => {});
  }

  /**
   * The value, waiting at most `timeout` ms for it.
   *
   * @param timeout How long to wait; for ever when left out.
   * @returns The value.
   * @throws {DOMException} A `TimeoutError` if the time is up first.
   */
  get(timeout?: number): Promise<T> {
    return this.#within(timeout);
  }

  #within(timeout: number | undefined): Promise<T> {
    try {
      checkTimeout(timeout, "wait for the result");
    } catch (error) {
      return Promise.reject(error);
    }
    if (timeout === undefined || timeout === Infinity) return this.#promise;
    let timer: Deadline | undefined;
    return Promise.race([
      this.#promise,
      new Promise<never>((_, reject) => {
        timer = new Deadline(timeout, () =>
          reject(
            new DOMException(
              `The result was not ready within ${timeout} ms`,
              "TimeoutError",
            ),
          ));
      }),
    ]).finally(() => timer?.clear());
  }

  /**
   * Attaches callbacks, as a promise does.
   *
   * @param onfulfilled Called with the value.
   * @param onrejected Called with the error.
   * @returns A promise for the callback's result.
   */
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onfulfilled, onrejected);
  }
}

/** One call's tasks, as the pool tracks them. */
interface Job {
  fn: number;
  star: boolean;
  timeout: number | undefined;
  settled: boolean;
  /** Takes one task's outcome. */
  result(index: number, ok: boolean, value: unknown): void;
  /** Ends the call with an error; later outcomes are ignored. */
  fail(error: unknown): void;
}

/** Tasks that travel to a worker together. */
interface Batch {
  id: number;
  job: Job;
  /** The index of the first task in its call. */
  start: number;
  args: unknown[];
  /** How many of its tasks have an outcome. */
  done: number;
}

/** What a Process or Thread worker offers the pool. */
interface Unit {
  readonly name: string;
  readonly pid?: number | null;
  readonly ident: number | null;
  readonly exitCode: number | null;
  start(): void;
  join(options?: { signal?: AbortSignal }): Promise<void>;
  [EXITED](): Promise<void>;
}

interface Slot {
  id: number;
  unit: Unit;
  /** Batches handed to the worker and not finished, in order. */
  batches: Batch[];
  handed: number;
  ready: boolean;
  known: Set<number>;
  waiting: ((chunk: Chunk) => void) | null;
  timer: Deadline | undefined;
  /** Killed by the pool (timeout, cancel, terminate): no BrokenWorkerError. */
  doomed: boolean;
}

type State = "running" | "closed" | "terminated";

function checkTimeout(timeout: unknown, action: string): void {
  if (timeout === undefined) return;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(
      `Cannot ${action}: expected timeout to be a number of milliseconds, received ${
        describe(timeout)
      }`,
    );
  }
  if (timeout < 0) {
    throw new RangeError(
      `Cannot ${action}: expected timeout to be >= 0, received ${timeout}`,
    );
  }
}

function checkCount(option: string, value: unknown, action: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(
      `Cannot ${action}: expected ${option} to be an integer, received ${
        describe(value)
      }`,
    );
  }
  if (value < 1) {
    throw new RangeError(
      `Cannot ${action}: expected ${option} to be >= 1, received ${value}`,
    );
  }
  return value;
}

function checkOptions(options: unknown, action: string): MapOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${action}: expected an options object, received ${
        describe(options)
      }`,
    );
  }
  const { timeout, signal, chunksize } = options as MapOptions;
  checkTimeout(timeout, action);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${action}: expected signal to be an AbortSignal, received ${
        describe(signal)
      }`,
    );
  }
  if (chunksize !== undefined) checkCount("chunksize", chunksize, action);
  return options as MapOptions;
}

/** The items of an iterable now, or of an async iterable later. */
function collect<T>(
  items: Iterable<T> | AsyncIterable<T>,
  action: string,
): T[] | Promise<T[]> {
  if (items !== null && typeof items === "object") {
    if (Symbol.asyncIterator in items) return Array.fromAsync(items);
    if (Symbol.iterator in items) return [...items];
  }
  if (typeof items === "string") return [...items as Iterable<T>];
  throw new TypeError(
    `Cannot ${action}: expected an iterable or async iterable, received ${
      describe(items)
    }`,
  );
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
  #size: number;
  #state: State = "running";
  #queue: Batch[] = [];
  #slots = new Map<number, Slot>();
  #nextSlot = 1;
  #nextBatch = 1;
  /** Each function's key: its index here, where its description is. */
  #fnKeys = new Map<unknown, number>();
  #fnRefs: TargetRef[] = [];
  #maxTasks: number | undefined;
  #setup: Omit<WorkerSetup, "id">;
  #startFailures = 0;
  #exits = new Set<Promise<void>>();
  /** Calls accepted whose async iterable is still being read. */
  #collecting = 0;
  /** How many callers wait on results; while any do, the workers are held. */
  #busy = 0;
  #holding: AbortController | null = null;
  #what: string;
  #kind: "process" | "thread";
  #permissions: ChildPermissions | undefined;
  /** The module that exports the tasks' functions, if known. */
  #module: string | undefined;

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
    this.#kind = kind;
    const what = kind === "process" ? "pool" : "thread pool";
    const [option, size] = kind === "process"
      ? ["processes", (options as PoolOptions | undefined)?.processes]
      : ["threads", (options as ThreadPoolOptions | undefined)?.threads];
    this.#what = what;
    const action = `create ${what}`;
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot ${action}: expected an options object, received ${
          describe(options)
        }`,
      );
    }
    this.#size = size === undefined
      ? navigator.hardwareConcurrency || 1
      : checkCount(option, size, action);
    const { initializer, initargs = [], maxTasksPerChild, module } = options;
    if (maxTasksPerChild !== undefined) {
      this.#maxTasks = checkCount("maxTasksPerChild", maxTasksPerChild, action);
    }
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
    this.#module = module === undefined
      ? inferModules(stack, null)[0]
      : new URL(String(module), inferModules(stack, null)[0]).href;
    this.#setup = {
      modules: this.#module
        ? [this.#module, POOL_WORKER_URL]
        : [POOL_WORKER_URL],
      initializer: initializer === undefined
        ? null
        : describeFunction(initializer),
      initargs,
    };
    this.#permissions = kind === "process"
      ? (options as PoolOptions).permissions
      : undefined;
    for (let i = 0; i < this.#size; i++) this.#spawn();
  }

  /**
   * Keeps this process alive while `waiting` is pending: its workers are
   * daemons and unref'd, and a caller waiting on results must not see the
   * event loop end under it (say, while a dead worker is replaced).
   */
  async #whileBusy<T>(waiting: Promise<T>): Promise<T> {
    if (this.#busy++ === 0) {
      this.#holding = new AbortController();
      for (const slot of this.#slots.values()) this.#hold(slot);
    }
    try {
      return await broker().whileWaiting(waiting);
    } finally {
      if (--this.#busy === 0) {
        this.#holding?.abort();
        this.#holding = null;
      }
    }
  }

  /** Holds the event loop for a worker until the pool is idle again. */
  #hold(slot: Slot): void {
    if (!this.#holding) return;
    slot.unit.join({ signal: this.#holding.signal }).catch(() => {});
  }

  /** Makes one worker running `poolWorker(feed, setup)`. */
  #makeUnit(args: [unknown, WorkerSetup], number: number): Unit {
    const common = {
      target: poolWorker as (...args: unknown[]) => unknown,
      args,
      daemon: true,
      ...(this.#module ? { module: this.#module } : {}),
      [EXTRA_MODULES]: [POOL_WORKER_URL],
    };
    return this.#kind === "process"
      ? new Process({
        ...common,
        name: `PoolWorker-${number}`,
        permissions: this.#permissions,
      } as never)
      : new Thread({ ...common, name: `ThreadPoolWorker-${number}` } as never);
  }

  /** Kills a worker now. */
  #killUnit(unit: Unit): void {
    if (unit instanceof Process) unit.kill();
    else void (unit as Thread).terminate();
  }

  /** How many workers the pool keeps. */
  get size(): number {
    return this.#size;
  }

  /** The pool's feed: what its workers pull from and post to. */
  #feed = {
    [toRemote]: () =>
      broker().export(this.#feed, FEED_KIND, () => ({
        handle: (op: string, args: unknown[], call: Call) =>
          this.#handle(op, args, call),
      }), null),
  };

  #handle(op: string, args: unknown[], call: Call): unknown {
    const slot = this.#slots.get(args[0] as number);
    switch (op) {
      case "next":
        if (!slot) return ["stop"];
        return this.#next(slot, call.signal);
      case "ready":
        if (slot) {
          slot.ready = true;
          this.#startFailures = 0;
        }
        return;
      case "result": {
        const [, batchId, index, ok, value] = args as [
          number,
          number,
          number,
          boolean,
          unknown,
        ];
        if (slot) this.#result(slot, batchId, index, ok, value);
        return;
      }
      case "results": {
        // Plain results of one batch, in order (see _pool_worker.ts).
        const [, batchId, indices, values] = args as [
          number,
          number,
          number[],
          unknown[],
        ];
        for (let i = 0; slot && i < indices.length; i++) {
          this.#result(slot, batchId, indices[i], true, values[i]);
        }
        return;
      }
    }
  }

  #next(slot: Slot, signal: AbortSignal): Chunk | Promise<Chunk> {
    const chunk = this.#take(slot);
    if (chunk) return chunk;
    return new Promise<Chunk>((resolve, reject) => {
      const onAbort = () => {
        slot.waiting = null;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      slot.waiting = (chunk) => {
        signal.removeEventListener("abort", onAbort);
        slot.waiting = null;
        resolve(chunk);
      };
    });
  }

  /** The next chunk for `slot`: a batch, a stop, or null to wait. */
  #take(slot: Slot): Chunk | null {
    const retire = this.#maxTasks !== undefined &&
      slot.handed >= this.#maxTasks;
    if (retire || this.#state === "terminated") return ["stop"];
    // A worker asks for its next batch while it runs one. It gets it only
    // when there is more than enough for the others: near the end of the
    // work, it waits for its current batch to end instead, so no task waits
    // behind a long one while another worker is idle.
    while (this.#queue[0]?.job.settled) this.#queue.shift();
    const drained = this.#state === "closed" && this.#collecting === 0;
    if (slot.batches.length > 0 && this.#queue.length <= this.#slots.size) {
      return this.#queue.length === 0 && drained ? ["stop"] : null;
    }
    const batch = this.#queue.shift();
    if (!batch) return drained ? ["stop"] : null;
    slot.batches.push(batch);
    slot.handed++;
    if (slot.batches.length === 1) this.#arm(slot);
    const key = batch.job.fn;
    const ref = slot.known.has(key) ? null : this.#fnRefs[key];
    slot.known.add(key);
    return ["run", batch.id, key, ref, batch.args, batch.job.star];
  }

  /** Hands queued batches to waiting workers. */
  #dispatch(): void {
    for (const slot of this.#slots.values()) {
      if (!slot.waiting) continue;
      const chunk = this.#take(slot);
      if (chunk) slot.waiting(chunk);
    }
  }

  #result(
    slot: Slot,
    batchId: number,
    index: number,
    ok: boolean,
    value: unknown,
  ): void {
    const batch = slot.batches.find((batch) => batch.id === batchId);
    if (!batch) return;
    batch.done = index + 1;
    if (!batch.job.settled) batch.job.result(batch.start + index, ok, value);
    if (batch.done === batch.args.length) {
      slot.batches.splice(slot.batches.indexOf(batch), 1);
      // Its request for more may have been held back.
      if (slot.batches.length === 0) this.#dispatch();
    }
    this.#arm(slot);
  }

  /** Times the task `slot` runs now, if its call has a timeout. */
  #arm(slot: Slot): void {
    slot.timer?.clear();
    slot.timer = undefined;
    const batch = slot.batches[0];
    const timeout = batch?.job.timeout;
    if (timeout === undefined || slot.doomed) return;
    const index = batch.done;
    slot.timer = new Deadline(timeout, () => {
      if (slot.batches[0] !== batch || batch.done !== index) return;
      batch.done++;
      batch.job.fail(
        new DOMException(
          `Task ${
            batch.start + index
          } ran longer than its timeout of ${timeout} ms; its worker ${slot.unit.name} was killed`,
          "TimeoutError",
        ),
      );
      this.#kill(slot);
    }, true);
  }

  #kill(slot: Slot): void {
    if (slot.doomed) return;
    slot.doomed = true;
    slot.timer?.clear();
    this.#killUnit(slot.unit);
  }

  #spawn(): void {
    const id = this.#nextSlot++;
    const unit = this.#makeUnit([this.#feed, { id, ...this.#setup }], id);
    const slot: Slot = {
      id,
      unit,
      batches: [],
      handed: 0,
      ready: false,
      known: new Set(),
      waiting: null,
      timer: undefined,
      doomed: false,
    };
    this.#slots.set(id, slot);
    unit.start();
    this.#hold(slot);
    // Not join(): that would keep this process alive for daemon workers.
    const exit = unit[EXITED]().then(() => this.#exited(slot));
    this.#exits.add(exit);
    exit.finally(() => this.#exits.delete(exit));
  }

  /**
   * A worker ended. Everything it posted has been handled (its channel is
   * closed first). The task it was running fails unless the pool killed
   * it; the tasks it had not started go back to the front of the queue.
   */
  #exited(slot: Slot): void {
    slot.timer?.clear();
    this.#slots.delete(slot.id);
    const requeue: Batch[] = [];
    slot.batches.forEach((batch, i) => {
      if (batch.job.settled || batch.done >= batch.args.length) return;
      const left = batch.args.length - batch.done;
      if (i === 0 && !slot.doomed && left > 1) {
        // The worker posts results at least every millisecond, but the
        // last few may not have left: any of these tasks may be the one that
        // ended it. Each runs again alone, so the one that does it again is
        // known for sure, and no other is blamed.
        for (let k = batch.done; k < batch.args.length; k++) {
          requeue.push({
            ...batch,
            id: this.#nextBatch++,
            start: batch.start + k,
            args: [batch.args[k]],
            done: 0,
          });
        }
        return;
      }
      if (i === 0 && !slot.doomed) {
        // The task it was running: the one cause we know of its death.
        batch.job.fail(
          new BrokenWorkerError(
            slot.unit.name,
            slot.unit.pid ?? slot.unit.ident,
            slot.unit.exitCode,
            batch.start + batch.done,
          ),
        );
        return;
      }
      requeue.push({
        ...batch,
        id: this.#nextBatch++,
        start: batch.start + batch.done,
        args: batch.args.slice(batch.done),
        done: 0,
      });
    });
    slot.batches = [];
    this.#queue.unshift(...requeue);
    if (!slot.ready && !slot.doomed && this.#state !== "terminated") {
      if (++this.#startFailures >= START_FAILURES) {
        const error = new BrokenWorkerError(
          slot.unit.name,
          slot.unit.pid ?? slot.unit.ident,
          slot.unit.exitCode,
          null,
          `Cannot run tasks: ${START_FAILURES} workers in a row exited (the last, ${slot.unit.name}, with code ${slot.unit.exitCode}) before they were ready; check the initializer and the permissions`,
        );
        for (const batch of this.#queue.splice(0)) batch.job.fail(error);
        return;
      }
    }
    const wanted = this.#state === "running" ||
      (this.#state === "closed" &&
        (this.#queue.length > 0 || this.#collecting > 0));
    if (wanted && !runtime().unloading && this.#slots.size < this.#size) {
      this.#spawn();
    }
  }

  #submit(
    action: string,
    fn: unknown,
    tasks: unknown[],
    star: boolean,
    options: MapOptions,
    chunksize: number | null,
    job: Pick<Job, "result" | "fail">,
  ): () => void {
    const full = job as Job;
    full.fn = this.#key(fn, action);
    full.star = star;
    full.timeout = options.timeout === Infinity ? undefined : options.timeout;
    full.settled = false;
    const signal = options.signal;
    let release = () => {};
    if (signal) {
      const onAbort = () => {
        full.fail(signal.reason);
        for (const slot of this.#slots.values()) {
          if (slot.batches[0]?.job === full) this.#kill(slot);
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      release = () => signal.removeEventListener("abort", onAbort);
    }
    for (
      const [start, end] of chunkRanges(tasks.length, chunksize, this.#size)
    ) {
      this.#queue.push({
        id: this.#nextBatch++,
        job: full,
        start,
        args: tasks.slice(start, end),
        done: 0,
      });
    }
    if (this.#slots.size === 0 && !runtime().unloading) {
      this.#startFailures = 0;
      for (let i = 0; i < this.#size; i++) this.#spawn();
    }
    this.#dispatch();
    return release;
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
    this.#collecting++;
    return collected.then((tasks) => {
      if (this.#state === "terminated") this.#checkRunning(action);
      return use(tasks);
    }).finally(() => {
      this.#collecting--;
      this.#dispatch();
    });
  }

  #key(fn: unknown, action: string): number {
    let key = this.#fnKeys.get(fn);
    if (key === undefined) {
      let ref: TargetRef;
      try {
        ref = describeFunction(fn);
      } catch (error) {
        throw new TypeError(`Cannot ${action}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      key = this.#fnRefs.push(ref) - 1;
      this.#fnKeys.set(fn, key);
    }
    return key;
  }

  #checkRunning(action: string): void {
    if (this.#state !== "running") {
      throw new Error(
        `Cannot ${action}: the ${this.#what} is ${this.#state}`,
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
    release = this.#submit(action, fn, tasks, star, options, chunksize, job);
    return this.#whileBusy(promise);
  }

  /**
   * The chunk size when none is given: guided (null), or Python's fixed
   * `ceil(n / (4 × workers))` when workers retire after `maxTasksPerChild`
   * chunks, as Python counts them, so they retire as often as there.
   */
  #defaultChunksize(n: number): number | null {
    if (this.#maxTasks === undefined) return null;
    return Math.max(1, Math.ceil(n / (this.#size * 4)));
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
   * each as soon as it and those before it are done.
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
   * they are done.
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
    const done = new Map<number, R>();
    const arrived: R[] = [];
    let failure: { error: unknown } | null = null;
    let wake: (() => void) | null = null;
    let total = -1;
    let yielded = 0;
    const notify = () => {
      wake?.();
      wake = null;
    };
    const job: Pick<Job, "result" | "fail" | "settled"> = {
      settled: false,
      result: (index, ok, value) => {
        if (!ok) return job.fail(value);
        if (ordered) done.set(index, value as R);
        else arrived.push(value as R);
        notify();
      },
      fail: (error) => {
        if (job.settled) return;
        job.settled = true;
        failure = { error };
        notify();
      },
    };
    let release = () => {};
    let started: Promise<void>;
    try {
      started = Promise.resolve(this.#collected(action, items, (tasks) => {
        total = tasks.length;
        release = this.#submit(
          action,
          fn,
          tasks,
          false,
          checked,
          checked.chunksize ?? 1,
          job,
        );
      }));
    } catch (error) {
      started = Promise.reject(error);
    }
    started.catch(() => {});
    const whileBusy = (waiting: Promise<void>) => this.#whileBusy(waiting);
    async function* results(): AsyncGenerator<R> {
      try {
        yield* drain();
      } finally {
        // Done, failed or abandoned: what is left of the call is dropped.
        job.settled = true;
        release();
      }
    }
    async function* drain(): AsyncGenerator<R> {
      await started;
      while (yielded < total) {
        if (ordered && done.has(yielded)) {
          const value = done.get(yielded)!;
          done.delete(yielded);
          yielded++;
          yield value;
          continue;
        }
        if (!ordered && arrived.length > 0) {
          yielded++;
          yield arrived.shift()!;
          continue;
        }
        if (failure) throw failure.error;
        await whileBusy(
          new Promise<void>((resolve) => wake = resolve),
        );
      }
    }
    return results();
  }

  /** Takes no more work; the workers exit once the queued work is done. */
  close(): void {
    if (this.#state !== "running") return;
    this.#state = "closed";
    this.#dispatch();
  }

  /**
   * Stops at once: kills the workers and rejects the work not yet done.
   *
   * @returns A promise that resolves once the workers have exited.
   */
  async terminate(): Promise<void> {
    if (this.#state !== "terminated") {
      this.#state = "terminated";
      const error = new Error(
        `Cannot finish the task: the ${this.#what} was terminated`,
      );
      for (const batch of this.#queue.splice(0)) batch.job.fail(error);
      for (const slot of this.#slots.values()) {
        for (const batch of slot.batches) batch.job.fail(error);
        this.#kill(slot);
      }
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
    if (this.#state === "running") {
      throw new Error(
        `Cannot join the ${this.#what}: it is still running; call close() or terminate() first`,
      );
    }
    while (this.#exits.size > 0) {
      // join() keeps this process alive while the workers end.
      await Promise.all(
        [...this.#slots.values()].map((slot) => slot.unit.join()),
      );
      await Promise.all([...this.#exits]);
    }
  }

  /** Terminates the pool and waits for its workers, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }
}

/**
 * Checks the callbacks, then submits the work and attaches them: a bad
 * callback is refused before any work is sent.
 */
function withCallbacks<T>(
  options: AsyncOptions<T> | undefined,
  submit: () => Promise<T>,
): AsyncResult<T> {
  const { callback, errorCallback } = options ?? {};
  const callbacks = { callback, errorCallback };
  for (const [name, fn] of Object.entries(callbacks)) {
    if (fn !== undefined && typeof fn !== "function") {
      throw new TypeError(
        `Cannot submit the task: expected ${name} to be a function, received ${
          describe(fn)
        }`,
      );
    }
  }
  const promise = submit();
  promise.then(callback, errorCallback ?? (() => {}));
  return new AsyncResult(promise);
}

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
   * @param options The pool's size, initializer, recycling and permissions.
   * @throws {TypeError} If an option has the wrong type.
   * @throws {RangeError} If a count is below 1.
   */
  constructor(options: PoolOptions = {}) {
    super("process", options, new Error().stack ?? "");
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
   * @param options The pool's size, initializer and recycling.
   * @throws {TypeError} If an option has the wrong type.
   * @throws {RangeError} If a count is below 1.
   */
  constructor(options: ThreadPoolOptions = {}) {
    super("thread", options, new Error().stack ?? "");
  }
}

registerError(BrokenWorkerError);
