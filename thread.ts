// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's `threading.Thread` for Deno, on workers: run a function in
 * another thread of this process, wait for it, name it, read its `ident`.
 * Threads share memory through the primitives in `sync.ts`.
 *
 * @example Run a function in a thread
 * ```ts
 * import { currentThread, Thread } from "@parallel/multiprocessing/thread";
 *
 * export function work(n: number) {
 *   console.log(currentThread().name, n * 2);
 * }
 *
 * if (import.meta.main) {
 *   const t = new Thread({ target: work, args: [21] });
 *   t.start();
 *   await t.join();
 * }
 * ```
 *
 * @module
 */

import type { MessagePort, Worker } from "node:worker_threads";
import { holdHandle, keepAliveWhile } from "./_runtime/handles.ts";
import {
  checkBoolean,
  checkName,
  checkSignal,
  setUp,
} from "./_runtime/options.ts";
import {
  startMethodToPass,
  takeWarmWorker,
  type WarmWorker,
  warmWorkerFits,
} from "./_runtime/warm.ts";
import { denoBefore } from "./_util/deno.ts";
import { settle } from "./_util/timers.ts";
import { waitOptions } from "./_util/wait_options.ts";
import {
  allocateIdent,
  getIdent,
  identCounter,
  mainEndCell,
  markMainEnded,
  nativeId,
  nextThreadNumber,
} from "./_runtime/ident.ts";
import { waitOn } from "./sync/_wait.ts";
import { broker, type RemoteForm } from "./_ipc/broker.ts";
import { releaseGroup, signalGroup, trackGroups } from "./_runtime/reaper.ts";
import { type Link, PortLink } from "./_ipc/link.ts";
import { encodeShared } from "./_ipc/crossing.ts";
import {
  EXITED,
  importModules,
  REBUILD,
  runtime,
  type TargetRef,
  type ThreadHeader,
} from "./_runtime/state.ts";
import type { JoinOptions, Runnable } from "./_runtime/runnable.ts";
import { Event } from "./sync/event.ts";
import {
  explainScope,
  type Namespace,
  resolveClass,
  resolveFunction,
} from "./_runtime/target.ts";
import { describe } from "./_util/repr.ts";
import { workerEntryUrl, workerThreads } from "./_runtime/workers.ts";

export { getIdent } from "./_runtime/ident.ts";

/**
 * The OS thread id of the calling thread, as Python's
 * `threading.get_native_id()`, where Deno lets it be read: on Linux, the
 * main thread's is the pid; a worker's needs a process with every
 * permission (`-A`), as Deno opens `/proc/thread-self` to no other.
 * Otherwise `null`.
 *
 * @example
 * ```ts
 * import { getNativeId } from "@parallel/multiprocessing";
 *
 * console.log(getNativeId()); // the pid, in the main thread on Linux
 * ```
 *
 * @returns The id, or `null`.
 */
export function getNativeId(): number | null {
  return nativeId();
}
export { local } from "./sync/local.ts";

/** Options for {@linkcode Thread}. */
export interface ThreadOptions<A extends unknown[] = unknown[]> {
  /**
   * The function the thread calls with `args`, found in the worker as a
   * `Process` target is: an export of the module where the thread is
   * constructed (or `module`), or a self-contained function's source.
   *
   * @default {undefined}
   */
  target?: (...args: A) => unknown;
  /**
   * The arguments for `target`. They travel by structured clone; the
   * primitives of `sync.ts` (locks, events, values) are shared, not copied.
   *
   * @default {[]}
   */
  args?: A;
  /**
   * The thread's name.
   *
   * @default {"Thread-N (target)"} as Python 3.10+, or `Thread-N` (also for
   * an empty name, as in Python)
   */
  name?: string;
  /**
   * A daemon thread does not keep the process alive.
   *
   * @default {false}
   */
  daemon?: boolean;
  /**
   * The module the worker imports to find `target` or the subclass.
   *
   * @default {undefined} (inferred from where the thread is constructed)
   */
  module?: string | URL;
  /**
   * A thread has its process's permissions: only `"inherit"` is accepted.
   * Deno restricts a worker's permissions only under
   * `--unstable-worker-options` (without it the whole process exits), and a
   * restricted worker on a terminal can still be prompted into more than
   * its process holds; run code with fewer permissions in a `Process`.
   *
   * @default {"inherit"}
   */
  permissions?: "inherit";
  /**
   * Aborting this signal terminates the thread, as `Process`'s does.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** The names of {@linkcode ThreadOptions}. */
const OPTIONS = [
  "target",
  "args",
  "name",
  "daemon",
  "module",
  "permissions",
  "signal",
] as const;

/** What {@linkcode Thread.excepthook} receives, as Python's. */
export interface ExceptHookArgs {
  /**
   * The error's class, as Python's `exc_type`: `TypeError`, a class of the
   * package's, or the user's own when the thread's modules export it
   * (else `Error`, and `excValue.name` keeps the class's name).
   */
  excType: ErrorConstructor;
  /**
   * The error, an instance of `excType`, with its message, stack, cause
   * and own fields as they crossed from the worker.
   */
  excValue: Error;
  /** The thread it escaped from. */
  thread: Thread;
}

/**
 * A thread that is already running, as a Thread object can stand for one:
 * the one this code runs in (`self`) or the main thread (`main`). A Thread
 * that stands for none is a thread to start.
 */
interface Running {
  /** Python's class name in the repr; null for the object's own class. */
  readonly reprName: string | null;
  ident(): number | null;
}

const RUNNING: Record<"self" | "main", Running> = {
  self: { reprName: null, ident: () => getIdent() },
  main: { reprName: "_MainThread", ident: () => 1 },
};

/** Set just around the internal construction of a running one. */
let nextRunning: Running | null = null;

/** A thread's target and args, for Timer's `function` and `args`. */
let callOf: (thread: Thread) => { fn: unknown; args: unknown[] };

/** Messages a thread's worker posts to its parent. */
/**
 * Whether this Deno may emit no `exit` for a worker that ends itself (2.5.7
 * emits none; 2.6.8 and later do): the starting thread ends it then.
 */
const WORKER_EXIT_LOST = denoBefore(2, 7);

type ThreadMessage = {
  kind: "exception";
  /** The error, as `encodeShared` gives it. */
  error: unknown;
  /** Where its class is exported, if among the thread's modules. */
  classAt: { module: string; name: string } | null;
} | {
  /** The worker is closing (its `unload`), with its exit code. */
  kind: "end";
  code: number;
};

/** Per-isolate thread state. */
interface ThreadState {
  current: Thread | null;
  main: Thread | null;
  started: Set<Thread>;
}

const KEY = Symbol.for("@parallel/multiprocessing/threads");

function threadState(): ThreadState {
  const g = globalThis as unknown as Record<symbol, ThreadState | undefined>;
  return g[KEY] ??= { current: null, main: null, started: new Set() };
}

/**
 * A function running in another thread of this process (a worker), with
 * the meaning of Python's `threading.Thread`.
 *
 * Unlike Python, a thread can be stopped with {@linkcode terminate}: a
 * worker is an isolate, so stopping it is safe. Module-level state is per
 * thread: each worker loads its own copy of its modules.
 *
 * @typeParam A The argument types of the target.
 *
 * @example Start and join
 * ```ts
 * import { Thread } from "@parallel/multiprocessing";
 *
 * export function work(n: number) {
 *   console.log(n * 2);
 * }
 *
 * if (import.meta.main) {
 *   const t = new Thread({ target: work, args: [21] });
 *   t.start();
 *   await t.join();
 *   console.log(t.isAlive()); // false
 * }
 * ```
 */
export class Thread<A extends unknown[] = unknown[]> implements Runnable {
  /**
   * Called with an error that escapes a thread's `run()`, in the thread
   * that started it. Assign your own, as with Python's
   * `threading.excepthook`. The default prints `Exception in thread NAME:`
   * and the error's stack on stderr. Each thread has its own copy of this
   * module: an override in the main thread covers the threads it starts,
   * not threads started by those.
   */
  static excepthook: (args: ExceptHookArgs) => void = printException;

  /** What it stands for, if not a thread to start. */
  #running: Running | null;
  #target: ((...args: never[]) => unknown) | undefined;
  #targetRef: TargetRef | null;
  #args: unknown[];
  #name: string;
  #daemon: boolean;
  #signal: AbortSignal | undefined;
  /** Where the worker writes its OS thread id, once it runs. */
  #nativeCell: Int32Array | null = null;
  #modules: string[];
  #ident: number | null = null;
  #worker: Worker | null = null;
  #exited: Promise<void> | null = null;
  #exitCode: number | null = null;
  #terminated = false;
  /** The process groups the processes this thread started lead. */
  #groups = new Set<number>();

  /**
   * Creates a thread object; nothing runs until {@linkcode start}.
   *
   * @param options The target, its args, and how to run it.
   * @throws {TypeError} If an option has the wrong type, or is not one of
   * the options the class takes.
   */
  constructor(options: ThreadOptions<A> = {}) {
    this.#running = nextRunning;
    nextRunning = null;
    const stack = this.#running ? "" : new Error().stack ?? "";
    const className = new.target === Thread ? null : new.target.name;
    const setup = setUp("thread", options, className, stack, OPTIONS);
    const { permissions } = options as { permissions?: unknown };
    if (permissions !== undefined && permissions !== "inherit") {
      throw new TypeError(
        `Cannot create thread: a thread has its process's permissions, expected permissions "inherit", received ${
          describe(permissions)
        }; start a Process to run code with fewer permissions (Deno restricts a worker only under --unstable-worker-options, and a restricted worker on a terminal can still be prompted into more)`,
      );
    }
    this.#target = setup.target;
    this.#targetRef = setup.targetRef;
    this.#args = setup.args;
    // As Python: a thread is a daemon by default when its creator is one.
    this.#daemon = options.daemon === undefined && !this.#running
      ? currentThread().daemon
      : setup.daemon;
    this.#modules = setup.modules;
    this.#signal = checkSignal(options.signal, "thread");
    // As Python's `name or default`: an empty name gives the default.
    if (options.name !== undefined && options.name !== "") {
      this.#name = checkName(options.name);
    } else if (!this.#running) {
      const name = setup.target?.name;
      this.#name = `Thread-${nextThreadNumber()}${name ? ` (${name})` : ""}`;
    } else {
      this.#name = "MainThread";
    }
  }

  /**
   * What the thread does: by default, calls the target with the args.
   * Subclasses override it, as in Python.
   *
   * @returns What the target returns (awaited by the thread).
   */
  run(): unknown {
    const target = this.#target as
      | ((...args: unknown[]) => unknown)
      | undefined;
    return target?.(...this.#args);
  }

  /**
   * Starts the thread. It is synchronous: `ident` is set when it returns.
   *
   * @throws {Error} If the thread was started before, stands for a running
   * thread, or if this thread is still importing its modules (a main part
   * without the `import.meta.main` guard).
   * @throws {TypeError} If an argument or field cannot be cloned.
   */
  start(): void {
    this.#checkStartable();
    const { header, handed, warm } = this.#prepareThread();
    const { worker, port } = this.#createWorker(header, warm);
    this.#worker = worker;
    this.#ident = header.ident;
    const link = broker().attach(
      new PortLink(port),
      `${Deno.pid}:${header.ident}`,
    );
    for (const [object, form] of handed) broker().handOver(link, object, form);
    // The processes the thread starts are held here too, so that they end
    // with this process, and with the thread (see _runtime/reaper.ts).
    broker().watchGroups(link, trackGroups(this.#groups));
    // In a process's main thread every worker is unref'd: the exit rule
    // below holds the non-daemon ones once the main code is done.
    if (this.#daemon || inMainThread()) worker.unref();
    if (inMainThread()) Thread.#holdAtExit();
    threadState().started.add(this);
    this.#watchWorker(worker, link);
    const signal = this.#signal;
    if (signal) {
      const onAbort = () => void this.terminate();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#exited!.then(() => signal.removeEventListener("abort", onAbort));
    }
  }

  /** Refuses a start that cannot be: twice, or in a loading runtime. */
  #checkStartable(): void {
    if (this.#running) {
      throw new Error(`Cannot start ${this.#name}: it is already running`);
    }
    if (this.#worker) {
      throw new Error(
        `Cannot start a thread twice: ${this.#name} is already started with ident ${this.#ident}`,
      );
    }
    if (runtime().loading) {
      throw new Error(
        `Cannot start ${this.#name} while this thread or child is still importing its modules: ` +
          "put the main part of the module under `if (import.meta.main)` " +
          "so that it does not run again there (Python's `if __name__ == '__main__'`)",
      );
    }
    this.#signal?.throwIfAborted();
  }

  /**
   * The thread's header: the target, and the args and fields encoded (what
   * crosses as remote forms noted in `handed`); and the idle warm worker
   * that will run it, if one can.
   */
  #prepareThread(): {
    header: ThreadHeader;
    handed: [object, RemoteForm][];
    warm: WarmWorker | null;
  } {
    const state = runtime();
    const className = this.constructor === Thread
      ? null
      : this.constructor.name;
    const fields = Object.entries(this);
    // What the thread is handed: the only objects it may name over its
    // link (see _ipc/broker.ts), granted once the link exists.
    const handed: [object, RemoteForm][] = [];
    const values = encodeShared([...this.#args, ...fields.map(([, v]) => v)], {
      sameProcess: true,
      onRemote: (object, form) => (handed.push([object, form]), form),
    });
    runtime().threadsStarted = true;
    const warm = warmWorkerFits(this.#modules) ? takeWarmWorker() : null;
    const ident = warm?.ident ?? allocateIdent();
    const header: ThreadHeader = {
      name: this.#name,
      daemon: this.#daemon,
      ident,
      counter: identCounter(),
      process: state.header,
      startMethod: startMethodToPass(),
      nativeId: (this.#nativeCell = new Int32Array(new SharedArrayBuffer(4)))
        .buffer as SharedArrayBuffer,
      modules: this.#modules,
      className,
      target: this.#targetRef,
      argCount: this.#args.length,
      fields: fields.map(([key]) => key),
      values,
    };
    return { header, handed, warm };
  }

  /**
   * The worker that runs the thread, given its header and its end of the
   * channel: the warm one, or a new one.
   *
   * @throws {TypeError} If the args or fields cannot be cloned; nothing is
   * left open then.
   */
  #createWorker(
    header: ThreadHeader,
    warm: WarmWorker | null,
  ): { worker: Worker; port: MessagePort } {
    let worker: Worker;
    // The channel for queues, pipes and pools: one port here, one there.
    const { Worker, MessageChannel } = workerThreads();
    const { port1, port2 } = new MessageChannel();
    try {
      if (warm) {
        // Cloning throws here, synchronously, as for workerData; the warm
        // worker then stays idle for the next thread.
        warm.worker.postMessage({ ...header, port: port2 }, [port2]);
        worker = warm.worker;
        // Deno before 2.7 does not wake for a warm worker's end once it was
        // unref'd: there it stays ref'd, as before the exit rule, and a
        // main thread with such a thread running ends only after it.
        if (!this.#daemon && (!inMainThread() || WORKER_EXIT_LOST)) {
          worker.ref();
        }
      } else {
        // Cloning workerData throws here, synchronously, before any worker.
        worker = new Worker(new URL(workerEntryUrl(this.#modules)), {
          workerData: { ...header, port: port2 },
          transferList: [port2],
          // Deno names the worker in what it prints of an uncaught error.
          name: this.#name,
        });
      }
    } catch (error) {
      if (warm) runtime().warmWorkers?.unshift(warm);
      // Both: Deno 2.5 keeps the other end open when one closes.
      port1.close();
      port2.close();
      if (!(error instanceof DOMException && error.name === "DataCloneError")) {
        throw error;
      }
      throw new TypeError(
        `Cannot send the args or fields of ${this.#name} to its thread: ${error.message}`,
        { cause: error },
      );
    }
    return { worker, port: port1 };
  }

  /**
   * In a worker: rebuilds its own `Thread` object and makes it current.
   *
   * @ignore
   */
  static [REBUILD](header: ThreadHeader, namespaces: Namespace[]): Thread {
    return rebuildThread(header, namespaces);
  }

  /** Whether this object is the main thread, seen from another thread. */
  #standsForMain(): boolean {
    return this.#running === RUNNING.main && !inMainThread();
  }

  static #exitRule = false;

  static {
    callOf = (thread) => ({ fn: thread.#target, args: thread.#args });
  }

  /**
   * Python's exit rule for threads, on Deno's event loop, as for child
   * processes (see `_runtime/exit_rules.ts`): when the main thread's code
   * is done and the loop has emptied, the main thread has ended (its
   * `join()` in other threads returns), and the non-daemon threads hold
   * the process until they end.
   */
  static #holdAtExit(): void {
    if (Thread.#exitRule) return;
    Thread.#exitRule = true;
    globalThis.addEventListener("beforeunload", (event) => {
      markMainEnded();
      const waiting = [...threadState().started].filter((thread) =>
        !thread.#daemon && thread.isAlive()
      );
      for (const thread of waiting) holdHandle(thread.#worker!, true);
      if (waiting.length > 0) event.preventDefault();
    });
  }

  /** Follows the worker: its reports, its errors, its exit. */
  #watchWorker(worker: Worker, link: Link): void {
    let failed = false;
    let exited = false;
    // The code the worker said it closes with, when it ends itself.
    let ending: number | null = null;
    // The excepthook runs before join() returns, as in Python.
    let reporting: Promise<void> = Promise.resolve();
    worker.on("message", async (message: ThreadMessage) => {
      if (message?.kind === "end") {
        ending = typeof message.code === "number" ? message.code : 0;
        // Deno 2.5 reports no exit for a worker that closes itself: once
        // what it sent is delivered, end it here.
        if (!WORKER_EXIT_LOST) return;
        await link.finish();
        if (!exited) void worker.terminate();
        return;
      }
      if (message?.kind !== "exception") return;
      failed = true;
      reporting = this.#exception(message, link).then((error) =>
        this.#report(this.#withoutEntry(error))
      );
    });
    worker.on("error", (error: Error) => {
      failed = true;
      this.#report(this.#withoutEntry(error));
      // An uncaught error ends the worker; Deno 2.5 then reports no exit.
      if (WORKER_EXIT_LOST && !exited) void worker.terminate();
    });
    this.#exited = new Promise<void>((resolve) => {
      worker.once("exit", async (code: number) => {
        exited = true;
        // Its messages are delivered before the port reports the close.
        await broker().finished(link);
        await reporting;
        // A code of its own comes from Deno.exit() in the thread.
        this.#exitCode = this.#terminated
          ? -15
          : failed
          ? 1
          : ending ?? code ?? 0;
        // Closing a worker ends what it started, as its groups do now.
        for (const pgid of this.#groups) {
          signalGroup(pgid, "SIGTERM");
          releaseGroup(pgid);
        }
        this.#groups.clear();
        threadState().started.delete(this);
        resolve();
      });
    });
  }

  /**
   * The error a worker reported, as itself: built-in and package classes
   * come back as they are; a class of the user's is found where the worker
   * found it exported (its module is imported here, as Python's unpickling
   * imports it), else the error keeps the class's name on an `Error`.
   */
  async #exception(
    message: {
      error: unknown;
      classAt: { module: string; name: string } | null;
    },
    link: Link,
  ): Promise<Error> {
    const error = broker().fromLink(message.error, link) as Error;
    const at = message.classAt;
    if (at === null) return error;
    try {
      const [namespace] = await importModules([at.module]);
      const Class = namespace[at.name];
      if (
        typeof Class === "function" && Class.prototype instanceof Error &&
        !(error instanceof Class)
      ) {
        Object.setPrototypeOf(error, Class.prototype);
      }
    } catch {
      // Not importable here: the error keeps its class's name.
    }
    return error;
  }

  /** The error with the entry's long data: URL named for the reader. */
  #withoutEntry(error: Error): Error {
    const entry = /data:text\/javascript,[^\s'"]+/g;
    const label = `the entry of ${this.#name}`;
    for (const key of ["message", "stack"] as const) {
      if (typeof error?.[key] === "string") {
        error[key] = error[key].replace(entry, label);
      }
    }
    return error;
  }

  /**
   * Waits for the thread to end. After `timeout` ms it resolves with the
   * thread still running, as Python's `join` does.
   *
   * @param options A timeout in milliseconds, or `{ timeout, signal }`;
   * a negative timeout does not wait, as in Python.
   * @returns A promise that resolves when the thread has ended or the
   * timeout has passed.
   * @throws {Error} If the thread was never started, or is the current one.
   */
  async join(options?: number | JoinOptions): Promise<void> {
    const { timeout, signal } = waitOptions(options, "wait", "now");
    if (this.#standsForMain()) return await joinMain(timeout, signal);
    if (this.#running) {
      throw new Error(`Cannot join ${this.#name}: a thread cannot join itself`);
    }
    if (!this.#exited) {
      throw new Error(`Cannot join ${this.#name}: it has not been started`);
    }
    signal?.throwIfAborted();
    if (this.#exitCode !== null) return;
    const waiting = settle(this.#exited, timeout, signal);
    if (!this.#daemon && !inMainThread()) return await waiting;
    await keepAliveWhile(
      this.#worker!,
      waiting,
      () => this.#exitCode === null,
    );
  }

  /**
   * For the package's own use (a pool's daemon workers): resolves when the
   * child has exited, without keeping the event loop alive meanwhile.
   *
   * @returns A promise that resolves at exit; at once if never started.
   */
  [EXITED](): Promise<void> {
    return this.#exited ?? Promise.resolve();
  }

  /**
   * Whether the thread is running: `false` before start, `true` until it
   * ends, `false` after.
   *
   * @returns Whether the thread is alive.
   */
  isAlive(): boolean {
    if (this.#standsForMain()) return !mainEnded();
    if (this.#running) return true;
    return this.#worker !== null && this.#exitCode === null;
  }

  /**
   * Stops the thread's worker, which Python cannot do. Does nothing once
   * the thread has ended. Its `exitCode` becomes `-15`. The worker stops
   * wherever it is: a lock it holds stays held, and a barrier it waits at
   * keeps counting it, so stop only threads that hold no shared state.
   *
   * @returns A promise that resolves once the worker has stopped.
   * @throws {Error} If the thread was never started.
   */
  async terminate(): Promise<void> {
    if (this.#running) {
      throw new Error(
        `Cannot terminate ${this.#name}: only a started thread can be stopped`,
      );
    }
    if (!this.#worker) {
      throw new Error(
        `Cannot terminate ${this.#name}: it has not been started`,
      );
    }
    if (this.#exitCode !== null) return;
    this.#terminated = true;
    await this.#worker.terminate();
    await this.#exited;
  }

  /** The package-given ident: `null` before start, a positive integer after. */
  get ident(): number | null {
    return this.#running ? this.#running.ident() : this.#ident;
  }

  /**
   * The OS thread id, as Python's `native_id`, where Deno lets it be read
   * (see {@linkcode getNativeId}): on Linux, the main thread's is the pid;
   * a started thread's is known once its worker runs, in a process with
   * every permission (`-A`). Otherwise `null`.
   */
  get nativeId(): number | null {
    if (this.#running === RUNNING.main) {
      return Deno.build.os === "linux" ? Deno.pid : null;
    }
    if (this.#running) return nativeId();
    const id = this.#nativeCell ? Atomics.load(this.#nativeCell, 0) : 0;
    return id === 0 ? null : id;
  }

  /**
   * `null` before start and while running; then `0` when `run()` returned,
   * `1` when it threw, and `-15` after {@linkcode terminate}.
   */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** The thread's name. */
  get name(): string {
    return this.#name;
  }

  /**
   * Sets the name.
   *
   * @throws {TypeError} If the name is not a string.
   */
  set name(value: string) {
    this.#name = checkName(value);
  }

  /** Whether the thread keeps the process alive (`false`) or not. */
  get daemon(): boolean {
    return this.#daemon;
  }

  /**
   * Sets the daemon flag, before start only.
   *
   * @throws {Error} If the thread has been started.
   * @throws {TypeError} If the value is not a boolean.
   */
  set daemon(value: boolean) {
    if (this.#running || this.#worker) {
      throw new Error(
        `Cannot set daemon of ${this.#name}: the thread has already started`,
      );
    }
    this.#daemon = checkBoolean("daemon", value);
  }

  /**
   * Stops the thread if it is still running, then waits for it.
   *
   * @returns A promise that resolves once the thread has ended.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#running && this.#worker) await this.terminate();
  }

  /**
   * Python's repr: `<Thread(Thread-1 (func), started 3)>`.
   *
   * @returns The repr.
   */
  toString(): string {
    const className = this.#running?.reprName ?? this.constructor.name;
    let status = this.#running || (this.#worker && this.#exitCode === null)
      ? "started"
      : this.#worker
      ? "stopped"
      : "initial";
    if (this.#daemon) status += " daemon";
    if (this.ident !== null) status += ` ${this.ident}`;
    return `<${className}(${this.#name}, ${status})>`;
  }

  /**
   * Shows the repr in `console.log`.
   *
   * @returns The repr.
   */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  #report(reported: Error): void {
    const error = reported instanceof Error
      ? reported
      : new Error(String(reported));
    try {
      Thread.excepthook({
        excType: error.constructor as ErrorConstructor,
        excValue: error,
        thread: this,
      });
    } catch (hookError) {
      console.error("Exception in threading.excepthook:", hookError);
    }
  }
}

/** The default {@linkcode Thread.excepthook}: prints as Python does. */
function printException({ excValue, thread }: ExceptHookArgs): void {
  console.error(`Exception in thread ${thread.name}:`);
  console.error(excValue?.stack ?? excValue);
}

/**
 * A thread that calls `fn(...args)` after `interval` ms, unless cancelled
 * first, as Python's `threading.Timer`.
 *
 * @typeParam A The argument types of `fn`.
 *
 * @example Cancel a timer before it fires
 * ```ts
 * import { Timer } from "@parallel/multiprocessing";
 *
 * export function hello() {
 *   console.log("hello");
 * }
 *
 * if (import.meta.main) {
 *   const t = new Timer(1000, hello);
 *   t.start();
 *   t.cancel(); // "hello" is never printed
 *   await t.join();
 * }
 * ```
 */
export class Timer<A extends unknown[] = unknown[]> extends Thread<A> {
  /** The delay in milliseconds. */
  interval: number;
  /** Set by {@linkcode cancel}; shared with the timer's thread. */
  finished: Event;

  /**
   * Creates a timer; it starts counting when started.
   *
   * @param interval The delay in milliseconds; a negative one is none, as
   * in Python (its wait does not wait).
   * @param fn The function to call.
   * @param args The arguments for `fn`.
   * @throws {TypeError} If the interval is not a number.
   */
  constructor(interval: number, fn: (...args: A) => unknown, args?: A) {
    super({ target: fn, args });
    if (typeof interval !== "number" || Number.isNaN(interval)) {
      throw new TypeError(
        `Cannot create timer: expected interval to be a number of milliseconds, received ${
          describe(interval)
        }`,
      );
    }
    this.interval = interval;
    this.finished = new Event();
  }

  /** The function the timer calls, as Python's `Timer.function`. */
  get function(): (...args: A) => unknown {
    return callOf(this).fn as (...args: A) => unknown;
  }

  /** The arguments it calls it with, as Python's `Timer.args`. */
  get args(): A {
    return callOf(this).args as A;
  }

  /** Stops the timer if it has not fired yet. */
  cancel(): void {
    this.finished.set();
  }

  /**
   * Waits for the interval, then calls the function unless cancelled.
   *
   * @returns What the function returns.
   */
  override async run(): Promise<unknown> {
    await this.finished.wait(this.interval);
    if (this.finished.isSet()) return;
    this.finished.set();
    return await super.run();
  }
}

/** Whether this code runs in its process's main thread. */
function inMainThread(): boolean {
  return getIdent() === 1;
}

/** Whether the process's main thread has ended (see `#holdAtExit`). */
function mainEnded(): boolean {
  const { cells, index } = mainEndCell();
  return Atomics.load(cells, index) === 1;
}

/** In another thread: waits for the main thread to end, as Python's join. */
async function joinMain(
  timeout: number | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  signal?.throwIfAborted();
  const { cells, index } = mainEndCell();
  const deadline = performance.now() + (timeout ?? Infinity);
  while (Atomics.load(cells, index) === 0) {
    if (!await waitOn(cells, index, 0, deadline, signal)) return;
  }
}

/**
 * The thread that runs this code.
 *
 * @example In the main thread
 * ```ts
 * import { currentThread } from "@parallel/multiprocessing";
 *
 * console.log(currentThread().name); // "MainThread"
 * ```
 *
 * @returns The current thread.
 */
export function currentThread(): Thread {
  const state = threadState();
  return state.current ?? mainThread();
}

/**
 * The main thread of this process. In another thread, its `join()` waits
 * for the main thread to end (its code done, only threads keeping the
 * process alive), and its `isAlive()` is `false` from then on, as in
 * Python.
 *
 * @example
 * ```ts
 * import { mainThread } from "@parallel/multiprocessing";
 *
 * console.log(mainThread().ident); // 1
 * ```
 *
 * @returns The main thread's object.
 */
export function mainThread(): Thread {
  const state = threadState();
  if (!state.main) {
    nextRunning = RUNNING.main;
    state.main = new Thread({ name: "MainThread" });
  }
  return state.main;
}

/**
 * The threads this thread knows to be alive: the current thread, the main
 * thread when this is it, and the threads started from here that are
 * still running. (Threads started by other threads are not listed: each
 * worker keeps its own list.)
 *
 * @example
 * ```ts
 * import { enumerate } from "@parallel/multiprocessing";
 *
 * console.log(enumerate().map((t) => t.name)); // ["MainThread"]
 * ```
 *
 * @returns The live threads.
 */
export function enumerate(): Thread[] {
  const state = threadState();
  const list = [currentThread()];
  for (const thread of state.started) if (thread.isAlive()) list.push(thread);
  return list;
}

/**
 * How many threads {@linkcode enumerate} lists.
 *
 * @example
 * ```ts
 * import { activeCount } from "@parallel/multiprocessing";
 *
 * console.log(activeCount()); // 1
 * ```
 *
 * @returns The number of live threads.
 */
export function activeCount(): number {
  return enumerate().length;
}

/** In a worker: rebuilds its Thread object and makes it current. */
function rebuildThread(header: ThreadHeader, namespaces: Namespace[]): Thread {
  const values = broker().fromParent(header.values) as unknown[];
  let target: ((...args: unknown[]) => unknown) | undefined;
  if (header.target) {
    const { fn, fromSource } = resolveFunction(
      header.target,
      namespaces,
      header.modules,
    );
    target = fromSource
      ? explainScope(fn, header.target.name, header.modules)
      : fn;
  }
  const options = {
    name: header.name,
    daemon: header.daemon,
    target,
    args: values.slice(0, header.argCount),
  };
  const Class = header.className === null
    ? Thread
    : resolveClass(header.className, Thread, namespaces, header.modules);
  nextRunning = RUNNING.self;
  const self = Reflect.construct(Thread, [options], Class) as Thread;
  header.fields.forEach((key, i) => {
    (self as unknown as Record<string, unknown>)[key] =
      values[header.argCount + i];
  });
  threadState().current = self;
  return self;
}
