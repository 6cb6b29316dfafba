// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's `multiprocessing.Process` for Deno: run a function in a real OS
 * child process, wait for it, name it, stop it, read its pid and exit code.
 *
 * @example Run a function in a child process
 * ```ts
 * import { Process } from "@parallel/multiprocessing/process";
 *
 * export function add(x: number, y: number) {
 *   console.log(x + y);
 * }
 *
 * if (import.meta.main) {
 *   const p = new Process({ target: add, args: [1, 2] });
 *   p.start();
 *   await p.join();
 *   console.log(p.exitCode); // 0
 * }
 * ```
 *
 * @module
 */

import {
  encodeFrame,
  preloadCodec,
  preparePayload,
} from "./_runtime/start_frame.ts";
import { encodeShared } from "./_ipc/crossing.ts";
import { broker, type RemoteForm, UNSENT } from "./_ipc/broker.ts";
import { releaseGroup, signalGroup, trackGroups } from "./_runtime/reaper.ts";
import {
  checkPermissions,
  type ChildPermissions,
  permissionFlags,
} from "./_runtime/permissions.ts";
import {
  type ChildHeader,
  EXITED,
  REBUILD,
  runtime,
  type TargetRef,
  type TrackedChild,
} from "./_runtime/state.ts";
import { holdHandle, keepAliveWhile } from "./_runtime/handles.ts";
import {
  checkBoolean,
  checkCwd,
  checkEnv,
  checkName,
  checkSignal,
  checkStdio,
  CONTEXT,
  setUp,
  START_METHOD,
} from "./_runtime/options.ts";
import { startMethodToPass, takeWarm, warmChildFits } from "./_runtime/warm.ts";
import { pyRepr, signalName } from "./_util/repr.ts";
import { settle } from "./_util/timers.ts";
import { waitOptions } from "./_util/wait_options.ts";
import {
  explainScope,
  hint,
  type Namespace,
  resolveClass,
  resolveFunction,
} from "./_runtime/target.ts";
import { TargetNotFoundError } from "./errors.ts";
import {
  CHILD_URL,
  entryUrl,
  spawnChild,
  type Stdio,
} from "./_runtime/spawn.ts";
import type { StreamLink } from "./_ipc/link.ts";
import type { JoinOptions, Runnable } from "./_runtime/runnable.ts";
import { installExitHooks } from "./_runtime/exit_rules.ts";

export { TargetNotFoundError } from "./errors.ts";
export {
  getAllStartMethods,
  getStartMethod,
  setStartMethod,
  type StartMethodOptions,
} from "./_runtime/warm.ts";

export type { JoinOptions, Runnable } from "./_runtime/runnable.ts";
export type {
  ChildPermissions,
  ChildPermissionsObject,
  PermissionName,
  PermissionValue,
} from "./_runtime/permissions.ts";

/** The names of {@linkcode ProcessOptions}. */
const OPTIONS = [
  "target",
  "args",
  "name",
  "daemon",
  "permissions",
  "env",
  "cwd",
  "stdout",
  "stderr",
  "signal",
  "module",
] as const;

/** Options for {@linkcode Process}. */
export interface ProcessOptions<A extends unknown[] = unknown[]> {
  /**
   * The function the child calls with `args`. It is found in the child by
   * importing the module where the process is constructed (or `module`) and
   * looking among its exports; a function that is not exported runs from its
   * source text, which works when it is self-contained.
   *
   * @default {undefined}
   */
  target?: (...args: A) => unknown;
  /**
   * The arguments for `target`. They travel by structured clone.
   *
   * @default {[]}
   */
  args?: A;
  /**
   * The process's name, for humans and for `currentProcess().name` in the
   * child.
   *
   * @default {"Process-N"} (the class name, then a counter from 1; also
   * for an empty name, as in Python)
   */
  name?: string;
  /**
   * A daemon child is ended when its parent exits; a non-daemon child keeps
   * its parent running until it ends.
   *
   * @default {false}
   */
  daemon?: boolean;
  /**
   * What the child may do: `"inherit"` gives it every permission kind the
   * parent holds in full, `"none"` nothing, and an object exactly what it
   * lists (each checked against the parent's grants).
   *
   * @default {"inherit"}
   */
  permissions?: ChildPermissions;
  /**
   * Environment variables to set in the child, on top of the parent's.
   *
   * @default {undefined}
   */
  env?: Record<string, string>;
  /**
   * The child's working directory.
   *
   * @default {undefined} (the parent's)
   */
  cwd?: string | URL;
  /**
   * The child's stdout: this process's (`"inherit"`), none (`"null"`), or
   * a stream this process reads, {@linkcode Process.stdout}
   * (`"piped"`), as `Deno.Command` takes it. Read or cancel a piped one:
   * a child that fills its pipe waits.
   *
   * @default {"inherit"}
   */
  stdout?: "inherit" | "piped" | "null";
  /**
   * The child's stderr, as {@linkcode ProcessOptions.stdout}.
   *
   * @default {"inherit"}
   */
  stderr?: "inherit" | "piped" | "null";
  /**
   * Aborting this signal terminates the child.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * The module the child imports to find `target` or the subclass. Inferred
   * from where the process is constructed when left out.
   *
   * @default {undefined}
   */
  module?: string | URL;
}

/**
 * A process that is already running, as a Process object can stand for
 * one: this process in a child (`self`), in the main program (`main`), or
 * the parent (`parent`). A Process that stands for none is a child to
 * start, which the object itself runs.
 */
interface Running {
  /** Python's class name in the repr; null for the object's own class. */
  readonly reprName: string | null;
  /** The repr's word for its state. */
  readonly status: string;
  pid(): number | null;
  isAlive(): boolean;
  /** The parent's pid, for the repr, where it is known. */
  parentPid(): number | undefined;
}

const RUNNING: Record<"self" | "main" | "parent", Running> = {
  self: {
    reprName: null,
    status: "started",
    pid: () => Deno.pid,
    isAlive: () => true,
    parentPid: () => runtime().header?.parentPid,
  },
  main: {
    reprName: "_MainProcess",
    status: "started",
    pid: () => Deno.pid,
    isAlive: () => true,
    parentPid: () => undefined,
  },
  parent: {
    reprName: "_ParentProcess",
    status: "unknown",
    pid: () => runtime().header?.parentPid ?? null,
    isAlive: () => Deno.ppid === runtime().header?.parentPid,
    parentPid: () => undefined,
  },
};

/** Set just around the internal construction of a running one. */
let nextRunning: Running | null = null;

/**
 * A function running in a real OS child process, with the meaning of
 * Python's `multiprocessing.Process`.
 *
 * Subclasses may override {@linkcode Process.prototype.run}; the child
 * rebuilds them from their exported class and their public fields.
 *
 * @typeParam A The argument types of the target.
 *
 * @example Start, wait, read the exit code
 * ```ts
 * import { Process } from "@parallel/multiprocessing";
 *
 * export function work(n: number) {
 *   console.log(n * 2);
 * }
 *
 * if (import.meta.main) {
 *   const p = new Process({ target: work, args: [21], name: "worker-1" });
 *   p.start();
 *   await p.join();
 *   console.log(p.exitCode, p.isAlive()); // 0 false
 * }
 * ```
 */
export class Process<A extends unknown[] = unknown[]> implements Runnable {
  /** What it stands for, if not a child to start. */
  #running: Running | null;
  // Typed loosely so that a Process<[number]> is also a Process.
  #target: ((...args: never[]) => unknown) | undefined;
  #targetRef: TargetRef | null;
  #args: unknown[];
  #name: string;
  #daemon: boolean;
  #permissions: ChildPermissions;
  #env: Record<string, string> | undefined;
  #cwd: string | URL | undefined;
  #signal: AbortSignal | undefined;
  #stdio: { stdout: Stdio; stderr: Stdio };
  #streams: {
    stdout: ReadableStream<Uint8Array> | null;
    stderr: ReadableStream<Uint8Array> | null;
  } = { stdout: null, stderr: null };
  /** The start method of the context that made it; else the global one. */
  #method: "spawn" | "warm" | undefined;
  #modules: string[];
  #identity: number[];
  #child: Deno.ChildProcess | null = null;
  #exitCode: number | null = null;
  #exited: Promise<void> | null = null;
  #closed = false;
  #onAbort: (() => void) | null = null;
  /** Set at exit for a non-daemon child: stay alive until it ends. */
  #pinned = false;
  /** The process groups the child reported for its descendants. */
  #descendants = new Set<number>();

  /**
   * Creates a process object; nothing runs until {@linkcode start}.
   *
   * @param options The target, its args, and how to run it.
   * @throws {TypeError} If an option has the wrong type, or is not one of
   * the options the class takes.
   */
  constructor(options: ProcessOptions<A> = {}) {
    this.#running = nextRunning;
    nextRunning = null;
    const stack = this.#running ? "" : new Error().stack ?? "";
    // A context's Process stands for Process itself (see getContext()).
    const className =
      new.target === Process || Object.hasOwn(new.target, CONTEXT)
        ? null
        : new.target.name;
    const setup = setUp("process", options, className, stack, OPTIONS);
    this.#method =
      (options as Record<symbol, "spawn" | "warm" | undefined>)[START_METHOD];
    this.#target = setup.target;
    this.#targetRef = setup.targetRef;
    this.#args = setup.args;
    this.#daemon = setup.daemon;
    this.#modules = setup.modules;
    this.#permissions = checkPermissions(options.permissions ?? "inherit");
    this.#env = checkEnv(options.env);
    this.#cwd = checkCwd(options.cwd);
    this.#stdio = {
      stdout: checkStdio("stdout", options.stdout),
      stderr: checkStdio("stderr", options.stderr),
    };
    this.#signal = checkSignal(options.signal, "process");
    const state = runtime();
    const parentIdentity = state.header?.identity ?? [];
    this.#identity = this.#running
      ? parentIdentity
      : [...parentIdentity, ++state.counter];
    // As Python's `name or default`: an empty name gives the default.
    this.#name = options.name === undefined || options.name === ""
      ? `${new.target.name}-${this.#identity.join(":")}`
      : checkName(options.name);
    // Warm up the encoder for payloads JSON cannot carry.
    if (!this.#running) preloadCodec();
  }

  /**
   * What the child does: by default, calls the target with the args.
   * Subclasses override it, as in Python.
   *
   * @returns What the target returns (awaited by the child).
   */
  run(): unknown {
    // Called without a receiver, as Python calls `self._target(*args)`.
    const target = this.#target as
      | ((...args: unknown[]) => unknown)
      | undefined;
    return target?.(...this.#args);
  }

  /**
   * Starts the child. It is synchronous: `pid` is set when it returns.
   *
   * @throws {Error} If the process was started before, is closed, stands
   * for the current process, or if this is a child still importing its
   * modules (a main part without the `import.meta.main` guard).
   * @throws {TypeError} If an argument or field cannot be cloned.
   * @throws {Deno.errors.NotCapable} If the child would get more
   * permissions than this process holds; nothing is started.
   */
  start(): void {
    this.#checkStartable();
    const { header, payload, handed, sent } = this.#prepareChild();
    const flags = permissionFlags(this.#permissions, {
      cwd: this.#cwd,
      env: this.#env,
      modules: [CHILD_URL, ...header.modules],
    });

    const { child, link } = this.#launch(flags, header.modules);
    this.#child = child;
    // What the child is handed: the only objects it may name.
    for (const [object, form] of handed) broker().handOver(link, object, form);
    // A child that may signal anything itself reports the groups of its
    // descendants, so that terminate() reaches them at once; any other
    // child's reports are not believed.
    if (flags.includes("--allow-run")) {
      broker().watchGroups(link, trackGroups(this.#descendants));
    }
    header.stdio = link.key;
    const written = link.writeStart(encodeFrame(header, payload.bytes));
    const tracked = this.#track(child);
    this.#exited = this.#whenExited(child, link, written, sent, tracked);
  }

  /** Refuses a start that cannot be: twice, closed, in a loading child. */
  #checkStartable(): void {
    this.#checkOpen("start");
    if (Deno.build.standalone) {
      throw new Error(
        "Cannot start a process from a `deno compile` binary: Deno.execPath() " +
          "is the binary itself, which cannot run a module",
      );
    }
    if (this.#running) {
      throw new Error(
        `Cannot start ${this.#name}: it stands for a process that is already running`,
      );
    }
    if (this.#child) {
      throw new Error(
        `Cannot start a process twice: ${this.#name} is already started with pid ${this.#child.pid}`,
      );
    }
    const state = runtime();
    if (state.loading) {
      throw new Error(
        `Cannot start ${this.#name} while this child is still importing ${
          state.header?.modules[0] ?? "its modules"
        }: put the main part of that module under \`if (import.meta.main)\` ` +
          "so that it does not run again in the child (Python's `if __name__ == '__main__'`)",
      );
    }
    this.#signal?.throwIfAborted();
  }

  /**
   * The child's header and payload: the target, the args and the fields,
   * with what crosses as remote forms noted (`handed`), and pipe ends whose
   * owner must stop counting them as in flight if the child dies before it
   * takes them (`sent`).
   */
  #prepareChild(): {
    header: ChildHeader;
    payload: ReturnType<typeof preparePayload>;
    handed: [object, RemoteForm][];
    sent: object[];
  } {
    const className = this.constructor === Process ||
        Object.hasOwn(this.constructor, CONTEXT)
      ? null
      : this.constructor.name;
    if (className !== null && this.#modules.length === 0) {
      throw new TargetNotFoundError(
        `Cannot start ${this.#name}: the module that defines class ${className} is unknown; ` +
          hint(className, this.#modules),
      );
    }
    const fields = Object.entries(this);
    // Queues, pipes and process-safe locks cross as remote forms: the child
    // reaches them through this process (see _ipc/broker.ts).
    // Pipe ends in the payload: if the child dies before it takes them,
    // their owner must stop counting them as in flight (see below).
    const sent: object[] = [];
    // What the child is handed: the only objects it may name (see
    // _ipc/broker.ts), granted once its link exists.
    const handed: [object, RemoteForm][] = [];
    const onRemote = (object: object, form: RemoteForm) => {
      if (UNSENT in object) sent.push(object);
      handed.push([object, form]);
      return form;
    };
    const encode = (label: string, value: unknown): [string, unknown] => {
      try {
        return [label, encodeShared(value, { sameProcess: false, onRemote })];
      } catch (error) {
        throw new TypeError(
          `Cannot send ${label} to a child process: ${
            (error as Error).message
          }`,
          { cause: error },
        );
      }
    };
    const payload = preparePayload([
      ...this.#args.map((value, i) => encode(`args[${i}]`, value)),
      ...fields.map(([key, value]) => encode(`field "${key}"`, value)),
    ]);
    const header: ChildHeader = {
      name: this.#name,
      identity: this.#identity,
      daemon: this.#daemon,
      parentName: (currentProcess() as Process).name,
      parentPid: Deno.pid,
      modules: this.#modules,
      className,
      target: this.#targetRef,
      argCount: this.#args.length,
      fields: fields.map(([key]) => key),
      encoding: payload.encoding,
      startMethod: startMethodToPass(this.#method),
    };
    return { header, payload, handed, sent };
  }

  /** A child to run this process: an idle warm one, or a new one. */
  #launch(
    flags: string[],
    modules: string[],
  ): { child: Deno.ChildProcess; link: StreamLink } {
    const { stdout, stderr } = this.#stdio;
    // An idle child has this process's stdout and stderr.
    const fits = stdout === "inherit" && stderr === "inherit" &&
      warmChildFits({
        permissions: this.#permissions,
        env: this.#env,
        cwd: this.#cwd,
        modules: this.#modules,
      }, this.#method);
    const warm = fits ? takeWarm() : null;
    if (warm) return warm;
    const spawned = spawnChild(flags, entryUrl(modules), {
      env: this.#env,
      cwd: this.#cwd,
      stdout,
      stderr,
    });
    this.#streams = {
      stdout: spawned.stdout,
      stderr: stderr === "piped" ? spawned.child.stderr : null,
    };
    return spawned;
  }

  /** Counts the child among this runtime's, for the exit rules and `signal`. */
  #track(child: Deno.ChildProcess): TrackedChild {
    const tracked: TrackedChild = {
      process: this,
      daemon: this.#daemon,
      isAlive: () => this.#alive(),
      terminate: () => this.terminate(),
      ref: () => {
        this.#pinned = true;
        holdHandle(child, true);
      },
    };
    runtime().children.add(tracked);
    installExitHooks();
    if (this.#signal) {
      const onAbort = () => this.terminate();
      this.#onAbort = onAbort;
      this.#signal.addEventListener("abort", onAbort, { once: true });
    }
    return tracked;
  }

  /**
   * Resolves once the child has exited and its link is done, after the
   * cleanup: its exit code, what it left running, its abort listener.
   */
  #whenExited(
    child: Deno.ChildProcess,
    link: StreamLink,
    written: Promise<void>,
    sent: object[],
    tracked: TrackedChild,
  ): Promise<void> {
    const state = runtime();
    return Promise.all([child.status, written]).then(
      async ([status]) => {
        // What the child sent before it exited is handled before join()
        // returns. A grandchild that inherited the channel could hold it open:
        // wait a little for the close, not for ever.
        await broker().finished(link);
        for (const object of sent) {
          (object as { [UNSENT](origin: string): void })[UNSENT](
            `${child.pid}:1`,
          );
        }
        this.#exitCode = status.signal === null
          ? status.code
          : -(status.code - 128);
        state.children.delete(tracked);
        // No orphans: end what the child left running, in its group and
        // below it.
        this.#signalTree(child.pid, "SIGTERM");
        for (const pgid of [child.pid, ...this.#descendants]) {
          releaseGroup(pgid);
        }
        this.#descendants.clear();
        if (this.#onAbort) {
          this.#signal?.removeEventListener("abort", this.#onAbort);
          this.#onAbort = null;
        }
      },
    );
  }

  /**
   * Waits for the child to exit. After `timeout` ms it resolves with the
   * child still running (`exitCode` stays `null`), as Python's `join` does.
   *
   * @param options A timeout in milliseconds, or `{ timeout, signal }`;
   * a negative timeout does not wait, as in Python.
   * @returns A promise that resolves when the child has exited or the
   * timeout has passed.
   * @throws {Error} If the process was never started.
   */
  async join(options?: number | JoinOptions): Promise<void> {
    const { timeout, signal } = waitOptions(options, "wait", "now");
    this.#checkOpen("join");
    if (this.#running) {
      throw new Error(
        `Cannot join ${this.#name}: only a child process can be joined`,
      );
    }
    if (!this.#exited) {
      throw new Error(`Cannot join ${this.#name}: it has not been started`);
    }
    signal?.throwIfAborted();
    if (this.#exitCode !== null) return;
    await this.#held(settle(this.#exited, timeout, signal));
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
   * Whether the process is running: `false` before start, `true` until the
   * child exits, `false` after.
   *
   * @returns Whether the process is alive.
   * @throws {Error} If the process object is closed, as Python's
   * `ValueError`.
   */
  isAlive(): boolean {
    this.#checkOpen("check the state of");
    return this.#alive();
  }

  #alive(): boolean {
    if (this.#running) return this.#running.isAlive();
    return this.#child !== null && this.#exitCode === null;
  }

  /**
   * Ends the child and everything it started with `SIGTERM`. Does nothing
   * once the child has exited. Its `exitCode` becomes `-15`.
   *
   * @throws {Error} If the process was never started.
   */
  terminate(): void {
    this.#sendSignal("SIGTERM", "terminate");
  }

  /**
   * Ends the child and everything it started with `SIGKILL`. Does nothing
   * once the child has exited. Its `exitCode` becomes `-9`.
   *
   * @throws {Error} If the process was never started.
   */
  kill(): void {
    this.#sendSignal("SIGKILL", "kill");
  }

  /**
   * Releases the process object. Afterwards `isAlive()`, `join()`,
   * `start()`, `terminate()` and `kill()` throw, as in Python; `pid` and
   * `exitCode` stay readable. Closing again does nothing.
   *
   * @throws {Error} If the child is still running.
   */
  close(): void {
    if (!this.#running && this.#alive()) {
      throw new Error(
        `Cannot close ${this.#name} while it is still running: pid is ${this.pid}`,
      );
    }
    this.#closed = true;
  }

  /** The OS process id: `null` before start. */
  get pid(): number | null {
    if (this.#running) return this.#running.pid();
    return this.#child?.pid ?? null;
  }

  /**
   * The child's stdout, when started with `stdout: "piped"`; else `null`.
   * What it writes arrives here, and not on this process's stdout.
   */
  get stdout(): ReadableStream<Uint8Array> | null {
    return this.#streams.stdout;
  }

  /** The child's stderr, when started with `stderr: "piped"`; else `null`. */
  get stderr(): ReadableStream<Uint8Array> | null {
    return this.#streams.stderr;
  }

  /** Python's alias of {@linkcode pid}. */
  get ident(): number | null {
    return this.pid;
  }

  /**
   * `null` before start and while running; then `0` on success, `1` when
   * the target threw, the code given to `Deno.exit(n)`, or `-N` when the
   * child was ended by signal N.
   */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** The process's name. */
  get name(): string {
    return this.#name;
  }

  /**
   * Sets the name; in the child, `currentProcess().name` is the name the
   * process had when it was started.
   *
   * @throws {TypeError} If the name is not a string.
   */
  set name(value: string) {
    this.#name = checkName(value);
  }

  /** Whether the child is ended when its parent exits. */
  get daemon(): boolean {
    return this.#daemon;
  }

  /**
   * Sets the daemon flag, before start only.
   *
   * @throws {Error} If the process has been started.
   * @throws {TypeError} If the value is not a boolean.
   */
  set daemon(value: boolean) {
    if (this.#running || this.#child) {
      throw new Error(
        `Cannot set daemon of ${this.#name}: the process has already started`,
      );
    }
    this.#daemon = checkBoolean("daemon", value);
  }

  /**
   * Terminates the child if it is still running, then waits for it.
   *
   * @returns A promise that resolves once the child has exited.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#running || !this.#exited) return;
    if (this.#alive()) this.terminate();
    await this.#held(this.#exited);
  }

  /**
   * Python's repr: `<Process name='Process-1' pid=4242 parent=4241 started>`.
   *
   * @returns The repr.
   */
  toString(): string {
    const running = this.#running;
    const className = running?.reprName ?? this.constructor.name;
    const info = [className, `name=${pyRepr(this.#name)}`];
    if (!running && this.#child && !this.#closed) {
      info.push(`pid=${this.#child.pid}`);
    }
    const parent = running ? running.parentPid() : Deno.pid;
    info.push(`parent=${parent ?? "None"}`);
    if (this.#closed) info.push("closed");
    else if (running) info.push(running.status);
    else if (!this.#child) info.push("initial");
    else if (this.#exitCode === null) info.push("started");
    else {
      info.push("stopped");
      const code = this.#exitCode;
      const signal = code < 0 ? signalName(-code) : undefined;
      info.push(`exitcode=${signal ? `-${signal}` : code}`);
    }
    if (this.#daemon) info.push("daemon");
    return `<${info.join(" ")}>`;
  }

  /**
   * Shows the repr in `console.log`.
   *
   * @returns The repr.
   */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /**
   * In a child: rebuilds its own `Process` object from its start frame.
   *
   * @ignore
   */
  static [REBUILD](namespaces: Namespace[], values: unknown[]): Process {
    return rebuild(namespaces, values);
  }

  /** Keeps this process alive while something waits for the child. */
  #held(waiting: Promise<void>): Promise<void> {
    return keepAliveWhile(
      this.#child!,
      waiting,
      () => !this.#pinned && this.#exitCode === null,
    );
  }

  #checkOpen(action: string): void {
    if (this.#closed) {
      throw new Error(
        `Cannot ${action} ${this.#name}: the process object is closed`,
      );
    }
  }

  #sendSignal(signal: "SIGTERM" | "SIGKILL", action: string): void {
    this.#checkOpen(action);
    if (this.#running) {
      throw new Error(
        `Cannot ${action} ${this.#name}: only a child process can be ended`,
      );
    }
    const child = this.#child;
    if (!child) {
      throw new Error(
        `Cannot ${action} ${this.#name}: it has not been started`,
      );
    }
    if (this.#exitCode !== null) return;
    if (this.#signalTree(child.pid, signal)) return;
    try {
      child.kill(signal);
    } catch {
      // The child exited in the meantime.
    }
  }

  /**
   * Signals the child's process group (it leads one) and those its
   * descendants reported, if this process may signal groups.
   */
  #signalTree(pid: number, signal: Deno.Signal): boolean {
    if (!signalGroup(pid, signal)) return false;
    for (const pgid of this.#descendants) signalGroup(pgid, signal);
    return true;
  }
}

/**
 * The object of the process that runs this code. In the main process its
 * name is `MainProcess`; in a child it is the `Process` object the parent
 * started, rebuilt.
 *
 * @example The main process
 * ```ts
 * import { currentProcess } from "@parallel/multiprocessing";
 *
 * console.log(currentProcess().name); // "MainProcess"
 * ```
 *
 * @returns The current process.
 */
export function currentProcess(): Process {
  const state = runtime();
  if (!state.current) {
    const header = state.header;
    nextRunning = header ? RUNNING.self : RUNNING.main;
    state.current = new Process({
      name: header?.name ?? "MainProcess",
      daemon: header?.daemon ?? false,
    });
  }
  return state.current as Process;
}

/**
 * The parent of the current process, or `null` in the main process.
 *
 * @example In the main process
 * ```ts
 * import { parentProcess } from "@parallel/multiprocessing";
 *
 * console.log(parentProcess()); // null
 * ```
 *
 * @returns The parent process, or `null`.
 */
export function parentProcess(): Process | null {
  const header = runtime().header;
  if (!header) return null;
  nextRunning = RUNNING.parent;
  return new Process({ name: header.parentName });
}

/**
 * The children of the current process that are still running.
 *
 * @example No children yet
 * ```ts
 * import { activeChildren } from "@parallel/multiprocessing";
 *
 * console.log(activeChildren().length); // 0
 * ```
 *
 * @returns The live children.
 */
export function activeChildren(): Process[] {
  return [...runtime().children]
    .filter((child) => child.isAlive())
    .map((child) => child.process as Process);
}

/**
 * The number of logical CPUs, as Python's `cpu_count()`.
 *
 * @example
 * ```ts
 * import { cpuCount } from "@parallel/multiprocessing";
 *
 * console.log(cpuCount() >= 1); // true
 * ```
 *
 * @returns The number of CPUs.
 */
export function cpuCount(): number {
  return navigator.hardwareConcurrency;
}

// The child's entry: load the runtime first (it reads the start frame and
// marks the child as loading), then the modules, then run.
/** Signals a child's whole process group; false when not allowed. */
function rebuild(namespaces: Namespace[], values: unknown[]): Process {
  const header = runtime().header!;
  const args = values.slice(0, header.argCount);
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
  const options = { name: header.name, daemon: header.daemon, target, args };
  nextRunning = RUNNING.self;
  const Class = header.className === null
    ? Process
    : resolveClass(header.className, Process, namespaces, header.modules);
  // As Python's spawn unpickles: no subclass constructor runs; the public
  // fields come back as they were at start().
  const self = Reflect.construct(Process, [options], Class) as Process;
  header.fields.forEach((key, i) => {
    (self as unknown as Record<string, unknown>)[key] =
      values[header.argCount + i];
  });
  return self;
}
