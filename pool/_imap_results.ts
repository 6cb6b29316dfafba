// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The results of an `imap` or `imapUnordered` call: held as they arrive,
// and yielded in input order or in the order they are done.

import type { Job } from "./_scheduler.ts";

/** Waits on a promise while keeping the pool's workers held. */
export type WhileBusy = (waiting: Promise<void>) => Promise<void>;

/**
 * One `imap` call's results, from its job's outcomes to its iterator.
 *
 * @typeParam R The results' type.
 */
export class ImapResults<R> {
  /** The call's job: takes each task's outcome, or the call's failure. */
  readonly job: Pick<Job, "result" | "fail" | "settled">;
  /** How many tasks the call has, once its items are read; -1 until then. */
  total = -1;
  /** Detaches the call from its signal, once it is submitted. */
  release: () => void = () => {};
  readonly #ordered: boolean;
  readonly #done = new Map<number, R>();
  readonly #arrived: R[] = [];
  #failure: { error: unknown } | null = null;
  #wake: (() => void) | null = null;
  #yielded = 0;

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
        if (!ok) return job.fail(value);
        if (ordered) this.#done.set(index, value as R);
        else this.#arrived.push(value as R);
        this.#notify();
      },
      fail: (error) => {
        if (job.settled) return;
        job.settled = true;
        this.#failure = { error };
        this.#notify();
      },
    };
    this.job = job;
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = null;
  }

  /**
   * Yields the results once the call has started; when done, failed or
   * abandoned, drops what is left of the call.
   *
   * @param started Resolves once the tasks are submitted.
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
    }
  }

  async *#drain(
    started: Promise<void>,
    whileBusy: WhileBusy,
  ): AsyncGenerator<R> {
    await started;
    while (this.#yielded < this.total) {
      if (this.#ordered && this.#done.has(this.#yielded)) {
        const value = this.#done.get(this.#yielded)!;
        this.#done.delete(this.#yielded);
        this.#yielded++;
        yield value;
        continue;
      }
      if (!this.#ordered && this.#arrived.length > 0) {
        this.#yielded++;
        yield this.#arrived.shift()!;
        continue;
      }
      if (this.#failure) throw this.#failure.error;
      await whileBusy(
        new Promise<void>((resolve) => this.#wake = resolve),
      );
    }
  }
}
