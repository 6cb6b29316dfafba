// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The machinery under every pool: its workers, the queue of batches they
// pull from its feed, the timeouts of their tasks, and their replacement.

import { broker, type Call, WithFallback } from "../_ipc/broker.ts";
import { toRemoteForm } from "../_ipc/crossing.ts";
import { EXITED, runtime, type TargetRef } from "../_runtime/state.ts";
import { describeFunction } from "../_runtime/target.ts";
import { Deadline } from "../_util/timers.ts";
import { BrokenWorkerError } from "../errors.ts";
import type { MapOptions } from "./options.ts";
import { killUnit, makeUnit, type Unit, type UnitOptions } from "./_units.ts";
import {
  type Chunk,
  chunkRanges,
  FEED_KIND,
  type WorkerSetup,
} from "./_worker_loop.ts";

/** How many workers died before starting in a row before work fails. */
const START_FAILURES = 3;

/** One call's tasks, as the pool tracks them. */
export interface Job {
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

/** Where a pool is in its life. */
export type State = "running" | "closed" | "terminated";

/** What a scheduler is given, once the pool's options are checked. */
export interface SchedulerOptions extends UnitOptions {
  /** How many workers to keep. */
  size: number;
  /** How many batches a worker runs before it is replaced, if limited. */
  maxTasks: number | undefined;
  /** What every worker is told when it starts, but its number. */
  setup: Omit<WorkerSetup, "id">;
}

/**
 * Keeps a pool's workers and hands them its work: the state a `BasePool`
 * delegates to, whose checks and messages stay with the pool.
 */
export class Scheduler {
  /** How many workers the pool keeps. */
  readonly size: number;
  /** How many batches a worker runs before it is replaced, if limited. */
  readonly maxTasks: number | undefined;
  /** Where the pool is in its life. */
  state: State = "running";
  /** Calls accepted whose async iterable is still being read. */
  collecting = 0;
  /** The jobs of `imap` calls still reading their items. */
  readonly reading: Set<Pick<Job, "fail">> = new Set();
  #terminated: Error | undefined;
  #queue: Batch[] = [];
  #slots = new Map<number, Slot>();
  #nextSlot = 1;
  #nextBatch = 1;
  /** Each function's key: its index here, where its description is. */
  #fnKeys = new Map<unknown, number>();
  #fnRefs: TargetRef[] = [];
  #setup: Omit<WorkerSetup, "id">;
  #units: UnitOptions;
  #startFailures = 0;
  #exits = new Set<Promise<void>>();
  /** How many callers wait on results; while any do, the workers are held. */
  #busy = 0;
  #holding: AbortController | null = null;

  /**
   * Starts the workers.
   *
   * @param options The checked options of the pool.
   */
  constructor(options: SchedulerOptions) {
    const { kind, module, permissions, startMethod } = options;
    this.size = options.size;
    this.maxTasks = options.maxTasks;
    this.#setup = options.setup;
    this.#units = { kind, module, permissions, startMethod };
    for (let i = 0; i < this.size; i++) this.#spawn();
  }

  /**
   * Keeps this process alive while `waiting` is pending: its workers are
   * daemons and unref'd, and a caller waiting on results must not see the
   * event loop end under it (say, while a dead worker is replaced).
   */
  async whileBusy<T>(waiting: Promise<T>): Promise<T> {
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

  /** The pool's feed: what its workers pull from and post to. */
  #feed = {
    [toRemoteForm]: () =>
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
        // Plain results of one batch, in order (see _worker_loop.ts).
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

  #next(
    slot: Slot,
    signal: AbortSignal,
  ): Chunk | WithFallback | Promise<Chunk | WithFallback> {
    const chunk = this.#take(slot);
    if (chunk) return this.#sendable(slot, chunk);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        slot.waiting = null;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      slot.waiting = (chunk) => {
        signal.removeEventListener("abort", onAbort);
        slot.waiting = null;
        resolve(this.#sendable(slot, chunk));
      };
    });
  }

  /**
   * A chunk with what to do if its args cannot be sent: as Python's task
   * handler does with a task it cannot pickle, its tasks fail with the
   * reason, the worker asks again, and the pool goes on.
   */
  #sendable(slot: Slot, chunk: Chunk): Chunk | WithFallback {
    if (chunk[0] !== "run") return chunk;
    const [, batchId, key, ref] = chunk;
    return new WithFallback(chunk, (error) => {
      // The worker never got the function's description with it.
      if (ref !== null) slot.known.delete(key);
      this.#unsendable(slot, batchId, error);
      return ["skip"];
    });
  }

  #unsendable(slot: Slot, batchId: number, error: unknown): void {
    const batch = slot.batches.find((batch) => batch.id === batchId);
    if (!batch) return;
    slot.batches.splice(slot.batches.indexOf(batch), 1);
    slot.handed--;
    const first = batch.start + batch.done;
    const last = batch.start + batch.args.length - 1;
    const failure = new TypeError(
      `Cannot send ${
        first === last ? `task ${first}` : `tasks ${first} to ${last}`
      } to a worker of the pool: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
    for (let i = batch.done; i < batch.args.length; i++) {
      if (batch.job.settled) break;
      batch.job.result(batch.start + i, false, failure);
    }
    this.#arm(slot);
    if (slot.batches.length === 0) this.dispatch();
  }

  /** The next chunk for `slot`: a batch, a stop, or null to wait. */
  #take(slot: Slot): Chunk | null {
    const retire = this.maxTasks !== undefined &&
      slot.handed >= this.maxTasks;
    if (retire || this.state === "terminated") return ["stop"];
    // A worker asks for its next batch while it runs one. It gets it only
    // when there is more than enough for the others: near the end of the
    // work, it waits for its current batch to end instead, so no task waits
    // behind a long one while another worker is idle.
    while (this.#queue[0]?.job.settled) this.#queue.shift();
    const drained = this.state === "closed" && this.collecting === 0;
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
  dispatch(): void {
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
      if (slot.batches.length === 0) this.dispatch();
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
    killUnit(slot.unit);
  }

  #spawn(): void {
    const id = this.#nextSlot++;
    const unit = makeUnit(
      this.#units,
      [this.#feed, { id, ...this.#setup }],
      id,
    );
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
    const requeue = this.#salvage(slot);
    slot.batches = [];
    this.#queue.unshift(...requeue);
    if (this.#failedToStart(slot)) return;
    const wanted = this.state === "running" ||
      (this.state === "closed" &&
        (this.#queue.length > 0 || this.collecting > 0));
    if (wanted && !runtime().unloading && this.#slots.size < this.size) {
      this.#spawn();
    }
  }

  /**
   * Sorts the unfinished batches of a worker that ended: the task it was
   * running fails with a {@linkcode BrokenWorkerError}, unless the pool
   * killed it; the others are returned, to run again.
   */
  #salvage(slot: Slot): Batch[] {
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
    return requeue;
  }

  /**
   * Counts a worker that ended before it was ready. After
   * `START_FAILURES` in a row, the queued work fails and no worker is
   * started in its place.
   *
   * @returns `true` if the queued work failed.
   */
  #failedToStart(slot: Slot): boolean {
    if (slot.ready || slot.doomed || this.state === "terminated") return false;
    if (++this.#startFailures < START_FAILURES) return false;
    const error = new BrokenWorkerError(
      slot.unit.name,
      slot.unit.pid ?? slot.unit.ident,
      slot.unit.exitCode,
      null,
      `Cannot run tasks: ${START_FAILURES} workers in a row exited (the last, ${slot.unit.name}, with code ${slot.unit.exitCode}) before they were ready; check the initializer and the permissions`,
    );
    for (const batch of this.#queue.splice(0)) batch.job.fail(error);
    return true;
  }

  /**
   * Queues a call's tasks and hands them to the workers.
   *
   * @returns A function that detaches the call from its signal.
   */
  submit(
    action: string,
    fn: unknown,
    tasks: unknown[],
    star: boolean,
    options: MapOptions,
    chunksize: number | null,
    job: Pick<Job, "result" | "fail">,
  ): () => void {
    const release = this.open(action, fn, star, options, job);
    for (
      const [start, end] of chunkRanges(tasks.length, chunksize, this.size)
    ) {
      this.add(job, start, tasks.slice(start, end));
    }
    return release;
  }

  /**
   * Opens a call whose tasks come later, with {@linkcode add}: its
   * function, its options, its signal.
   *
   * @returns A function that detaches the call from its signal.
   */
  open(
    action: string,
    fn: unknown,
    star: boolean,
    options: MapOptions,
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
    return release;
  }

  /**
   * Queues one batch of an open call's tasks, the first of them its task
   * `start`, and hands what is queued to the workers.
   */
  add(job: Pick<Job, "result" | "fail">, start: number, args: unknown[]): void {
    if (this.state === "terminated") return job.fail(this.#terminated);
    this.#queue.push({
      id: this.#nextBatch++,
      job: job as Job,
      start,
      args,
      done: 0,
    });
    if (this.#slots.size === 0 && !runtime().unloading) {
      this.#startFailures = 0;
      for (let i = 0; i < this.size; i++) this.#spawn();
    }
    this.dispatch();
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

  /** Takes no more work; the workers exit once the queued work is done. */
  close(): void {
    if (this.state !== "running") return;
    this.state = "closed";
    this.dispatch();
  }

  /**
   * Kills the workers and fails the work not yet done with `error`.
   *
   * @param error What the unfinished tasks reject with.
   */
  terminate(error: Error): void {
    if (this.state === "terminated") return;
    this.state = "terminated";
    this.#terminated = error;
    // Calls still reading their items, whose tasks may all be done.
    for (const job of this.reading) job.fail(error);
    for (const batch of this.#queue.splice(0)) batch.job.fail(error);
    for (const slot of this.#slots.values()) {
      for (const batch of slot.batches) batch.job.fail(error);
      this.#kill(slot);
    }
  }

  /** Resolves once every worker has exited and been handled. */
  async exited(): Promise<void> {
    while (this.#exits.size > 0) {
      // join() keeps this process alive while the workers end.
      await Promise.all(
        [...this.#slots.values()].map((slot) => slot.unit.join()),
      );
      await Promise.all([...this.#exits]);
    }
  }
}
