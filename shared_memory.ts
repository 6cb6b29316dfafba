// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's `multiprocessing.shared_memory`: {@linkcode SharedMemory}, a
 * block of memory that processes and threads map by name, the same bytes
 * in all of them. Deno has no `SharedArrayBuffer` between processes, so the
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
