// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// What Process and Thread share: their contract, option checks, Python's
// repr quoting, and waits with a timeout and a signal.

import type { TargetRef } from "../_runtime/state.ts";
import {
  describe,
  describeFunction,
  inferModules,
  resolveModule,
} from "../_runtime/target.ts";

/** A timeout in milliseconds and a signal, for every wait. */
export interface WaitOptions {
  /** How long to wait in milliseconds; `Infinity` or left out: for ever. */
  timeout?: number;
  /** Aborting it rejects the wait with `signal.reason`. */
  signal?: AbortSignal;
}

/** The longest delay setTimeout takes. */
export const MAX_TIMER = 2 ** 31 - 1;

/**
 * Whether this Deno is older than `major.minor`. Where a release lacks what
 * the package uses, the check names it (see ARCHITECTURE.md, "Supported Deno
 * releases").
 */
export function denoBefore(major: number, minor: number): boolean {
  const [ownMajor, ownMinor] = Deno.version.deno.split(".").map(Number);
  return ownMajor < major || (ownMajor === major && ownMinor < minor);
}

/**
 * A timer for any delay: setTimeout takes at most 2^31 - 1 ms, so longer
 * ones are chained. `unref` keeps it from holding the event loop.
 */
export class Deadline {
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Arms the timer.
   *
   * @param ms The delay in milliseconds.
   * @param fire What to run when it is over.
   * @param unref Whether the timer lets the event loop end.
   */
  constructor(ms: number, fire: () => void, unref = false) {
    const end = performance.now() + ms;
    const arm = () => {
      const left = end - performance.now();
      this.#timer = setTimeout(
        left > MAX_TIMER ? arm : fire,
        Math.max(0, Math.min(left, MAX_TIMER)),
      );
      if (unref) Deno.unrefTimer(this.#timer);
    };
    arm();
  }

  /** Disarms the timer. */
  clear(): void {
    clearTimeout(this.#timer);
  }
}

export function checkName(value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot set name: expected a string, received ${describe(value)}`,
    );
  }
  if (value === "") {
    throw new RangeError(
      "Cannot set name: expected a non-empty string, received an empty one",
    );
  }
  return value;
}

export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot set ${option}: expected a boolean, received ${describe(value)}`,
    );
  }
  return value;
}

/** What no options mean: wait for as long as it takes. */
const NO_OPTIONS: WaitOptions = Object.freeze({
  timeout: undefined,
  signal: undefined,
});

/** Python's `repr()` of a string. */
export function pyRepr(text: string): string {
  if (text.includes("'") && !text.includes('"')) return `"${text}"`;
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

export function waitOptions(
  options: unknown,
  action = "wait",
): WaitOptions {
  if (options === undefined) return NO_OPTIONS;
  const normalized = typeof options === "number"
    ? { timeout: options }
    : options;
  if (typeof normalized !== "object" || normalized === null) {
    throw new TypeError(
      `Cannot ${action}: expected a timeout in milliseconds or { timeout, signal }, received ${
        describe(options)
      }`,
    );
  }
  const { timeout, signal } = normalized as WaitOptions;
  if (timeout !== undefined) {
    if (typeof timeout !== "number" || Number.isNaN(timeout)) {
      throw new TypeError(
        `Cannot ${action}: expected timeout to be a number of milliseconds, received ${
          describe(timeout)
        }`,
      );
    }
    if (timeout < 0) {
      throw new RangeError(
        `Cannot ${action}: expected timeout to be a number >= 0, received ${timeout}`,
      );
    }
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${action}: expected signal to be an AbortSignal, received ${
        describe(signal)
      }`,
    );
  }
  // Infinity waits for as long as it takes, as no timeout does.
  return { timeout: timeout === Infinity ? undefined : timeout, signal };
}

/**
 * Resolves when `promise` settles or `timeout` ms pass; rejects with the
 * signal's reason if it aborts first. Cleans up its timer and listener.
 */
export function settle(
  promise: Promise<void>,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (timeout === undefined && signal === undefined) return promise;
  return new Promise<void>((resolve, reject) => {
    // setTimeout takes at most 2^31 - 1 ms: longer waits are chained.
    const end = performance.now() + (timeout ?? 0);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      const left = end - performance.now();
      timer = left <= 0 ? setTimeout(done, 0) : setTimeout(
        left > MAX_TIMER ? arm : done,
        Math.min(left, MAX_TIMER),
      );
    };
    if (timeout !== undefined) arm();
    const onAbort = () => {
      cleanup();
      reject(signal!.reason);
    };
    function cleanup() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
    function done() {
      cleanup();
      resolve();
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(done, (error) => {
      cleanup();
      reject(error);
    });
  });
}

const holds = new WeakMap<object, number>();

/**
 * Counts what holds an unref'd handle (a child process or a worker) to the
 * event loop: it is ref'd while anything does. Everything that refs such a
 * handle goes through here (a join, a link waiting for an answer, the exit
 * rules), or one would unref it under another.
 *
 * @param handle The child process or worker.
 * @param held Whether one more holds it (true) or one lets go (false).
 * @param unref Whether the last to let go unrefs it.
 */
export function holdHandle(
  handle: { ref(): void; unref(): void },
  held: boolean,
  unref = true,
): void {
  const count = (holds.get(handle) ?? 0) + (held ? 1 : -1);
  holds.set(handle, count);
  if (held && count === 1) handle.ref();
  if (!held && count === 0 && unref) handle.unref();
}

/**
 * Keeps this process alive while `waiting` is pending for an unref'd
 * handle (a child process or a worker), counting overlapping waits; after
 * the last one, unrefs the handle again if `unrefAfter()` says so.
 */
export async function keepAliveWhile(
  handle: { ref(): void; unref(): void },
  waiting: Promise<void>,
  unrefAfter: () => boolean,
): Promise<void> {
  holdHandle(handle, true);
  try {
    await waiting;
  } finally {
    holdHandle(handle, false, unrefAfter());
  }
}

/**
 * An option the package's own code gives Process and Thread: more modules
 * for the child to import after the target's (a pool's worker loop).
 */
export const EXTRA_MODULES: unique symbol = Symbol.for(
  "@parallel/multiprocessing/extraModules",
) as never;

/** The options Process and Thread take alike, checked. */
export interface RunnableSetup {
  target: ((...args: never[]) => unknown) | undefined;
  targetRef: TargetRef | null;
  args: unknown[];
  daemon: boolean;
  /** The modules a child or worker imports to find its target. */
  modules: string[];
}

/**
 * The most args a target is called with: V8 spreads about 125,000 before
 * its stack overflows, in a child or a worker, less when called deeper.
 */
const MAX_ARGS = 65_535;

/** The number of one-character edits that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j] + 1,
        next[j - 1] + 1,
        row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length];
}

/**
 * Checks the options Process and Thread share, and infers the modules that
 * define the target and the class.
 *
 * @param what "process" or "thread", for messages.
 * @param options The options object.
 * @param className The subclass's name, or null for the base class.
 * @param stack The stack of the constructor call, or "" to infer nothing.
 * @param known The names of the options the class takes: any other is a
 * mistake that would otherwise pass silently (a misspelt `permissions`
 * would give the child everything).
 */
export function setUp(
  what: string,
  options: unknown,
  className: string | null,
  stack: string,
  known: readonly string[],
): RunnableSetup {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot create ${what}: expected an options object, received ${
        describe(options)
      }`,
    );
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = known.find((name) => editDistance(name, key) <= 2);
    throw new TypeError(
      `Cannot create ${what}: unknown option "${key}"${
        near ? ` (did you mean "${near}"?)` : ""
      }, expected one of ${known.join(", ")}`,
    );
  }
  const { target, args = [], daemon, module } = options as {
    target?: unknown;
    args?: unknown;
    daemon?: unknown;
    module?: unknown;
  };
  const targetRef = target === undefined ? null : describeFunction(target);
  if (!Array.isArray(args)) {
    throw new TypeError(
      `Cannot create ${what}: expected args to be an array, received ${
        describe(args)
      }`,
    );
  }
  if (args.length > MAX_ARGS) {
    throw new RangeError(
      `Cannot create ${what}: expected at most ${MAX_ARGS} args, received ${args.length}; pass a long list as one argument`,
    );
  }
  return {
    target: target as RunnableSetup["target"],
    targetRef,
    args,
    daemon: daemon === undefined ? false : checkBoolean("daemon", daemon),
    modules: [
      ...(module === undefined
        ? (stack ? inferModules(stack, className, target !== undefined) : [])
        : [resolveModule(module, stack)]),
      ...((options as Record<symbol, string[] | undefined>)[EXTRA_MODULES] ??
        []),
    ],
  };
}

/**
 * How long after a warm child or worker is taken its replacement boots, in
 * ms. Booting at once, on two cores, slowed a short child's start + join
 * from 8.3 to 10.2 ms, and creating a Worker blocks this thread for tens of
 * ms: a warm thread's went from 6 to 54 ms.
 */
const REFILL_DELAY = 50;

/**
 * Schedules the refill of a warm pool: soon after one was taken, at once
 * when none was ready. The timer keeps nothing alive.
 *
 * @param taken Whether an idle one was taken.
 * @param fill Refills the pool.
 */
export function refillLater(taken: boolean, fill: () => void): void {
  Deno.unrefTimer(setTimeout(fill, taken ? REFILL_DELAY : 0));
}

/** How often a child checks that its parent is alive, in ms. */
const ORPHAN_CHECK_INTERVAL = 200;

/**
 * No orphans: calls `orphaned` once this process's parent, `parent`, has
 * died, however it died. The process is re-parented then, and `Deno.ppid`
 * changes; it is polled on a timer that keeps nothing alive.
 *
 * @param parent The parent's pid.
 * @param orphaned What to do then (it should end the process).
 */
export function watchParent(parent: number, orphaned: () => void): void {
  if (Deno.ppid !== parent) orphaned();
  unrefInterval(() => {
    if (Deno.ppid !== parent) orphaned();
  }, ORPHAN_CHECK_INTERVAL);
}

interface CoreTimers {
  createTimer?(
    callback: () => void,
    after: number,
    args: undefined,
    repeat: boolean,
    refed: boolean,
  ): unknown;
}

/**
 * Starts a timer on Deno's core timers where they can be reached: in Deno
 * 2.9 the first `setTimeout` or `setInterval` of a program or worker loads
 * Node's timers (about 8 ms), which a child or thread that starts and ends
 * at once would pay for one timer.
 *
 * @returns Whether it could.
 */
function coreTimer(
  callback: () => void,
  ms: number,
  repeat: boolean,
  refed: boolean,
): boolean {
  const core = (Deno as unknown as Record<symbol, { core?: CoreTimers }>)[
    (Deno as unknown as { internal: symbol }).internal
  ]?.core;
  if (typeof core?.createTimer !== "function") return false;
  core.createTimer(callback, ms, undefined, repeat, refed);
  return true;
}

/**
 * Calls `callback` every `ms` ms without keeping the event loop alive.
 *
 * @param callback What to call.
 * @param ms The interval in milliseconds.
 */
export function unrefInterval(callback: () => void, ms: number): void {
  if (!coreTimer(callback, ms, true, false)) {
    Deno.unrefTimer(setInterval(callback, ms));
  }
}
