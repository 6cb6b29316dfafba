// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's `multiprocessing.Queue`, `SimpleQueue` and `JoinableQueue`: FIFO
 * queues that any mix of processes and threads share. Pass a queue to a
 * `Process` or a `Thread` (as an argument or a subclass field) and it is
 * the same queue there.
 *
 * The process that creates a queue holds its items; the others reach it
 * over their channel to it (see ARCHITECTURE.md). Every method that may
 * cross a process boundary returns a promise.
 *
 * @example A producer process and a consumer in the parent
 * ```ts
 * import { Process, Queue } from "@parallel/multiprocessing";
 *
 * export async function produce(queue: Queue<number | null>) {
 *   for (let i = 0; i < 3; i++) await queue.put(i);
 *   await queue.put(null);
 * }
 *
 * if (import.meta.main) {
 *   const queue = new Queue<number | null>();
 *   const p = new Process({ target: produce, args: [queue] });
 *   p.start();
 *   for (let item; (item = await queue.get()) !== null;) console.log(item);
 *   await p.join();
 * }
 * ```
 *
 * @module
 */

import {
  broker,
  type Call,
  Delivery,
  registerRemoteKind,
  serveLocally,
} from "./_ipc/broker.ts";
import { waitOptions } from "./_util/wait_options.ts";
import type { WaitOptions } from "./sync.ts";
import { Mailbox } from "./_ipc/mailbox.ts";
import { copyValue, toRemoteForm } from "./_ipc/crossing.ts";
import { describe } from "./_util/repr.ts";
import { Empty, Full } from "./errors.ts";

export { Empty, Full };

/** The owner's state of a queue. */
class QueueState {
  readonly items: Mailbox<unknown>;
  unfinished = 0;
  joiners: Array<() => void> = [];

  constructor(maxsize: number) {
    this.items = new Mailbox(maxsize);
  }

  /** An item for another process comes back if that process dies first. */
  #deliver(value: unknown, call: Call): unknown {
    if (call.link === null) return value;
    return new Delivery(value, () => this.items.unget(value));
  }

  handle(op: string, args: unknown[], call: Call): unknown {
    const [received, timeout] = args as [unknown, number | undefined];
    // From another process it is a copy already; from here, copy it now.
    const item = (op === "put" || op === "putNowait") && call.link === null
      ? copyValue(received)
      : received;
    switch (op) {
      case "put":
        // Counted at once: a getter may take it and call taskDone() before
        // this put's promise settles.
        this.unfinished++;
        return this.items.put(
          item,
          timeout,
          call.signal,
          () =>
            new Full(`Cannot put: the queue is still full after ${timeout} ms`),
        ).catch((error) => {
          this.unfinished--;
          throw error;
        });
      case "putNowait":
        if (!this.items.tryPut(item)) throw new Full();
        this.unfinished++;
        return;
      case "get":
        // args[0] is the timeout here.
        return this.items.get(
          args[0] as number | undefined,
          call.signal,
          () =>
            new Empty(
              `Cannot get: the queue is still empty after ${args[0]} ms`,
            ),
          (value) => this.#deliver(value, call),
        );
      case "getNowait": {
        const got = this.items.tryGet();
        if (!got.ok) throw new Empty();
        return this.#deliver(got.value, call);
      }
      case "qsize":
        return this.items.size;
      case "taskDone":
        if (this.unfinished <= 0) {
          throw new Error(
            "Cannot call taskDone(): it was called more times than items were put",
          );
        }
        if (--this.unfinished === 0) {
          for (const resolve of this.joiners.splice(0)) resolve();
        }
        return;
      case "join":
        if (this.unfinished === 0) return;
        return new Promise<void>((resolve) => this.joiners.push(resolve));
      default:
        throw new TypeError(`Cannot run ${op} on a queue: unknown operation`);
    }
  }
}

/** Set while a proxy is being built: the constructor takes it instead. */
let reviving: { id: string; maxsize: number } | null = null;

function checkMaxsize(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(
      `Cannot create queue: expected maxsize to be an integer, received ${
        describe(value)
      }`,
    );
  }
  if (value < 0) {
    throw new RangeError(
      `Cannot create queue: expected maxsize to be >= 0, received ${value}`,
    );
  }
  return value;
}

/** What a queue closed in this process still answers, as Python's. */
const AFTER_CLOSE = new Set(["qsize", "taskDone", "join"]);

/**
 * A FIFO queue shared by processes and threads (Python's
 * `multiprocessing.Queue`). Items travel by structured clone; errors keep
 * their class name, message, stack and cause. Each producer's items arrive
 * in the order it put them, and each item reaches exactly one consumer.
 * With a `maxsize`, `put()` waits for room in every producer alike.
 *
 * @typeParam T The type of the items.
 *
 * @example Usage
 * ```ts
 * import { Queue } from "@parallel/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const queue = new Queue<string>();
 * await queue.put("hello");
 * assertEquals(await queue.get(), "hello");
 * ```
 */
export class Queue<T = unknown> {
  #state: QueueState | null = null;
  #id: string | null = null;
  #maxsize: number;
  #closed = false;

  /**
   * Creates a queue.
   *
   * @param maxsize The most items the queue holds; `0` for no bound.
   * @throws {TypeError} If `maxsize` is not an integer.
   * @throws {RangeError} If `maxsize` is negative.
   */
  constructor(maxsize = 0) {
    if (reviving) {
      this.#id = reviving.id;
      this.#maxsize = reviving.maxsize;
      broker().adopt(this, reviving.id);
      return;
    }
    this.#maxsize = checkMaxsize(maxsize);
    this.#state = new QueueState(this.#maxsize);
  }

  /** The most items the queue holds; `0` for no bound. */
  get maxsize(): number {
    return this.#maxsize;
  }

  /** Runs an operation in the owner, here or over the channel. */
  protected call(
    op: string,
    args: unknown[],
    signal?: AbortSignal,
  ): Promise<unknown> {
    if (this.#closed && !AFTER_CLOSE.has(op)) {
      return Promise.reject(
        new Error(`Cannot ${op}: the queue is closed in this process`),
      );
    }
    try {
      if (this.#state) {
        const state = this.#state;
        return serveLocally((call) => state.handle(op, args, call), signal);
      }
      return broker().request(this.#id!, op, args, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Puts an item at the end of the queue, waiting for room when it has a
   * `maxsize`.
   *
   * @param item The item; anything structured clone copies.
   * @param options A timeout in milliseconds, or `{ timeout, signal }`.
   * @returns A promise that resolves once the item is in the queue (or, for
   * an unbounded queue in another process, on its way there, in order).
   * @throws {Full} If the queue is still full after the timeout.
   */
  put(item: T, options?: number | WaitOptions): Promise<void> {
    try {
      const { timeout, signal } = waitOptions(options, "put");
      signal?.throwIfAborted();
      if (!this.#state && this.#maxsize === 0 && !this.#closed) {
        // Nothing to wait for: send it and move on, as Python's feeder does
        // (no async function here: a put is the hot path of a producer).
        broker().post(this.#id!, "put", [item, undefined]);
        return broker().flushed(this.#id!);
      }
      return this.call("put", [item, timeout], signal) as Promise<void>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Puts an item without waiting.
   *
   * @param item The item.
   * @returns A promise that resolves once the item is in the queue.
   * @throws {Full} If the queue is full.
   */
  async putNowait(item: T): Promise<void> {
    await this.call("putNowait", [item]);
  }

  /**
   * Takes the first item, waiting for one.
   *
   * @param options A timeout in milliseconds, or `{ timeout, signal }`.
   * @returns The item.
   * @throws {Empty} If the queue is still empty after the timeout.
   */
  async get(options?: number | WaitOptions): Promise<T> {
    const { timeout, signal } = waitOptions(options, "get");
    signal?.throwIfAborted();
    return await this.call("get", [timeout], signal) as T;
  }

  /**
   * Takes the first item without waiting.
   *
   * @returns The item.
   * @throws {Empty} If the queue is empty.
   */
  async getNowait(): Promise<T> {
    return await this.call("getNowait", []) as T;
  }

  /**
   * How many items the queue holds now (it may change at once).
   *
   * @returns The number of items.
   */
  async qsize(): Promise<number> {
    return await this.call("qsize", []) as number;
  }

  /**
   * Whether the queue holds no items now.
   *
   * @returns `true` when empty.
   */
  async empty(): Promise<boolean> {
    // Python's reads its closed pipe, and fails.
    if (this.#closed) await this.call("empty", []);
    return await this.qsize() === 0;
  }

  /**
   * Whether the queue is at its `maxsize` now.
   *
   * @returns `true` when full.
   */
  async full(): Promise<boolean> {
    return this.#maxsize > 0 && await this.qsize() >= this.#maxsize;
  }

  /**
   * Says this process will use the queue no more, as Python's `close()`:
   * later `put()` and `get()` calls here reject (Python's `ValueError`),
   * while `qsize()`, `full()` and a `JoinableQueue`'s `taskDone()` and
   * `join()` still answer. Other processes keep using the queue.
   */
  close(): void {
    this.#closed = true;
  }

  /**
   * Takes the items as they come, for `for await (const item of queue)`:
   * a queue has no end, so the loop runs until it breaks, or until
   * `close()` is called here.
   *
   * @returns The items, in the order they are taken.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    while (!this.#closed) yield await this.get();
  }

  /**
   * Closes the queue in this process, for `await using`.
   *
   * @returns A promise that resolves at once.
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** The queue's form in transit to another process. */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    const kind = (this.constructor as { kind?: string }).kind ?? "Queue";
    return broker().export(
      this,
      kind,
      () => ({
        handle: (op, args, call) => this.#state!.handle(op, args, call),
      }),
      { maxsize: this.#maxsize },
    );
  }

  /** The kind name a subclass crosses processes as. */
  static readonly kind: string = "Queue";
}

/**
 * A queue whose consumers say when each item is done, so that a producer
 * can wait for all of them (Python's `multiprocessing.JoinableQueue`).
 *
 * @typeParam T The type of the items.
 *
 * @example Usage
 * ```ts
 * import { JoinableQueue } from "@parallel/multiprocessing";
 *
 * const queue = new JoinableQueue<number>();
 * await queue.put(1);
 * await queue.get();
 * await queue.taskDone();
 * await queue.join(); // resolves: every item is done
 * ```
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /** The kind name this class crosses processes as. */
  static override readonly kind: string = "JoinableQueue";

  /**
   * Says that an item taken with `get()` is done.
   *
   * @returns A promise that resolves once counted.
   * @throws {Error} If called more times than items were put.
   */
  async taskDone(): Promise<void> {
    await this.call("taskDone", []);
  }

  /**
   * Waits until every item put has been taken and marked done.
   *
   * @returns A promise that resolves when no item is unfinished.
   */
  async join(): Promise<void> {
    await this.call("join", []);
  }
}

/**
 * A queue without a bound or timeouts (Python's
 * `multiprocessing.SimpleQueue`): `put`, `get`, `empty` and `close`.
 *
 * @typeParam T The type of the items.
 *
 * @example Usage
 * ```ts
 * import { SimpleQueue } from "@parallel/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const queue = new SimpleQueue<number>();
 * await queue.put(1);
 * assertEquals(await queue.get(), 1);
 * ```
 */
export class SimpleQueue<T = unknown> {
  #queue: Queue<T>;

  /** Creates an empty queue. */
  constructor() {
    // When reviving, this is a proxy: the Queue constructor reads `reviving`.
    this.#queue = new Queue<T>();
  }

  /**
   * Puts an item at the end.
   *
   * @param item The item.
   * @returns A promise that resolves once the item is on its way.
   */
  put(item: T): Promise<void> {
    return this.#queue.put(item);
  }

  /**
   * Takes the first item, waiting for one.
   *
   * @returns The item.
   */
  get(): Promise<T> {
    return this.#queue.get();
  }

  /**
   * Whether the queue holds no items now.
   *
   * @returns `true` when empty.
   */
  empty(): Promise<boolean> {
    return this.#queue.empty();
  }

  /** Says this process will use the queue no more. */
  close(): void {
    this.#queue.close();
  }

  /**
   * Takes the items as they come, as {@linkcode Queue} does.
   *
   * @returns The items, in the order they are taken.
   */
  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /**
   * Closes the queue in this process, for `await using`.
   *
   * @returns A promise that resolves at once.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#queue[Symbol.asyncDispose]();
  }

  /** The queue's form in transit to another process. */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    const form = this.#queue[toRemoteForm]();
    return { ...form, kind: "SimpleQueue" };
  }
}

function revive<Q>(make: () => Q) {
  return (id: string, meta: unknown): object => {
    reviving = { id, maxsize: (meta as { maxsize: number }).maxsize };
    try {
      return make() as object;
    } finally {
      reviving = null;
    }
  };
}

registerRemoteKind("Queue", revive(() => new Queue()));
registerRemoteKind("JoinableQueue", revive(() => new JoinableQueue()));
registerRemoteKind("SimpleQueue", revive(() => new SimpleQueue()));
