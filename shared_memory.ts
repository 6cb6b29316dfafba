// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's `multiprocessing.shared_memory`: {@linkcode SharedMemory}, a
 * block of memory that processes and threads map by name, the same bytes
 * in all of them, and {@linkcode ShareableList}, a list kept in one. Deno has no `SharedArrayBuffer` between processes, so the
 * block is POSIX shared memory mapped through FFI: it needs Linux and
 * `--allow-ffi` in every process that maps it.
 *
 * @example Write in a child, read here
 * ```ts ignore
 * import { Process } from "@parallel/multiprocessing";
 * import { SharedMemory } from "@parallel/multiprocessing/shared-memory";
 *
 * export function fill(block: SharedMemory) {
 *   new Uint8Array(block.buf).fill(7);
 *   block.close();
 * }
 *
 * if (import.meta.main) {
 *   using block = new SharedMemory({ create: true, size: 16 });
 *   const child = new Process({ target: fill, args: [block] });
 *   child.start();
 *   await child.join();
 *   console.log(new Uint8Array(block.buf)[0]); // 7
 *   block.unlink();
 * }
 * ```
 *
 * @module
 */

import { registerRemoteKind, type Servant } from "./_ipc/broker.ts";
import {
  registerMemoryKind,
  toMemoryForm,
  toRemoteForm,
} from "./_ipc/crossing.ts";
import { mapSegment, type Segment, unlinkSegment } from "./_runtime/shm.ts";
import { exportAs } from "./sync/_remote.ts";
import { describe } from "./_util/repr.ts";
import { indexed, pythonIndex } from "./sync/_cells.ts";

/** Options for {@linkcode SharedMemory}, as Python's arguments. */
export interface SharedMemoryOptions {
  /**
   * The block's name. Without it, a new block gets a random one.
   *
   * @default {undefined}
   */
  name?: string;
  /**
   * Whether to create the block (it must not exist) rather than open it.
   *
   * @default {false}
   */
  create?: boolean;
  /**
   * The size in bytes of a block to create; an opened block has its own.
   *
   * @default {0}
   */
  size?: number;
}

/** Blocks this runtime created and has not unlinked: unlinked at exit. */
const created = new Set<string>();
let exitHook = false;

/**
 * A block of shared memory, as Python's `shared_memory.SharedMemory`:
 * `buf` is the same bytes in every process and thread that opens it by
 * `name`. Passed to a `Process` or a `Thread`, it arrives opened there.
 *
 * As Python's resource tracker does, a block this runtime created and did
 * not `unlink()` is unlinked when this runtime exits; a process killed by
 * `SIGKILL` leaves it in `/dev/shm`.
 *
 * @example Create, write and read
 * ```ts
 * import { SharedMemory } from "@parallel/multiprocessing/shared-memory";
 * import { assertEquals } from "@std/assert";
 *
 * const block = new SharedMemory({ create: true, size: 8 });
 * const same = new SharedMemory({ name: block.name });
 * new Uint8Array(block.buf)[0] = 1;
 * assertEquals(new Uint8Array(same.buf)[0], 1);
 * same.close();
 * block.close();
 * block.unlink();
 * ```
 */
export class SharedMemory {
  #name: string;
  #segment: Segment | null;

  /**
   * Creates or opens a block.
   *
   * @param options Its name, whether to create it, and its size.
   * @throws {TypeError} If an option has the wrong type, or neither a name
   * nor `create` is given.
   * @throws {RangeError} If a block to create has no positive size.
   * @throws {Deno.errors.NotCapable} Without `--allow-ffi`.
   * @throws {Deno.errors.AlreadyExists} If `create` and the name is taken.
   * @throws {Deno.errors.NotFound} If the block to open does not exist.
   */
  constructor(options: SharedMemoryOptions = {}) {
    const { name, create = false, size = 0 } = checkOptions(options);
    this.#name = name ?? `psm_${crypto.randomUUID().replaceAll("-", "")}`;
    this.#segment = mapSegment(this.#name, create, size);
    if (create) {
      created.add(this.#name);
      if (!exitHook) {
        exitHook = true;
        globalThis.addEventListener("unload", unlinkCreated);
      }
    }
  }

  /** The block's name, which other processes open it by. */
  get name(): string {
    return this.#name;
  }

  /** The block's size in bytes (at least the size asked for). */
  get size(): number {
    return this.#open("read the size").size;
  }

  /**
   * The block's bytes, as Python's `buf`: view them with a typed array.
   * `Atomics` works on them, but not `Atomics.wait()` (the buffer is not
   * a `SharedArrayBuffer`).
   *
   * @throws {Error} If the block is closed here.
   */
  get buf(): ArrayBuffer {
    return this.#open("read the buffer").buffer;
  }

  /**
   * Unmaps the block here, as Python's `close()`: views of `buf` become
   * empty. The block lives on for the others. Closing again does nothing.
   */
  close(): void {
    this.#segment?.unmap();
    this.#segment = null;
  }

  /**
   * Removes the block's name, as Python's `unlink()`, once, from one
   * process: the memory goes when the last process closes it.
   *
   * @throws {Deno.errors.NotFound} If it was unlinked already.
   */
  unlink(): void {
    created.delete(this.#name);
    unlinkSegment(this.#name);
  }

  /** Closes the block here, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The form in transit to another process: its name, which it is opened
   * by there.
   *
   * @returns The kind, the id and the name.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return exportAs("SharedMemory", this, noServant, this.#name);
  }

  /**
   * The form in transit to another thread: its name, as for a process.
   *
   * @returns The kind and the name.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return { kind: "SharedMemory", state: this.#name };
  }

  #open(action: string): Segment {
    if (!this.#segment) {
      throw new Error(
        `Cannot ${action} of shared memory ${this.#name}: it is closed here`,
      );
    }
    return this.#segment;
  }
}

/** Nothing to serve: the block is opened by name where it arrives. */
function noServant(): Servant {
  return {
    handle(op) {
      throw new TypeError(
        `Cannot run ${op} on shared memory: it is opened by name, not served`,
      );
    },
  };
}

function unlinkCreated(): void {
  for (const name of created) {
    try {
      unlinkSegment(name);
    } catch {
      // Unlinked by another process meanwhile.
    }
  }
  created.clear();
}

function checkOptions(options: unknown): SharedMemoryOptions {
  const action = "create or open shared memory";
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${action}: expected an options object, received ${
        describe(options)
      }`,
    );
  }
  const { name, create = false, size = 0 } = options as SharedMemoryOptions;
  if (
    name !== undefined &&
    (typeof name !== "string" || !/^[\w.-]{1,200}$/.test(name))
  ) {
    throw new TypeError(
      `Cannot ${action}: expected name to be letters, digits, "_", "." or "-", received ${
        describe(name)
      }`,
    );
  }
  if (typeof create !== "boolean") {
    throw new TypeError(
      `Cannot ${action}: expected create to be a boolean, received ${
        describe(create)
      }`,
    );
  }
  if (!Number.isSafeInteger(size)) {
    throw new TypeError(
      `Cannot ${action}: expected size to be an integer, received ${
        describe(size)
      }`,
    );
  }
  if (create && size <= 0) {
    throw new RangeError(
      `Cannot ${action}: expected a size > 0 for a block to create, received ${size}`,
    );
  }
  if (!create && name === undefined) {
    throw new TypeError(
      `Cannot ${action}: expected a name to open, or create: true`,
    );
  }
  return { name, create, size };
}

registerMemoryKind<string>(
  "SharedMemory",
  (name) => new SharedMemory({ name }),
);
registerRemoteKind(
  "SharedMemory",
  (_id, name) => new SharedMemory({ name: name as string }),
);

/** What a {@linkcode ShareableList} holds, as Python's. */
export type ShareableItem =
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | null;

const MAGIC = 0x534c7374; // "SLst"
const HEADER = 8;
const SLOT = 16;
const TAG = { null: 0, number: 1, bigint: 2, boolean: 3, string: 4, bytes: 5 };

/**
 * A list of fixed length in a {@linkcode SharedMemory} block, as Python's
 * `shared_memory.ShareableList`: numbers, bigints, booleans, strings,
 * bytes (`Uint8Array`) and `null`, the same in every process and thread
 * that opens it by name. An item may be replaced by any other that fits
 * its slot: a string or bytes no longer than the first one (rounded up to
 * 8 bytes), or anything of 8 bytes or fewer. Reads and writes are not
 * locked, as in Python: guard them with a `Lock` if tasks race.
 *
 * @example Python's `sl[i]`
 * ```ts
 * import { ShareableList } from "@parallel/multiprocessing/shared-memory";
 * import { assertEquals } from "@std/assert";
 *
 * const list = new ShareableList([1, "two", null]);
 * list[0] = 10;
 * list[1] = "2";
 * assertEquals([...list], [10, "2", null]);
 * list.shm.close();
 * list.shm.unlink();
 * ```
 */
export class ShareableList {
  /** Item `index`, as `get(index)` and `set(index, value)` do. */
  [index: number]: ShareableItem;
  #shm: SharedMemory;
  #view: DataView;
  #length: number;

  /**
   * Creates a list of `items` in a new block, or, with `items` null,
   * opens the list in the block `name`.
   *
   * @param items The items of a new list.
   * @param options The block's name: to open, or for a new one.
   * @throws {TypeError} If an item is of a type a list cannot hold, or
   * the block holds no list.
   * @throws {Deno.errors.NotCapable} Without `--allow-ffi`.
   */
  constructor(
    items: Iterable<ShareableItem> | null,
    options: { name?: string } = {},
  ) {
    if (items === null) {
      this.#shm = new SharedMemory({ name: options.name });
      this.#view = new DataView(this.#shm.buf);
      if (this.#view.getUint32(0) !== MAGIC) {
        this.#shm.close();
        throw new TypeError(
          `Cannot open shareable list ${options.name}: its block holds no list`,
        );
      }
      this.#length = this.#view.getUint32(4);
    } else {
      const list = [...items].map((item, i) =>
        [item, sizeOf(item, i)] as const
      );
      const data = list.reduce((sum, [, size]) => sum + size, 0);
      this.#shm = new SharedMemory({
        name: options.name,
        create: true,
        size: HEADER + SLOT * list.length + Math.max(data, 8),
      });
      this.#view = new DataView(this.#shm.buf);
      this.#view.setUint32(0, MAGIC);
      this.#view.setUint32(4, list.length);
      let offset = HEADER + SLOT * list.length;
      list.forEach(([item, size], i) => {
        this.#view.setUint32(HEADER + SLOT * i + 4, size);
        this.#view.setUint32(HEADER + SLOT * i + 12, offset);
        offset += size;
        this.#write(i, item);
      });
      this.#length = list.length;
    }
    // What the constructor returns: the list with index access.
    return indexed(this);
  }

  /** The block the list lives in. */
  get shm(): SharedMemory {
    return this.#shm;
  }

  /** The number of items, fixed. */
  get length(): number {
    return this.#length;
  }

  /**
   * Reads an item; a negative index counts from the end, as in Python.
   *
   * @param index The item's index.
   * @returns The item.
   * @throws {RangeError} If `index` is out of range.
   */
  get(index: number): ShareableItem {
    const slot = HEADER +
      SLOT * pythonIndex(index, this.#length, "get an item");
    const view = this.#view;
    const length = view.getUint32(slot + 8);
    const at = view.getUint32(slot + 12);
    switch (view.getUint8(slot)) {
      case TAG.number:
        return view.getFloat64(at);
      case TAG.bigint:
        return view.getBigInt64(at);
      case TAG.boolean:
        return view.getUint8(at) === 1;
      case TAG.string:
        return new TextDecoder().decode(
          new Uint8Array(view.buffer, at, length),
        );
      case TAG.bytes:
        return new Uint8Array(view.buffer, at, length).slice();
      default:
        return null;
    }
  }

  /**
   * Writes an item; a negative index counts from the end, as in Python.
   *
   * @param index The item's index.
   * @param value The new item, which must fit the slot.
   * @throws {RangeError} If `index` is out of range, or `value` needs more
   * bytes than the slot has (Python's `ValueError`).
   * @throws {TypeError} If the list cannot hold `value`'s type.
   */
  set(index: number, value: ShareableItem): void {
    const i = pythonIndex(index, this.#length, "set an item");
    const capacity = this.#view.getUint32(HEADER + SLOT * i + 4);
    const needed = sizeOf(value, i);
    const used = typeof value === "string"
      ? new TextEncoder().encode(value).length
      : value instanceof Uint8Array
      ? value.length
      : needed;
    if (used > capacity) {
      throw new RangeError(
        `Cannot set item ${index}: it needs ${used} bytes, and its slot has ${capacity}`,
      );
    }
    this.#write(i, value);
  }

  /**
   * The index of the first item equal to `value`, as Python's
   * `sl.index(value)`.
   *
   * @param value The item.
   * @returns Its index.
   * @throws {RangeError} If no item is equal.
   */
  index(value: ShareableItem): number {
    for (let i = 0; i < this.#length; i++) {
      if (same(this.get(i), value)) return i;
    }
    throw new RangeError(
      `Cannot find ${describe(value)}: it is not in the list`,
    );
  }

  /**
   * How many items are equal to `value`, as Python's `sl.count(value)`.
   *
   * @param value The item.
   * @returns How many.
   */
  count(value: ShareableItem): number {
    let found = 0;
    for (let i = 0; i < this.#length; i++) {
      if (same(this.get(i), value)) found++;
    }
    return found;
  }

  /**
   * The items, in order, as Python's `for x in sl`.
   *
   * @returns The items.
   */
  *[Symbol.iterator](): IterableIterator<ShareableItem> {
    for (let i = 0; i < this.#length; i++) yield this.get(i);
  }

  /**
   * The form in transit to another process: its block's name.
   *
   * @returns The kind, the id and the name.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return exportAs("ShareableList", this, noServant, this.#shm.name);
  }

  /**
   * The form in transit to another thread: its block's name.
   *
   * @returns The kind and the name.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return { kind: "ShareableList", state: this.#shm.name };
  }

  #write(i: number, value: ShareableItem): void {
    const view = this.#view;
    const slot = HEADER + SLOT * i;
    const at = view.getUint32(slot + 12);
    let tag = TAG.null;
    let length = 0;
    if (typeof value === "number") {
      [tag, length] = [TAG.number, 8];
      view.setFloat64(at, value);
    } else if (typeof value === "bigint") {
      [tag, length] = [TAG.bigint, 8];
      view.setBigInt64(at, value);
    } else if (typeof value === "boolean") {
      [tag, length] = [TAG.boolean, 1];
      view.setUint8(at, value ? 1 : 0);
    } else if (typeof value === "string" || value instanceof Uint8Array) {
      const bytes = typeof value === "string"
        ? new TextEncoder().encode(value)
        : value;
      [tag, length] = [
        typeof value === "string" ? TAG.string : TAG.bytes,
        bytes.length,
      ];
      new Uint8Array(view.buffer, at, bytes.length).set(bytes);
    }
    view.setUint32(slot + 8, length);
    view.setUint8(slot, tag);
  }
}

/**
 * The bytes an item's slot takes: 8, or a string's or bytes' length
 * rounded up to 8 (as Python's, a `null` slot can take a number later).
 */
function sizeOf(item: unknown, index: number): number {
  if (
    item === null || typeof item === "number" || typeof item === "bigint" ||
    typeof item === "boolean"
  ) {
    return 8;
  }
  if (typeof item === "string" || item instanceof Uint8Array) {
    const length = typeof item === "string"
      ? new TextEncoder().encode(item).length
      : item.length;
    return Math.max(8, Math.ceil(length / 8) * 8);
  }
  throw new TypeError(
    `Cannot put item ${index} in a shareable list: expected a number, bigint, boolean, string, Uint8Array or null, received ${
      describe(item)
    }`,
  );
}

function same(a: ShareableItem, b: ShareableItem): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
  return Object.is(a, b) || a === b;
}

registerMemoryKind<string>(
  "ShareableList",
  (name) => new ShareableList(null, { name }),
);
registerRemoteKind(
  "ShareableList",
  (_id, name) => new ShareableList(null, { name: name as string }),
);
