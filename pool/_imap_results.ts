// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The results of an `imap` or `imapUnordered` call: held as they arrive,
// and yielded in input order or in the order they are done, while the
// call's items are still being read.

import type { Job } from "./_scheduler.ts";
import type { ItemSource } from "./_checks.ts";

/** Waits on a promise while keeping the pool's workers held. */
export type WhileBusy = (waiting: Promise<void>) => Promise<void>;

/** A task's outcome: its value, or what it failed with. */
type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * One `imap` call's results, from its job's outcomes to its iterator.
 *
 * As Python's `IMapIterator`: a task that failed raises when its turn
 * comes (in input order for `imap`, in the order of outcomes for
 * `imapUnordered`), after the results before it; a failure of the whole
 * call (its signal, a timeout, `terminate()`) raises at once.
 *
 * @typeParam R The results' type.
 */
export class ImapResults<R> {
  /** The call's job: takes each task's outcome, or the call's failure. */
  readonly job: Pick<Job, "result" | "fail" | "settled">;
  /** Detaches the call from its signal, once it is submitted. */
  release: () => void = () => {};
  readonly #ordered: boolean;
  readonly #done = new Map<number, Outcome<R>>();
  readonly #arrived: Outcome<R>[] = [];
  #failure: { error: unknown } | null = null;
  #wake: (() => void) | null = null;
  #room: (() => void) | null = null;
  #yielded = 0;
  /** How many tasks the call has, once its items are read; -1 until then. */
  #total = -1;

  /**
   * Makes an empty buffer.
   *
   * @param ordered Whether results are yielded in input order.
   */
  constructor(ordered: boolean) {
    this.#ordered = ordered;
    const job: Pick<Job, "result" | "fail" | "settled"> = {
      settled: false,
      result: (index, ok, value) => {
        const outcome: Outcome<R> = ok
          ? { ok, value: value as R }
          : { ok, error: value };
        if (ordered) this.#done.set(index, outcome);
        else this.#arrived.push(outcome);
        this.#notify();
      },
      fail: (error) => {
        if (job.settled) return;
        job.settled = true;
        this.#failure = { error };
        this.#notify();
        this.#roomNow();
      },
    };
    this.job = job;
  }

  /** Says that the call has `total` tasks: its items are all read. */
  end(total: number): void {
    this.#total = total;
    this.#notify();
  }

  /**
   * Resolves once fewer than `ahead` of the tasks read so far (`read`) are
   * still to be yielded, or the call is over: how the reading of the items
   * keeps pace with the consumer.
   */
  room(read: number, ahead: number): Promise<void> | undefined {
    if (this.job.settled || read - this.#yielded < ahead) return undefined;
    return new Promise<void>((resolve) => this.#room = resolve);
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = null;
  }

  #roomNow(): void {
    this.#room?.();
    this.#room = null;
  }

  /**
   * Yields the results once the call has started; when done, failed or
   * abandoned, drops what is left of the call.
   *
   * @param started Resolves once the call is open.
   * @param whileBusy How to wait for the next result.
   */
  async *results(
    started: Promise<void>,
    whileBusy: WhileBusy,
  ): AsyncGenerator<R> {
    try {
      yield* this.#drain(started, whileBusy);
    } finally {
      // Done, failed or abandoned: what is left of the call is dropped.
      this.job.settled = true;
      this.release();
      this.#roomNow();
    }
  }

  async *#drain(
    started: Promise<void>,
    whileBusy: WhileBusy,
  ): AsyncGenerator<R> {
    await started;
    while (this.#total < 0 || this.#yielded < this.#total) {
      const outcome = this.#next();
      if (outcome) {
        this.#yielded++;
        this.#roomNow();
        if (!outcome.ok) throw outcome.error;
        yield outcome.value;
        continue;
      }
      if (this.#failure) throw this.#failure.error;
      await whileBusy(
        new Promise<void>((resolve) => this.#wake = resolve),
      );
    }
  }

  /** The next outcome to yield, if it has arrived. */
  #next(): Outcome<R> | undefined {
    if (!this.#ordered) return this.#arrived.shift();
    const outcome = this.#done.get(this.#yielded);
    this.#done.delete(this.#yielded);
    return outcome;
  }
}

/**
 * Reads a call's items as the call goes, `chunksize` to a batch given to
 * `add`, at most `ahead` tasks ahead of what the consumer has taken (so an
 * endless iterable works, and a slow consumer bounds the reading). An item
 * the iterable throws for is a task that fails with that error, as in
 * Python's `_guarded_task_generation`; the reading ends there. Stops, and
 * closes the iterator, when the call is over.
 */
export async function readItems<R>(
  source: ItemSource<unknown>,
  results: ImapResults<R>,
  add: (start: number, args: unknown[]) => void,
  chunksize: number,
  ahead: number,
): Promise<void> {
  let read = 0;
  let batch: unknown[] = [];
  const flush = () => {
    if (batch.length > 0) add(read - batch.length, batch);
    batch = [];
  };
  try {
    while (!results.job.settled) {
      const room = results.room(read, ahead);
      if (room) {
        // Taken by the workers meanwhile: what waits goes now.
        flush();
        await room;
        continue;
      }
      const step = await source.next();
      if (step.done) break;
      batch.push(step.value);
      read++;
      if (batch.length === chunksize) flush();
    }
  } catch (error) {
    flush();
    results.job.result(read, false, error);
    results.end(read + 1);
    return;
  }
  if (results.job.settled) {
    await source.return?.();
    return;
  }
  flush();
  results.end(read);
}
