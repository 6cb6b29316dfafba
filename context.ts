// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's contexts: {@linkcode getContext} gives the package's API with
 * `Process` and `Pool` bound to one start method, whatever
 * `setStartMethod()` set, as Python's `multiprocessing.get_context()`.
 *
 * @example A warm context beside the default one
 * ```ts
 * import { getContext } from "@parallel/multiprocessing";
 *
 * export function work(n: number) {
 *   console.log(n * 2);
 * }
 *
 * if (import.meta.main) {
 *   const ctx = getContext("warm");
 *   const p = new ctx.Process({ target: work, args: [21] });
 *   p.start();
 *   await p.join();
 * }
 * ```
 *
 * @module
 */

import { CONTEXT, START_METHOD } from "./_runtime/options.ts";
import {
  activeChildren,
  cpuCount,
  currentProcess,
  getStartMethod,
  parentProcess,
  Process,
  type ProcessOptions,
} from "./process.ts";
import { Pool, type PoolOptions } from "./pool.ts";
import { JoinableQueue, Queue, SimpleQueue } from "./queue.ts";
import { Pipe } from "./pipe.ts";
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RawArray,
  RawValue,
  RLock,
  Semaphore,
  SharedArray,
  Value,
} from "./sync.ts";
import { Manager } from "./manager.ts";
import { describe } from "./_util/repr.ts";

/**
 * The package's API seen through one start method, as Python's context
 * objects: `Process` and `Pool` start their children that way; the rest
 * are the package's own classes and functions, which do not depend on it.
 */
export interface Context {
  /** `Process`, starting its children by this context's method. */
  readonly Process: typeof Process;
  /** `Pool`, whose worker processes start by this context's method. */
  readonly Pool: typeof Pool;
  /** This context's start method (the global one, for the default). */
  getStartMethod(): "spawn" | "warm";
  /** {@linkcode Queue}. */
  readonly Queue: typeof Queue;
  /** {@linkcode JoinableQueue}. */
  readonly JoinableQueue: typeof JoinableQueue;
  /** {@linkcode SimpleQueue}. */
  readonly SimpleQueue: typeof SimpleQueue;
  /** {@linkcode Pipe}. */
  readonly Pipe: typeof Pipe;
  /** {@linkcode Lock}. */
  readonly Lock: typeof Lock;
  /** {@linkcode RLock}. */
  readonly RLock: typeof RLock;
  /** {@linkcode Condition}. */
  readonly Condition: typeof Condition;
  /** {@linkcode Semaphore}. */
  readonly Semaphore: typeof Semaphore;
  /** {@linkcode BoundedSemaphore}. */
  readonly BoundedSemaphore: typeof BoundedSemaphore;
  /** {@linkcode Event}. */
  readonly Event: typeof Event;
  /** {@linkcode Barrier}. */
  readonly Barrier: typeof Barrier;
  /** {@linkcode Value}. */
  readonly Value: typeof Value;
  /** {@linkcode RawValue}. */
  readonly RawValue: typeof RawValue;
  /** {@linkcode SharedArray}, Python's `Array`. */
  readonly Array: typeof SharedArray;
  /** {@linkcode RawArray}. */
  readonly RawArray: typeof RawArray;
  /** {@linkcode Manager}. */
  readonly Manager: typeof Manager;
  /** {@linkcode cpuCount}. */
  readonly cpuCount: typeof cpuCount;
  /** {@linkcode currentProcess}. */
  readonly currentProcess: typeof currentProcess;
  /** {@linkcode parentProcess}. */
  readonly parentProcess: typeof parentProcess;
  /** {@linkcode activeChildren}. */
  readonly activeChildren: typeof activeChildren;
}

const SHARED = {
  Queue,
  JoinableQueue,
  SimpleQueue,
  Pipe,
  Lock,
  RLock,
  Condition,
  Semaphore,
  BoundedSemaphore,
  Event,
  Barrier,
  Value,
  RawValue,
  Array: SharedArray,
  RawArray,
  Manager,
  cpuCount,
  currentProcess,
  parentProcess,
  activeChildren,
};

const contexts = new Map<string, Context>();

/**
 * The package's API with `Process` and `Pool` bound to a start method, as
 * Python's `multiprocessing.get_context(method)`. Without a method, the
 * default context, whose classes follow `setStartMethod()`. The same
 * method gives the same context object.
 *
 * A context's `Process` stands for `Process` itself: a subclass of it is
 * found in its child as any subclass is, and `instanceof Process` holds.
 *
 * @param method `"spawn"` or `"warm"`; the default context if left out.
 * @returns The context.
 * @throws {TypeError} If the method is neither.
 *
 * @example Python's spelling
 * ```ts
 * import { getContext, Process } from "@parallel/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const ctx = getContext("spawn");
 * assertEquals(ctx.getStartMethod(), "spawn");
 * assertEquals(new ctx.Process() instanceof Process, true);
 * assertEquals(getContext().Process, Process);
 * ```
 */
export function getContext(method?: "spawn" | "warm"): Context {
  if (method !== undefined && method !== "spawn" && method !== "warm") {
    throw new TypeError(
      `Cannot get a context: expected "spawn" or "warm", received ${
        describe(method)
      }`,
    );
  }
  const key = method ?? "default";
  let context = contexts.get(key);
  if (!context) {
    context = Object.freeze(
      method === undefined ? { ...SHARED, Process, Pool, getStartMethod } : {
        ...SHARED,
        Process: contextProcess(method),
        Pool: contextPool(method),
        getStartMethod: () => method,
      },
    );
    contexts.set(key, context);
  }
  return context;
}

/** `Process` bound to `method`: its instances carry it to `start()`. */
function contextProcess(method: "spawn" | "warm"): typeof Process {
  class ContextProcess<A extends unknown[] = unknown[]> extends Process<A> {
    static [CONTEXT] = method;

    constructor(options: ProcessOptions<A> = {}) {
      super(withMethod(options, method) as ProcessOptions<A>);
    }
  }
  Object.defineProperty(ContextProcess, "name", { value: "Process" });
  return ContextProcess as typeof Process;
}

/** `Pool` bound to `method`: its worker processes start that way. */
function contextPool(method: "spawn" | "warm"): typeof Pool {
  class ContextPool extends Pool {
    constructor(options: PoolOptions | number = {}) {
      const given = typeof options === "number"
        ? { processes: options }
        : options;
      super(withMethod(given, method) as PoolOptions);
    }
  }
  Object.defineProperty(ContextPool, "name", { value: "Pool" });
  return ContextPool;
}

/** The options with the start method added; anything else as it is. */
function withMethod(options: unknown, method: "spawn" | "warm"): unknown {
  return typeof options === "object" && options !== null
    ? { ...options, [START_METHOD]: method }
    : options;
}
