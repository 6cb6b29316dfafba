// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Event: Python's `threading.Event` on shared memory, and its servant and
// proxy for other processes.

import { broker, registerRemoteKind, type Servant } from "../_ipc/broker.ts";
import {
  registerMemoryKind,
  toMemoryForm,
  toRemoteForm,
} from "../_ipc/crossing.ts";
import type { WaitOptions } from "../_util/wait_options.ts";
import { adopt, newCells, revive } from "./_cells.ts";
import {
  exportAs,
  mirror,
  mirrorMeta,
  proxy,
  publishCopies,
  refreshCopies,
  remoteHooks,
  request,
  watch,
} from "./_remote.ts";
import { changeOf, parseWait, waitOn } from "./_wait.ts";

export interface EventState {
  cells: SharedArrayBuffer;
}

/**
 * An event, as Python's `threading.Event`: a flag that tasks wait on until
 * another sets it.
 *
 * @example Wake a waiter
 * ```ts
 * import { Event } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const event = new Event();
 * const waiter = event.wait();
 * event.set();
 * assertEquals(await waiter, true);
 * ```
 */
export class Event {
  #cells: Int32Array;

  /**
   * Creates a cleared event in shared memory.
   */
  constructor() {
    const state = adopt<EventState>();
    // Cell 0 is the flag; cell 1 counts the sets, so that a waiter woken by
    // a set() returns true even if a clear() came before it looked.
    this.#cells = state ? new Int32Array(state.cells) : newCells(2);
    remoteHooks.set(this, {
      changed: (known, signal) => changeOf(this.#cells, 0, null, known, signal),
      snapshot: () => Atomics.load(this.#cells, 0),
    });
  }

  /**
   * Tells whether the flag is set.
   *
   * @returns The flag.
   *
   * @example A new event is clear
   * ```ts
   * import { Event } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new Event().isSet(), false);
   * ```
   */
  isSet(): boolean {
    return Atomics.load(this.#cells, 0) === 1;
  }

  /**
   * Sets the flag, waking every waiter.
   *
   * @example Set
   * ```ts
   * import { Event } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const event = new Event();
   * event.set();
   * assertEquals(event.isSet(), true);
   * ```
   */
  set(): void {
    Atomics.store(this.#cells, 0, 1);
    Atomics.add(this.#cells, 1, 1);
    Atomics.notify(this.#cells, 0);
    Atomics.notify(this.#cells, 1);
  }

  /**
   * Clears the flag, so that later waits wait again.
   *
   * @example Clear
   * ```ts
   * import { Event } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const event = new Event();
   * event.set();
   * event.clear();
   * assertEquals(event.isSet(), false);
   * ```
   */
  clear(): void {
    Atomics.store(this.#cells, 0, 0);
    // Wakes only watchers in other processes' servants: waiters wait for a
    // set.
    Atomics.notify(this.#cells, 0);
  }

  /**
   * Waits until the flag is set.
   *
   * @param options A timeout in milliseconds, or options with `timeout`
   * and `signal`; a negative timeout does not wait, as in
   * Python.
   * @returns `true` once the flag is set, even if it was cleared again
   * before this waiter ran (as in Python); `false` if the timeout passed
   * first.
   * @throws {TypeError} If the options are malformed.
   *
   * @example Time out
   * ```ts
   * import { Event } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(await new Event().wait(10), false);
   * ```
   */
  async wait(options?: number | WaitOptions): Promise<boolean> {
    const { deadline, signal } = parseWait(options, "wait on the event");
    signal?.throwIfAborted();
    const sets = Atomics.load(this.#cells, 1);
    while (true) {
      if (this.isSet() || Atomics.load(this.#cells, 1) !== sets) return true;
      if (!await waitOn(this.#cells, 1, sets, deadline, signal)) {
        return this.isSet();
      }
    }
  }

  /**
   * The remote form, by which the event reaches other processes: its
   * owner serves it there (see ARCHITECTURE.md).
   *
   * @returns The kind, the id and the metadata a proxy starts from.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return exportAs("Event", this, () => eventServant(this), mirrorMeta(this));
  }

  /**
   * The memory form, by which the event crosses into threads by reference.
   *
   * @returns The kind and the shared memory.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return {
      kind: "Event",
      state: { cells: this.#cells.buffer } as EventState,
    };
  }
}

registerMemoryKind<EventState>(
  "Event",
  (state) => revive(state, () => new Event()),
);

function eventServant(event: Event): Servant {
  return {
    handle(op, args, call) {
      switch (op) {
        case "set":
          return event.set();
        case "clear":
          return event.clear();
        case "wait":
          return event.wait({
            timeout: args[0] as number | undefined,
            signal: call.signal,
          });
        default:
          return watch(event, op, args, call);
      }
    },
  };
}

registerRemoteKind("Event", (id, meta) => {
  const flag = mirror(id, meta as number);
  const parse = parseWait;
  return proxy(Event, id, {
    isSet(): boolean {
      return flag.get() === 1;
    },
    set(): void {
      flag.set(1);
      publishCopies();
      broker().post(id, "set", []);
    },
    clear(): void {
      flag.set(0);
      broker().post(id, "clear", []);
    },
    async wait(options?: number | WaitOptions): Promise<boolean> {
      const { timeout, signal } = parse(options, "wait on the event");
      signal?.throwIfAborted();
      const ok = await request(id, "wait", [
        timeout === Infinity ? undefined : timeout,
      ], signal);
      if (ok) {
        flag.set(1);
        await refreshCopies();
      }
      return ok as boolean;
    },
  });
});
