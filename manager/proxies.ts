// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The objects a manager serves (a dict, a list, a namespace), one core
// under them: held by the runtime that created the manager, reached from
// anywhere else through the broker. See ARCHITECTURE.md, "Managers".

import { broker, registerRemoteKind, serveLocally } from "../_ipc/broker.ts";
import { copyValue, toRemoteForm } from "../_ipc/crossing.ts";
import { describe } from "../_util/repr.ts";
import { BrokenPipeError } from "../errors.ts";
import { pythonIndex } from "../sync/_cells.ts";

/** What a manager's objects share: whether the manager still serves. */
export interface ManagerLife {
  /** False once the manager is shut down. */
  alive: boolean;
  /** The manager's name, for messages. */
  name: string;
}

/** How a served object answers an operation, in its owner. */
type Handler = (op: string, args: unknown[]) => unknown;

/**
 * Under each proxy: in the owner, the object and its manager's life; in
 * any other runtime, the id its owner exported it by.
 */
class Core {
  readonly #kind: string;
  readonly #what: string;
  #owned: { handle: Handler; life: ManagerLife } | null = null;
  #id: string | null = null;

  constructor(kind: string, what: string) {
    this.#kind = kind;
    this.#what = what;
  }

  own(handle: Handler, life: ManagerLife): void {
    this.#owned = { handle, life };
  }

  adopt(proxy: object, id: string): void {
    this.#id = id;
    broker().adopt(proxy, id);
  }

  /**
   * Runs `op` in the owner. Arguments and answers are copies, as Python's
   * proxies pickle them: what the caller holds never aliases what the
   * manager holds.
   */
  call(op: string, args: unknown[]): Promise<unknown> {
    const owned = this.#owned;
    if (!owned) return broker().request(this.#id!, op, args);
    return serveLocally(() =>
      copyValue(this.#serve(owned, op, args.map((arg) => copyValue(arg))))
    );
  }

  #serve(
    owned: { handle: Handler; life: ManagerLife },
    op: string,
    args: unknown[],
  ): unknown {
    if (!owned.life.alive) {
      throw new BrokenPipeError(
        `Cannot ${op} on the ${this.#what}: ${owned.life.name} is shut down`,
      );
    }
    return owned.handle(op, args);
  }

  form(proxy: object): { kind: string; id: string; meta: unknown } {
    const owned = this.#owned;
    if (!owned) return broker().export(proxy, this.#kind, noServant, null);
    return broker().export(proxy, this.#kind, () => ({
      handle: (op, args) => this.#serve(owned, op, args),
    }), null);
  }
}

/** Never called: a proxy's export reuses its owner's id (broker.adopt). */
function noServant(): never {
  throw new TypeError("Cannot serve a proxy of another runtime's object");
}

/** Set while a proxy is being built from a remote form. */
let reviving: string | null = null;

/**
 * A dict a manager serves, as Python's `DictProxy`: every process and
 * thread it reaches sees one mapping. Keys compare as a `Map`'s do, so use
 * primitives (strings, numbers), as Python's keys are hashable values.
 * Values travel as copies.
 *
 * @typeParam K The keys' type.
 * @typeParam V The values' type.
 *
 * @example Count words from any process
 * ```ts
 * import { Manager } from "@parallel/multiprocessing/manager";
 * import { assertEquals } from "@std/assert";
 *
 * await using manager = Manager();
 * const counts = manager.dict<string, number>();
 * await counts.set("a", 1);
 * assertEquals(await counts.get("a"), 1);
 * assertEquals(await counts.items(), [["a", 1]]);
 * ```
 */
export class DictProxy<K = unknown, V = unknown> {
  #core = new Core("DictProxy", "dict");

  /**
   * Made by {@linkcode SyncManager.dict}.
   *
   * @param life The manager's life.
   * @param entries The first entries.
   * @ignore
   */
  constructor(life?: ManagerLife, entries: Iterable<[K, V]> = []) {
    if (reviving !== null) {
      this.#core.adopt(this, reviving);
      return;
    }
    const map = new Map<unknown, unknown>(copyValue([...entries]));
    this.#core.own((op, args) => dictOp(map, op, args), life!);
  }

  /**
   * The value for `key`, or `fallback` (`undefined`) if it has none, as
   * Python's `d.get(key, default)`.
   *
   * @param key The key.
   * @param fallback What to answer for a missing key.
   * @returns The value.
   */
  async get(key: K, fallback?: V): Promise<V | undefined> {
    return await this.#core.call("get", [key, fallback]) as V | undefined;
  }

  /**
   * Sets `key` to `value`, as Python's `d[key] = value`.
   *
   * @param key The key.
   * @param value The value; a copy is kept.
   */
  async set(key: K, value: V): Promise<void> {
    await this.#core.call("set", [key, value]);
  }

  /**
   * Whether `key` has a value, as Python's `key in d`.
   *
   * @param key The key.
   * @returns Whether it has one.
   */
  async has(key: K): Promise<boolean> {
    return await this.#core.call("has", [key]) as boolean;
  }

  /**
   * Removes `key`, as Python's `del d[key]`.
   *
   * @param key The key.
   * @returns Whether it had a value.
   */
  async delete(key: K): Promise<boolean> {
    return await this.#core.call("delete", [key]) as boolean;
  }

  /**
   * Removes `key` and answers its value, as Python's `d.pop(key, default)`.
   *
   * @param key The key.
   * @param fallback What to answer for a missing key; without it, a
   * missing key throws.
   * @returns The value.
   * @throws {RangeError} If the key is missing and there is no fallback
   * (Python's `KeyError`).
   */
  async pop(key: K, ...fallback: [V?]): Promise<V> {
    return await this.#core.call("pop", [key, ...fallback]) as V;
  }

  /**
   * The value for `key`, setting it to `value` first if it has none, as
   * Python's `d.setdefault(key, value)`.
   *
   * @param key The key.
   * @param value The value to set if it has none.
   * @returns The value it has now.
   */
  async setdefault(key: K, value: V): Promise<V> {
    return await this.#core.call("setdefault", [key, value]) as V;
  }

  /**
   * Sets every entry given, as Python's `d.update(...)`, at once: no other
   * call sees half of them.
   *
   * @param entries The entries, as `[key, value]` pairs or an object.
   */
  async update(entries: Iterable<[K, V]> | Record<string, V>): Promise<void> {
    const pairs = Symbol.iterator in Object(entries)
      ? [...entries as Iterable<[K, V]>]
      : Object.entries(entries);
    await this.#core.call("update", [pairs]);
  }

  /** The number of entries, as Python's `len(d)`. */
  async size(): Promise<number> {
    return await this.#core.call("size", []) as number;
  }

  /** The keys, in insertion order. */
  async keys(): Promise<K[]> {
    return await this.#core.call("keys", []) as K[];
  }

  /** The values, in insertion order. */
  async values(): Promise<V[]> {
    return await this.#core.call("values", []) as V[];
  }

  /** The `[key, value]` entries, in insertion order. */
  async items(): Promise<[K, V][]> {
    return await this.#core.call("items", []) as [K, V][];
  }

  /** Removes every entry. */
  async clear(): Promise<void> {
    await this.#core.call("clear", []);
  }

  /**
   * A copy of the whole mapping, as Python's `d.copy()`.
   *
   * @returns The entries, as a `Map`.
   */
  async copy(): Promise<Map<K, V>> {
    return new Map(await this.items());
  }

  /**
   * The keys, as Python's `for key in d`: a snapshot taken when the loop
   * starts.
   *
   * @returns The keys.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<K, void, undefined> {
    yield* await this.keys();
  }

  /**
   * The remote form, by which the dict reaches other processes and
   * threads: its manager's runtime serves it there.
   *
   * @returns The kind and the id.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return this.#core.form(this);
  }
}

function dictOp(map: Map<unknown, unknown>, op: string, args: unknown[]) {
  const [key, value] = args;
  switch (op) {
    case "get":
      return map.has(key) ? map.get(key) : value;
    case "set":
      map.set(key, value);
      return;
    case "has":
      return map.has(key);
    case "delete":
      return map.delete(key);
    case "pop": {
      if (map.has(key)) {
        const found = map.get(key);
        map.delete(key);
        return found;
      }
      if (args.length > 1) return value;
      throw new RangeError(
        `Cannot pop ${describe(key)}: the dict has no such key`,
      );
    }
    case "setdefault":
      if (!map.has(key)) map.set(key, value);
      return map.get(key);
    case "update":
      for (const [k, v] of key as [unknown, unknown][]) map.set(k, v);
      return;
    case "size":
      return map.size;
    case "keys":
      return [...map.keys()];
    case "values":
      return [...map.values()];
    case "items":
      return [...map.entries()];
    case "clear":
      map.clear();
      return;
    default:
      throw new TypeError(`Cannot run ${op} on a dict: unknown operation`);
  }
}

/**
 * A list a manager serves, as Python's `ListProxy`: every process and
 * thread it reaches sees one sequence. Indices may be negative, counting
 * from the end. Items travel as copies.
 *
 * @typeParam T The items' type.
 *
 * @example Append from anywhere
 * ```ts
 * import { Manager } from "@parallel/multiprocessing/manager";
 * import { assertEquals } from "@std/assert";
 *
 * await using manager = Manager();
 * const items = manager.list([1, 2]);
 * await items.append(3);
 * assertEquals(await items.get(-1), 3);
 * assertEquals(await items.toArray(), [1, 2, 3]);
 * ```
 */
export class ListProxy<T = unknown> {
  #core = new Core("ListProxy", "list");

  /**
   * Made by {@linkcode SyncManager.list}.
   *
   * @param life The manager's life.
   * @param items The first items.
   * @ignore
   */
  constructor(life?: ManagerLife, items: Iterable<T> = []) {
    if (reviving !== null) {
      this.#core.adopt(this, reviving);
      return;
    }
    const list = copyValue([...items]) as unknown[];
    this.#core.own((op, args) => listOp(list, op, args), life!);
  }

  /**
   * Adds an item at the end, as Python's `l.append(x)`.
   *
   * @param item The item; a copy is kept.
   */
  async append(item: T): Promise<void> {
    await this.#core.call("append", [item]);
  }

  /**
   * Adds items at the end, all at once, as Python's `l.extend(xs)`.
   *
   * @param items The items.
   */
  async extend(items: Iterable<T>): Promise<void> {
    await this.#core.call("extend", [[...items]]);
  }

  /**
   * Inserts an item before `index`, as Python's `l.insert(i, x)`.
   *
   * @param index Where; past either end means at that end.
   * @param item The item.
   */
  async insert(index: number, item: T): Promise<void> {
    await this.#core.call("insert", [index, item]);
  }

  /**
   * The item at `index`, as Python's `l[i]`.
   *
   * @param index The index; negative counts from the end.
   * @returns The item.
   * @throws {RangeError} If the index is out of range (Python's
   * `IndexError`).
   */
  async get(index: number): Promise<T> {
    return await this.#core.call("get", [index]) as T;
  }

  /**
   * Sets the item at `index`, as Python's `l[i] = x`.
   *
   * @param index The index; negative counts from the end.
   * @param item The item.
   * @throws {RangeError} If the index is out of range.
   */
  async set(index: number, item: T): Promise<void> {
    await this.#core.call("set", [index, item]);
  }

  /**
   * Removes and answers the item at `index` (the last by default), as
   * Python's `l.pop(i)`.
   *
   * @param index The index; negative counts from the end.
   * @returns The item.
   * @throws {RangeError} If the list is empty or the index out of range.
   */
  async pop(index = -1): Promise<T> {
    return await this.#core.call("pop", [index]) as T;
  }

  /**
   * Removes the first item equal to `item` (as `===` compares; `NaN`
   * matches `NaN`), as Python's `l.remove(x)`.
   *
   * @param item The item.
   * @throws {RangeError} If no item is equal (Python's `ValueError`).
   */
  async remove(item: T): Promise<void> {
    await this.#core.call("remove", [item]);
  }

  /**
   * The index of the first item equal to `item`, as Python's `l.index(x)`.
   *
   * @param item The item.
   * @returns Its index.
   * @throws {RangeError} If no item is equal.
   */
  async index(item: T): Promise<number> {
    return await this.#core.call("index", [item]) as number;
  }

  /**
   * How many items are equal to `item`, as Python's `l.count(x)`.
   *
   * @param item The item.
   * @returns How many.
   */
  async count(item: T): Promise<number> {
    return await this.#core.call("count", [item]) as number;
  }

  /** The number of items, as Python's `len(l)`. */
  async length(): Promise<number> {
    return await this.#core.call("length", []) as number;
  }

  /**
   * A copy of the items from `start` up to `end`, as Python's
   * `l[start:end]` and `Array.prototype.slice`.
   *
   * @param start Where to start; negative counts from the end.
   * @param end Where to stop, not included.
   * @returns The items.
   */
  async slice(start?: number, end?: number): Promise<T[]> {
    return await this.#core.call("slice", [start, end]) as T[];
  }

  /** Reverses the list in place, as Python's `l.reverse()`. */
  async reverse(): Promise<void> {
    await this.#core.call("reverse", []);
  }

  /**
   * Sorts the list in place in ascending order (numbers as numbers,
   * strings by code unit), as Python's `l.sort()`; `reverse` sorts it in
   * descending order.
   *
   * @param options Whether to sort in descending order.
   */
  async sort(options: { reverse?: boolean } = {}): Promise<void> {
    await this.#core.call("sort", [options.reverse === true]);
  }

  /** Removes every item. */
  async clear(): Promise<void> {
    await this.#core.call("clear", []);
  }

  /**
   * A copy of the whole list.
   *
   * @returns The items.
   */
  async toArray(): Promise<T[]> {
    return await this.slice();
  }

  /**
   * The items, as Python's `for x in l`: a snapshot taken when the loop
   * starts.
   *
   * @returns The items.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    yield* await this.toArray();
  }

  /**
   * The remote form, by which the list reaches other processes and
   * threads: its manager's runtime serves it there.
   *
   * @returns The kind and the id.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return this.#core.form(this);
  }
}

function listOp(list: unknown[], op: string, args: unknown[]) {
  const [first, second] = args;
  const find = (action: string) => {
    const i = list.findIndex((item) =>
      Object.is(item, first) || item === first
    );
    if (i < 0) {
      throw new RangeError(
        `Cannot ${action}: ${describe(first)} is not in the list`,
      );
    }
    return i;
  };
  switch (op) {
    case "append":
      list.push(first);
      return;
    case "extend":
      list.push(...first as unknown[]);
      return;
    case "insert": {
      const at = Number.isInteger(first) ? first as number : NaN;
      if (Number.isNaN(at)) pythonIndex(first, 1, "insert into the list");
      list.splice(at < 0 ? Math.max(0, list.length + at) : at, 0, second);
      return;
    }
    case "get":
      return list[pythonIndex(first, list.length, "get an item")];
    case "set":
      list[pythonIndex(first, list.length, "set an item")] = second;
      return;
    case "pop":
      if (list.length === 0) {
        throw new RangeError("Cannot pop from the list: it is empty");
      }
      return list.splice(pythonIndex(first, list.length, "pop an item"), 1)[0];
    case "remove":
      list.splice(find("remove it"), 1);
      return;
    case "index":
      return find("find it");
    case "count":
      return list.filter((item) => Object.is(item, first) || item === first)
        .length;
    case "length":
      return list.length;
    case "slice":
      return list.slice(
        first as number | undefined,
        second as number | undefined,
      );
    case "reverse":
      list.reverse();
      return;
    case "sort":
      list.sort((a, b) => ascending(a, b) * (first ? -1 : 1));
      return;
    case "clear":
      list.length = 0;
      return;
    default:
      throw new TypeError(`Cannot run ${op} on a list: unknown operation`);
  }
}

/** Python's order for numbers and strings; anything else refuses. */
function ascending(a: unknown, b: unknown): number {
  const kind = (x: unknown) => typeof x === "bigint" ? "number" : typeof x;
  if (kind(a) !== kind(b) || !["number", "string"].includes(kind(a))) {
    throw new TypeError(
      `Cannot sort the list: expected numbers or strings, received ${
        describe(a)
      } and ${describe(b)}`,
    );
  }
  return (a as number) < (b as number)
    ? -1
    : (a as number) > (b as number)
    ? 1
    : 0;
}

/**
 * A namespace a manager serves, as Python's `Namespace`: named values every
 * process and thread it reaches sees. Values travel as copies.
 *
 * @typeParam T The names and their values' types.
 *
 * @example Share settings
 * ```ts
 * import { Manager } from "@parallel/multiprocessing/manager";
 * import { assertEquals } from "@std/assert";
 *
 * await using manager = Manager();
 * const settings = manager.Namespace({ rounds: 3 });
 * await settings.set("rounds", 4);
 * assertEquals(await settings.get("rounds"), 4);
 * ```
 */
export class NamespaceProxy<
  T extends Record<string, unknown> = Record<string, unknown>,
> {
  #core = new Core("NamespaceProxy", "namespace");

  /**
   * Made by {@linkcode SyncManager.Namespace}.
   *
   * @param life The manager's life.
   * @param values The first values.
   * @ignore
   */
  constructor(life?: ManagerLife, values: Partial<T> = {}) {
    if (reviving !== null) {
      this.#core.adopt(this, reviving);
      return;
    }
    const names = new Map<string, unknown>(
      Object.entries(copyValue(values) as object),
    );
    this.#core.own((op, args) => namespaceOp(names, op, args), life!);
  }

  /**
   * A value, as Python's `ns.name`.
   *
   * @param name The name.
   * @returns Its value.
   * @throws {RangeError} If the name has no value (Python's
   * `AttributeError`).
   */
  async get<N extends keyof T & string>(name: N): Promise<T[N]> {
    return await this.#core.call("get", [name]) as T[N];
  }

  /**
   * Sets a value, as Python's `ns.name = value`.
   *
   * @param name The name.
   * @param value The value; a copy is kept.
   */
  async set<N extends keyof T & string>(name: N, value: T[N]): Promise<void> {
    await this.#core.call("set", [name, value]);
  }

  /**
   * Removes a value, as Python's `del ns.name`.
   *
   * @param name The name.
   * @returns Whether it had one.
   */
  async delete(name: keyof T & string): Promise<boolean> {
    return await this.#core.call("delete", [name]) as boolean;
  }

  /**
   * A copy of every value, as Python's `vars(ns)`.
   *
   * @returns The names and values.
   */
  async toObject(): Promise<Partial<T>> {
    return await this.#core.call("toObject", []) as Partial<T>;
  }

  /**
   * The remote form, by which the namespace reaches other processes and
   * threads: its manager's runtime serves it there.
   *
   * @returns The kind and the id.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return this.#core.form(this);
  }
}

function namespaceOp(names: Map<string, unknown>, op: string, args: unknown[]) {
  const [name, value] = args;
  if (typeof name !== "string" && op !== "toObject") {
    throw new TypeError(
      `Cannot ${op} on the namespace: expected a name, received ${
        describe(name)
      }`,
    );
  }
  switch (op) {
    case "get":
      if (!names.has(name as string)) {
        throw new RangeError(
          `Cannot get ${describe(name)}: the namespace has no such name`,
        );
      }
      return names.get(name as string);
    case "set":
      names.set(name as string, value);
      return;
    case "delete":
      return names.delete(name as string);
    case "toObject":
      return Object.fromEntries(names);
    default:
      throw new TypeError(`Cannot run ${op} on a namespace: unknown operation`);
  }
}

/** Builds the proxy for a remote form: the constructor adopts its id. */
function reviveAs(make: () => object) {
  return (id: string): object => {
    reviving = id;
    try {
      return make();
    } finally {
      reviving = null;
    }
  };
}

registerRemoteKind("DictProxy", reviveAs(() => new DictProxy()));
registerRemoteKind("ListProxy", reviveAs(() => new ListProxy()));
registerRemoteKind("NamespaceProxy", reviveAs(() => new NamespaceProxy()));
