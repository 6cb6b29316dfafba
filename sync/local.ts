// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// local: Python's `threading.local`, data of each thread's own.

import { registerMemoryKind, toMemoryForm } from "../_ipc/crossing.ts";

/**
 * Data of each thread's own, as Python's `threading.local()`: the fields
 * set on it in one thread are not seen in another. Passed to a thread, it
 * arrives there empty, a `local` of that thread; it cannot go to a process
 * (Python cannot pickle one either).
 *
 * Module state is already each thread's own here (every worker loads its
 * own copy of its modules), so a `local` at module level behaves as
 * Python's; this class is for one passed between threads, or kept in an
 * object they share.
 *
 * @example Each thread's own fields
 * ```ts
 * import { local } from "@parallel/multiprocessing/thread";
 * import { assertEquals } from "@std/assert";
 *
 * const data = new local();
 * data.user = "ada";
 * assertEquals(data.user, "ada");
 * ```
 */
export class local {
  /** Any field, as Python's attributes on a `local`. */
  // deno-lint-ignore no-explicit-any
  [field: string]: any;

  /**
   * Creates a local, with the fields it starts with in this thread.
   *
   * @param fields The fields it starts with.
   */
  constructor(fields?: Record<string, unknown>) {
    Object.assign(this, fields);
  }

  /**
   * The memory form: a thread gets a `local` of its own, empty.
   *
   * @returns The kind, and nothing of this thread's fields.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return { kind: "local", state: null };
  }
}

registerMemoryKind("local", () => new local());
