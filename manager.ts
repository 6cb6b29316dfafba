// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's managers: {@linkcode Manager} gives a {@linkcode SyncManager},
 * whose {@linkcode DictProxy}, {@linkcode ListProxy} and
 * {@linkcode NamespaceProxy} live in the runtime that created it and reach
 * every process and thread they are passed to, as Python's manager server
 * serves its proxies. There is no server process: the broker that serves
 * this package's queues and locks serves them (see ARCHITECTURE.md,
 * "Managers"). Every method returns a promise.
 *
 * @example A dict shared by a pool of processes
 * ```ts
 * import { Manager, Pool } from "@parallel/multiprocessing";
 * import type { DictProxy } from "@parallel/multiprocessing/manager";
 *
 * export async function record(counts: DictProxy<number, number>, x: number) {
 *   await counts.set(x, x * x);
 * }
 *
 * if (import.meta.main) {
 *   await using manager = Manager();
 *   const squares = manager.dict<number, number>();
 *   await using pool = new Pool(2);
 *   await pool.starmap(record, [1, 2, 3].map((x) => [squares, x]));
 *   console.log(await squares.items()); // [[1, 1], [2, 4], [3, 9]], in some order
 * }
 * ```
 *
 * @module
 */

import {
  DictProxy,
  ListProxy,
  type ManagerLife,
  NamespaceProxy,
} from "./manager/proxies.ts";
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
  SharedArray,
  type Typecode,
  type TypecodeValue,
  Value,
} from "./sync.ts";
import { JoinableQueue, Queue } from "./queue.ts";

export { DictProxy, ListProxy, NamespaceProxy };
export { BrokenPipeError } from "./errors.ts";

let managers = 0;

/**
 * Python's `multiprocessing.managers.SyncManager`: makes objects that live
 * in this runtime and are shared with every process and thread they are
 * passed to. Its dicts, lists and namespaces serve until
 * {@linkcode SyncManager.shutdown}; afterwards every call on them, from
 * anywhere, rejects with a `BrokenPipeError`, as Python's proxies fail
 * once their server is gone. `await using` shuts it down at the end of
 * the block, as Python's `with Manager() as m:`.
 *
 * Its `Queue()`, `Lock()`, `Value()` and the rest give this package's own
 * classes, which are already shared across processes through the runtime
 * that made them (as Python's manager serves them through its server).
 * They live on after `shutdown()`: they do not depend on the manager.
 *
 * @example Lists and namespaces
 * ```ts
 * import { SyncManager } from "@parallel/multiprocessing/manager";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const manager = new SyncManager();
 * const log = manager.list<string>();
 * await log.append("started");
 * assertEquals(await log.length(), 1);
 * manager.shutdown();
 * await assertRejects(() => log.append("again"), Error, "shut down");
 * ```
 */
export class SyncManager {
  #life: ManagerLife;

  /** Creates a manager that serves from this runtime. */
  constructor() {
    this.#life = { alive: true, name: `SyncManager-${++managers}` };
  }

  /**
   * As Python's `start()`: nothing to start, the manager serves from this
   * runtime as soon as it exists. Kept for Python's spelling.
   *
   * @returns The manager.
   */
  start(): this {
    return this;
  }

  /**
   * Stops serving: every later call on its dicts, lists and namespaces,
   * here and elsewhere, rejects with a `BrokenPipeError`. Calling it again
   * does nothing.
   */
  shutdown(): void {
    this.#life.alive = false;
  }

  /** Shuts the manager down, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.shutdown();
    return Promise.resolve();
  }

  /**
   * A dict the manager serves, as Python's `manager.dict()`.
   *
   * @typeParam K The keys' type.
   * @typeParam V The values' type.
   * @param entries The first entries, copied: `[key, value]` pairs, or an
   * object's own properties.
   * @returns The dict.
   */
  dict<K = unknown, V = unknown>(entries?: Iterable<[K, V]>): DictProxy<K, V>;
  /**
   * A dict the manager serves, its first entries an object's properties.
   *
   * @typeParam V The values' type.
   * @param entries The first entries, copied.
   * @returns The dict.
   */
  dict<V>(entries: Record<string, V>): DictProxy<string, V>;
  dict<K = unknown, V = unknown>(
    entries?: Iterable<[K, V]> | Record<string, V>,
  ): DictProxy<K, V> {
    const pairs = entries === undefined
      ? []
      : Symbol.iterator in Object(entries)
      ? entries as Iterable<[K, V]>
      : Object.entries(entries) as [K, V][];
    return new DictProxy<K, V>(this.#alive("dict"), pairs);
  }

  /**
   * A list the manager serves, as Python's `manager.list()`.
   *
   * @typeParam T The items' type.
   * @param items The first items, copied.
   * @returns The list.
   */
  list<T = unknown>(items?: Iterable<T>): ListProxy<T> {
    return new ListProxy<T>(this.#alive("list"), items);
  }

  /**
   * A namespace the manager serves, as Python's `manager.Namespace()`.
   *
   * @typeParam T The names and their values' types.
   * @param values The first values, copied.
   * @returns The namespace.
   */
  Namespace<T extends Record<string, unknown> = Record<string, unknown>>(
    values?: Partial<T>,
  ): NamespaceProxy<T> {
    return new NamespaceProxy<T>(this.#alive("Namespace"), values);
  }

  /**
   * A queue, as Python's `manager.Queue()`: this package's {@linkcode Queue}.
   *
   * @typeParam T The items' type.
   * @param maxsize The most items it holds; `0` for no bound.
   * @returns The queue.
   */
  Queue<T = unknown>(maxsize = 0): Queue<T> {
    return new Queue<T>(maxsize);
  }

  /**
   * A joinable queue, as Python's `manager.JoinableQueue()`.
   *
   * @typeParam T The items' type.
   * @param maxsize The most items it holds; `0` for no bound.
   * @returns The queue.
   */
  JoinableQueue<T = unknown>(maxsize = 0): JoinableQueue<T> {
    return new JoinableQueue<T>(maxsize);
  }

  /**
   * A lock, as Python's `manager.Lock()`.
   *
   * @returns The lock.
   */
  Lock(): Lock {
    return new Lock();
  }

  /**
   * A reentrant lock, as Python's `manager.RLock()`.
   *
   * @returns The lock.
   */
  RLock(): RLock {
    return new RLock();
  }

  /**
   * A semaphore, as Python's `manager.Semaphore(value)`.
   *
   * @param value The initial count.
   * @returns The semaphore.
   */
  Semaphore(value = 1): Semaphore {
    return new Semaphore(value);
  }

  /**
   * A bounded semaphore, as Python's `manager.BoundedSemaphore(value)`.
   *
   * @param value The initial and highest count.
   * @returns The semaphore.
   */
  BoundedSemaphore(value = 1): BoundedSemaphore {
    return new BoundedSemaphore(value);
  }

  /**
   * A condition, as Python's `manager.Condition(lock)`.
   *
   * @param lock Its lock; a new `RLock` by default.
   * @returns The condition.
   */
  Condition(lock?: Lock | RLock): Condition {
    return new Condition(lock);
  }

  /**
   * An event, as Python's `manager.Event()`.
   *
   * @returns The event.
   */
  Event(): Event {
    return new Event();
  }

  /**
   * A barrier, as Python's `manager.Barrier(parties)`.
   *
   * @param parties How many tasks must wait before all go through.
   * @returns The barrier.
   */
  Barrier(parties: number): Barrier {
    return new Barrier(parties);
  }

  /**
   * A shared value, as Python's `manager.Value(typecode, value)`.
   *
   * @typeParam C The typecode.
   * @param typecode The item type.
   * @param value The first value.
   * @returns The value.
   */
  Value<C extends Typecode>(typecode: C, value?: TypecodeValue<C>): Value<C> {
    return new Value(typecode, value);
  }

  /**
   * A shared array, as Python's `manager.Array(typecode, sequence)`.
   *
   * @typeParam C The typecode.
   * @param typecode The item type.
   * @param sizeOrItems The length, or the items.
   * @returns The array.
   */
  Array<C extends Typecode>(
    typecode: C,
    sizeOrItems: number | Iterable<TypecodeValue<C>>,
  ): SharedArray<C> {
    return new SharedArray(typecode, sizeOrItems);
  }

  #alive(what: string): ManagerLife {
    if (!this.#life.alive) {
      throw new Error(
        `Cannot make a ${what}: ${this.#life.name} is shut down`,
      );
    }
    return this.#life;
  }
}

/**
 * A started {@linkcode SyncManager}, as Python's
 * `multiprocessing.Manager()`.
 *
 * @returns The manager.
 *
 * @example Usage
 * ```ts
 * import { Manager } from "@parallel/multiprocessing/manager";
 * import { assertEquals } from "@std/assert";
 *
 * await using manager = Manager();
 * const shared = manager.dict({ a: 1 });
 * assertEquals(await shared.get("a"), 1);
 * ```
 */
export function Manager(): SyncManager {
  return new SyncManager();
}
