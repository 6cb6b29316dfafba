// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Barrier: Python's `threading.Barrier` on shared memory, its error, and
// its servant and proxy for other processes.

import { broker, registerRemoteKind, type Servant } from "../_ipc/broker.ts";
import {
  registerMemoryKind,
  toMemoryForm,
  toRemoteForm,
} from "../_ipc/crossing.ts";
import { adopt, checkCount, newCells, revive } from "./_cells.ts";
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
import { BrokenBarrierError } from "../errors.ts";
import { runtime, type TargetRef } from "../_runtime/state.ts";
import {
  describeFunction,
  explainScope,
  resolveFunction,
} from "../_runtime/target.ts";
import { describe } from "../_util/repr.ts";
import { checkTimeout, type WaitOptions } from "../_util/wait_options.ts";

// BARRIER_STATE holds the phase (bits 0-1) and the count of tasks inside
// (bits 2-30); BARRIER_SEQ changes, with a notify, on every phase change.
const BARRIER_STATE = 0;
const BARRIER_SEQ = 1;
const FILLING = 0;
const DRAINING = 1;
const RESETTING = 2;
const BROKEN = 3;
const MAX_PARTIES = 2 ** 29 - 1;

export interface BarrierState {
  cells: SharedArrayBuffer;
  parties: number;
  timeout: number | undefined;
  action: TargetRef | null;
}

/** Options for {@linkcode Barrier}, as Python's `action` and `timeout`. */
export interface BarrierOptions {
  /**
   * Called by the last task to arrive, before any is let through, as
   * Python's `action`: if it throws, that task's `wait()` rejects with its
   * error and the barrier is broken. In another thread it is found as a
   * `Thread` target is (exported from a module the thread loaded, or
   * self-contained); in another process, it runs in the one that created
   * the barrier.
   *
   * @default {undefined}
   */
  action?: () => unknown;
  /**
   * The timeout of a `wait()` that gives none, in milliseconds.
   *
   * @default {undefined} (no limit)
   */
  timeout?: number;
}

/**
 * A barrier, as Python's `threading.Barrier`: `parties` tasks call
 * `wait()`, and all are let through when the last arrives; then it is
 * ready for the next round.
 *
 * `action` and `timeout`, as in Python, are options:
 * `new Barrier(3, { action, timeout: 5_000 })`.
 *
 * @example Meet
 * ```ts
 * import { Barrier } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const barrier = new Barrier(3);
 * const indices = await Promise.all([
 *   barrier.wait(),
 *   barrier.wait(),
 *   barrier.wait(),
 * ]);
 * assertEquals(indices.toSorted(), [0, 1, 2]);
 * ```
 */
export class Barrier {
  #cells: Int32Array;
  #parties: number;
  #timeout: number | undefined;
  #action: (() => unknown) | null;
  #actionRef: TargetRef | null;

  /**
   * Creates a barrier in shared memory.
   *
   * @param parties How many tasks must wait before all go through.
   * @param options Python's `action` and `timeout`.
   * @throws {TypeError} If `parties` is not an integer, or an option has
   * the wrong type.
   * @throws {RangeError} If `parties` is below 1 or above 536870911.
   */
  constructor(parties: number, options: BarrierOptions = {}) {
    const state = adopt<BarrierState>();
    if (state) {
      this.#cells = new Int32Array(state.cells);
      this.#parties = state.parties;
      this.#timeout = state.timeout;
      this.#actionRef = state.action;
      this.#action = state.action ? findAction(state.action) : null;
    } else {
      const checked = checkOptions(options);
      this.#timeout = checked.timeout;
      this.#action = checked.action;
      this.#actionRef = checked.action
        ? describeFunction(checked.action)
        : null;
      checkCount(parties, "create a barrier", "parties");
      if (parties < 1 || parties > MAX_PARTIES) {
        throw new RangeError(
          `Cannot create a barrier: expected parties from 1 to ${MAX_PARTIES}, received ${parties}`,
        );
      }
      this.#cells = newCells(2);
      this.#parties = parties;
    }
    // Other processes mirror the state word, for nWaiting and broken.
    remoteHooks.set(this, {
      changed: (known, signal) =>
        changeOf(this.#cells, BARRIER_STATE, null, known, signal),
      snapshot: () => Atomics.load(this.#cells, BARRIER_STATE),
    });
  }

  /** How many tasks must wait before all go through. */
  get parties(): number {
    return this.#parties;
  }

  /**
   * How many tasks wait now. In another process, a mirror of the owner's
   * count, which follows it shortly after each change.
   */
  get nWaiting(): number {
    return waitingIn(Atomics.load(this.#cells, BARRIER_STATE));
  }

  /**
   * Whether the barrier is broken. In another process, a mirror, as
   * {@linkcode Barrier.nWaiting}.
   */
  get broken(): boolean {
    return brokenIn(Atomics.load(this.#cells, BARRIER_STATE));
  }

  /**
   * Waits until `parties` tasks are waiting, then lets all through.
   *
   * A task arriving while the previous round still drains waits for it
   * (with no timeout, as Python). A timeout or an abort during the wait
   * breaks the barrier, as Python's timeout does, so that the other
   * parties do not wait for ever.
   *
   * @param options A timeout in milliseconds, or options with `timeout`
   * and `signal`; a negative timeout does not wait, as in
   * Python.
   * @returns The arrival index, from 0 for the first to `parties - 1` for
   * the last.
   * @throws {BrokenBarrierError} If the barrier is or becomes broken, or
   * the timeout passes.
   * @throws {TypeError} If the options are malformed.
   *
   * @example One party
   * ```ts
   * import { Barrier } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(await new Barrier(1).wait(), 0);
   * ```
   */
  async wait(options?: number | WaitOptions): Promise<number> {
    const { deadline, signal } = parseWait(
      this.#withTimeout(options),
      "wait on the barrier",
    );
    signal?.throwIfAborted();
    const cells = this.#cells;
    // Enter, once a previous round has drained.
    let index: number;
    let last: boolean;
    while (true) {
      const seq = Atomics.load(cells, BARRIER_SEQ);
      const state = Atomics.load(cells, BARRIER_STATE);
      const phase = state & 3;
      if (phase === BROKEN) throw new BrokenBarrierError();
      // Full and still filling: its last party runs the action.
      if (phase !== FILLING || state >>> 2 >= this.#parties) {
        // Unlike CPython, the timeout holds here too: a party stopped
        // mid-round (Thread.terminate()) could leave it draining for ever.
        if (!await waitOn(cells, BARRIER_SEQ, seq, deadline, signal)) {
          throw new BrokenBarrierError(
            "Cannot pass the barrier: its previous round did not end before the timeout",
          );
        }
        continue;
      }
      index = state >>> 2;
      last = index + 1 === this.#parties;
      const next = ((index + 1) << 2) |
        (last && !this.#action ? DRAINING : FILLING);
      if (
        Atomics.compareExchange(cells, BARRIER_STATE, state, next) !== state
      ) {
        continue;
      }
      Atomics.notify(cells, BARRIER_STATE);
      if (last && !this.#action) this.#bump();
      break;
    }
    try {
      if (last && this.#action) return await this.#act(index);
      while (true) {
        const seq = Atomics.load(cells, BARRIER_SEQ);
        const phase = Atomics.load(cells, BARRIER_STATE) & 3;
        if (phase === DRAINING) return index;
        if (phase !== FILLING) throw new BrokenBarrierError();
        let woken: boolean;
        try {
          woken = await waitOn(cells, BARRIER_SEQ, seq, deadline, signal);
        } catch (error) {
          this.#setPhase((p) => p === FILLING ? BROKEN : p);
          throw error;
        }
        if (!woken && this.#setPhase((p) => p === FILLING ? BROKEN : p)) {
          throw new BrokenBarrierError(
            "Cannot pass the barrier: the wait timed out, so the barrier is broken",
          );
        }
      }
    } finally {
      // Leave; the last to leave a drained or reset barrier refills it.
      let state = Atomics.load(cells, BARRIER_STATE);
      while (true) {
        const count = (state >>> 2) - 1;
        const phase = state & 3;
        const next = (count << 2) |
          (count === 0 && (phase === DRAINING || phase === RESETTING)
            ? FILLING
            : phase);
        const seen = Atomics.compareExchange(cells, BARRIER_STATE, state, next);
        if (seen === state) {
          Atomics.notify(cells, BARRIER_STATE);
          if ((next & 3) !== phase) this.#bump();
          break;
        }
        state = seen;
      }
    }
  }

  /**
   * The last party, where there is an action: runs it, then lets every
   * party through; if it throws, breaks the barrier and throws its error.
   */
  async #act(index: number): Promise<number> {
    try {
      await this.#action!();
    } catch (error) {
      this.#setPhase(() => BROKEN);
      throw error;
    }
    // Broken meanwhile (a party timed out): this one fails as they do.
    if (!this.#setPhase((p) => p === FILLING ? DRAINING : p)) {
      throw new BrokenBarrierError();
    }
    return index;
  }

  /** The wait's options, with the barrier's timeout where none is given. */
  #withTimeout(options: unknown): unknown {
    if (this.#timeout === undefined) return options;
    if (options === undefined) return this.#timeout;
    if (typeof options === "object" && options !== null) {
      const given = options as WaitOptions;
      if (given.timeout === undefined) {
        return { ...given, timeout: this.#timeout };
      }
    }
    return options;
  }

  /** Changes the phase; returns whether it changed. */
  #setPhase(change: (phase: number) => number): boolean {
    const cells = this.#cells;
    let state = Atomics.load(cells, BARRIER_STATE);
    while (true) {
      const phase = change(state & 3);
      if (phase === (state & 3)) return false;
      const next = (state & ~3) | phase;
      const seen = Atomics.compareExchange(cells, BARRIER_STATE, state, next);
      if (seen === state) break;
      state = seen;
    }
    Atomics.notify(cells, BARRIER_STATE);
    this.#bump();
    return true;
  }

  #bump(): void {
    Atomics.add(this.#cells, BARRIER_SEQ, 1);
    Atomics.notify(this.#cells, BARRIER_SEQ);
  }

  /**
   * Breaks the barrier: current and later waits reject with
   * {@linkcode BrokenBarrierError} until {@linkcode Barrier.reset}.
   *
   * @example Abort
   * ```ts
   * import { Barrier } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const barrier = new Barrier(2);
   * barrier.abort();
   * assertEquals(barrier.broken, true);
   * ```
   */
  abort(): void {
    this.#setPhase(() => BROKEN);
  }

  /**
   * Returns the barrier to its empty state. Tasks waiting now reject with
   * {@linkcode BrokenBarrierError}.
   *
   * @example Reset a broken barrier
   * ```ts
   * import { Barrier } from "@parallel/multiprocessing/sync";
   * import { assertEquals } from "@std/assert";
   *
   * const barrier = new Barrier(2);
   * barrier.abort();
   * barrier.reset();
   * assertEquals(barrier.broken, false);
   * ```
   */
  reset(): void {
    const cells = this.#cells;
    let state = Atomics.load(cells, BARRIER_STATE);
    while (true) {
      const phase = state & 3;
      const count = state >>> 2;
      const next = count > 0
        ? (state & ~3) | (phase === DRAINING ? DRAINING : RESETTING)
        : FILLING;
      const seen = Atomics.compareExchange(cells, BARRIER_STATE, state, next);
      if (seen === state) break;
      state = seen;
    }
    this.#bump();
  }

  /**
   * The remote form, by which the barrier reaches other processes: its
   * owner serves it there (see ARCHITECTURE.md).
   *
   * @returns The kind, the id and the metadata a proxy starts from.
   */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    return exportAs("Barrier", this, () => barrierServant(this), {
      parties: this.parties,
      state: mirrorMeta(this),
    });
  }

  /**
   * The memory form, by which the barrier crosses into threads by
   * reference.
   *
   * @returns The kind, the shared memory and the parties.
   */
  [toMemoryForm](): { kind: string; state: unknown } {
    return {
      kind: "Barrier",
      state: {
        cells: this.#cells.buffer,
        parties: this.#parties,
        timeout: this.#timeout,
        action: this.#actionRef,
      } as BarrierState,
    };
  }
}

registerMemoryKind<BarrierState>(
  "Barrier",
  (state) => revive(state, () => new Barrier(state.parties)),
);

function barrierServant(barrier: Barrier): Servant {
  return {
    handle(op, args, call) {
      switch (op) {
        case "wait":
          return barrier.wait({
            timeout: args[0] as number | undefined,
            signal: call.signal,
          });
        case "abort":
          return barrier.abort();
        case "reset":
          return barrier.reset();
        default:
          return watch(barrier, op, args, call);
      }
    },
  };
}

registerRemoteKind("Barrier", (id, meta) => {
  const { parties, state } = meta as { parties: number; state: number };
  const mirrored = mirror(id, state);
  const parse = parseWait;
  return proxy(Barrier, id, {
    async wait(options?: number | WaitOptions): Promise<number> {
      const { timeout, signal } = parse(options, "wait at the barrier");
      signal?.throwIfAborted();
      publishCopies();
      const index = await request(id, "wait", [
        timeout === Infinity ? undefined : timeout,
      ], signal);
      await refreshCopies();
      return index as number;
    },
    abort(): void {
      broker().post(id, "abort", []);
    },
    reset(): void {
      broker().post(id, "reset", []);
    },
  }, {
    parties: () => parties,
    nWaiting: () => waitingIn(mirrored.get()),
    broken: () => brokenIn(mirrored.get()),
  });
});

/** How many tasks wait, from the state word. */
function waitingIn(state: number): number {
  return (state & 3) === FILLING ? state >>> 2 : 0;
}

/** Whether the barrier is broken, from the state word. */
function brokenIn(state: number): boolean {
  return (state & 3) === BROKEN;
}

function checkOptions(
  options: unknown,
): { action: (() => unknown) | null; timeout: number | undefined } {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot create a barrier: expected an options object, received ${
        describe(options)
      }`,
    );
  }
  const { action, timeout } = options as BarrierOptions;
  if (action !== undefined && typeof action !== "function") {
    throw new TypeError(
      `Cannot create a barrier: expected action to be a function, received ${
        describe(action)
      }`,
    );
  }
  return {
    action: action ?? null,
    timeout: checkTimeout(timeout, "create a barrier", "now"),
  };
}

/**
 * The action in this thread: found as a thread's target is, among the
 * modules this runtime loaded; one that cannot be found throws when it is
 * due, breaking the barrier with why.
 */
function findAction(ref: TargetRef): () => unknown {
  const state = runtime();
  try {
    const modules = state.header?.modules ?? [];
    const { fn, fromSource } = resolveFunction(
      ref,
      state.namespaces ?? [],
      modules,
    );
    return fromSource ? explainScope(fn, ref.name, modules) : fn;
  } catch (error) {
    return () => {
      throw error;
    };
  }
}
