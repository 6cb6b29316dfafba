// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The state behind a queue or one direction of a pipe, in its owner: a FIFO
// with an optional bound, waiting getters and putters served in arrival
// order, and an end (no more items will come).

import { Deadline } from "../_util/timers.ts";

interface Waiter<T> {
  settle(ok: boolean, value: T | unknown): void;
}

/** Removes `item` from `list` if present. */
function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

/**
 * Waits on `list` until a waiter is settled, `timeout` ms pass (rejects
 * with `onTimeout()`) or `signal` aborts (rejects with its reason).
 */
function wait<T, W extends Waiter<T>>(
  list: W[],
  make: (settle: Waiter<T>["settle"]) => W,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
  onTimeout: () => unknown,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    let deadline: Deadline | undefined;
    const onAbort = () => finish(false, signal!.reason);
    const finish = (ok: boolean, value: unknown) => {
      deadline?.clear();
      signal?.removeEventListener("abort", onAbort);
      remove(list, waiter);
      if (ok) resolve(value as T);
      else reject(value);
    };
    const waiter = make(finish);
    list.push(waiter);
    if (timeout !== undefined) {
      deadline = new Deadline(timeout, () => finish(false, onTimeout()));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface Putter<T> extends Waiter<void> {
  item: T;
}

/** A FIFO with waiting getters and putters. */
export class Mailbox<T> {
  #items: T[] = [];
  #head = 0;
  #getters: Waiter<T>[] = [];
  #putters: Putter<T>[] = [];
  #watchers: Waiter<boolean>[] = [];
  #ended: (() => unknown) | null = null;
  readonly maxsize: number;

  /** Creates a mailbox holding at most `maxsize` items (0: no bound). */
  constructor(maxsize = 0) {
    this.maxsize = maxsize;
  }

  /** How many items wait to be taken. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Whether a put would have to wait. */
  get full(): boolean {
    return this.maxsize > 0 && this.size >= this.maxsize;
  }

  /** Takes the first item if there is one. */
  tryGet(): { ok: true; value: T } | { ok: false } {
    if (this.size === 0) {
      if (this.#ended) throw this.#ended();
      return { ok: false };
    }
    const value = this.#items[this.#head];
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    // Room for the first waiting putter.
    const putter = this.#putters.shift();
    if (putter) {
      this.#items.push(putter.item);
      putter.settle(true, undefined);
    }
    return { ok: true, value };
  }

  /**
   * Puts a taken item back at the front (its taker died before it arrived),
   * or hands it to a waiting getter.
   */
  unget(item: T): void {
    const getter = this.#getters[0];
    if (getter && this.size === 0) {
      getter.settle(true, item);
      return;
    }
    if (this.#head > 0) this.#items[--this.#head] = item;
    else this.#items.unshift(item);
    for (const watcher of [...this.#watchers]) watcher.settle(true, true);
  }

  /** Adds an item unless the mailbox is full; hands it to a waiting getter. */
  tryPut(item: T): boolean {
    const getter = this.#getters[0];
    if (getter && this.size === 0) {
      getter.settle(true, item);
      return true;
    }
    if (this.full || this.#putters.length > 0) return false;
    this.#items.push(item);
    for (const watcher of [...this.#watchers]) watcher.settle(true, true);
    return true;
  }

  /**
   * Takes the first item, waiting for one. Then `then` maps it: at once, and
   * synchronously, when an item is at hand (a servant's answer then costs no
   * wait, see `serveLocally`), or when one arrives.
   */
  get<R = T>(
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    onTimeout: () => unknown,
    then: (item: T) => R = (item) => item as unknown as R,
  ): R | Promise<R> {
    const got = this.tryGet();
    if (got.ok) return then(got.value);
    return wait<T, Waiter<T>>(
      this.#getters,
      (settle) => ({ settle }),
      timeout,
      signal,
      onTimeout,
    ).then(then);
  }

  /** Adds an item, waiting for room. */
  put(
    item: T,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    onTimeout: () => unknown,
  ): Promise<void> {
    if (this.tryPut(item)) return Promise.resolve();
    return wait<void, Putter<T>>(
      this.#putters,
      (settle) => ({ settle, item }),
      timeout,
      signal,
      onTimeout,
    );
  }

  /**
   * Resolves true when an item waits or the mailbox has ended, false when
   * `timeout` ms pass first.
   */
  poll(timeout: number | undefined, signal?: AbortSignal): Promise<boolean> {
    if (this.size > 0 || this.#ended) return Promise.resolve(true);
    if (timeout === 0) return Promise.resolve(false);
    return wait<boolean, Waiter<boolean>>(
      this.#watchers,
      (settle) => ({ settle }),
      timeout,
      signal,
      () => false,
    )
      .catch((reason) => {
        if (reason === false) return false;
        throw reason;
      });
  }

  /**
   * Marks that no more items will come: getters wait no longer, and a get
   * on an empty mailbox rejects with `error()`.
   */
  end(error: () => unknown): void {
    if (this.#ended) return;
    this.#ended = error;
    for (const getter of [...this.#getters]) getter.settle(false, error());
    for (const watcher of [...this.#watchers]) watcher.settle(true, true);
  }
}
