// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The warm start, all of it: `setStartMethod()`, the idle children and
// idle workers it keeps booted, which start can take one, and when they are
// replaced. See ARCHITECTURE.md, "The warm start".

import type { Worker } from "node:worker_threads";
import { runtime, type StartMethodState } from "./state.ts";
import { CHILD_URL, spawnChild } from "./spawn.ts";
import type { StreamLink } from "../_ipc/link.ts";
import { grantsNow, permissionFlags, warmReadable } from "./permissions.ts";
import { releaseGroup } from "./reaper.ts";
import { describe } from "../_util/repr.ts";
import { THREAD_ENTRY_URL, workerThreads } from "./workers.ts";
import { allocateIdent, identCounter } from "./ident.ts";

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

// ---------------------------------------------------------------------------
// Idle children, for processes

const WARM_URL = new URL("./warm_entry.ts", import.meta.url).href;

/**
 * The entry of a warm child: it loads what it can while idle, then blocks on
 * its start frame in `runChild`.
 */
function warmEntry(): string {
  const preload = JSON.stringify(runtime().warmPreload ?? []);
  const lines = [
    `import { prepare } from ${JSON.stringify(WARM_URL)};`,
    `import { runChild } from ${JSON.stringify(CHILD_URL)};`,
    `await prepare(${preload}, true);`,
    "await runChild(null);",
  ];
  return `data:text/javascript,${encodeURIComponent(lines.join("\n"))}`;
}

/**
 * An idle warm child, if one is ready and was booted as a child would be
 * now; the pool is refilled soon after. Idle children booted before the
 * parent's permissions, environment or directory changed (a revoke, a
 * `Deno.env.set()`) are ended: they would hold what a child spawned now
 * would not.
 */
export function takeWarm():
  | { child: Deno.ChildProcess; link: StreamLink }
  | null {
  const state = runtime();
  const now = warmBoot().context;
  if (state.warm?.some((idle) => idle.context !== now)) endWarm();
  const idle = (state.warm ?? []).shift() as
    | { child: Deno.ChildProcess; link: StreamLink }
    | undefined;
  refillLater(idle !== undefined, fillWarm);
  return idle ?? null;
}

/**
 * How an idle child boots now: its flags, and what a child spawned now
 * would get (flags, directory, environment) as one comparable value.
 */
function warmBoot(): { flags: string[]; context: string } {
  const readable = warmReadPaths();
  const flags = [
    ...permissionFlags("inherit", {
      modules: [CHILD_URL, ...runtime().warmPreload ?? []],
    }),
    ...(readable?.length ? [`--allow-read=${readable.join(",")}`] : []),
  ];
  const granted = (descriptor: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state === "granted";
  // Read only where that cannot prompt; a process that may not read them
  // cannot change them either.
  // Sorted: Deno lists the environment in no fixed order.
  const env = granted({ name: "env" })
    ? Object.entries(Deno.env.toObject()).sort(([a], [b]) => a < b ? -1 : 1)
    : null;
  const cwd = granted({ name: "read", path: "." }) ? Deno.cwd() : null;
  return { flags, context: JSON.stringify([flags, cwd, env]) };
}

/**
 * Where idle children may read: everything (null) when this process may, or
 * else its working directory and the directories of the preloaded modules,
 * those of them this process may read.
 */
function warmReadPaths(): string[] | null {
  const readable = (path: string) =>
    Deno.permissions.querySync({ name: "read", path }).state === "granted";
  const candidates = (runtime().warmPreload ?? [])
    .filter((url) => url.startsWith("file:"))
    .map((url) => {
      const path = decodeURIComponent(new URL(url).pathname);
      return path.slice(0, path.lastIndexOf("/")) || "/";
    });
  if (readable(".")) candidates.unshift(Deno.cwd());
  return warmReadable(candidates);
}

/** Starts idle children until `warmIdle` are ready. */
function fillWarm(): void {
  const state = runtime();
  // Not while this child or worker imports its modules: an idle child that
  // preloads a module calling setStartMethod("warm") would boot another.
  const wanted = state.startMethod === "warm" || state.warmByContext;
  if (!wanted || state.unloading || state.loading) return;
  state.warm ??= [];
  const { flags, context } = warmBoot();
  while (state.warm.length < (state.warmIdle ?? 1)) {
    const idle = { ...spawnChild(flags, warmEntry(), {}), context };
    state.warm.push(idle);
    // One that dies while idle (killed) leaves the pool.
    idle.child.status.then(() => {
      const i = state.warm?.indexOf(idle) ?? -1;
      if (i < 0) return;
      state.warm!.splice(i, 1);
      releaseGroup(idle.child.pid);
    });
  }
}

/** The options of {@linkcode setStartMethod}. */
export interface StartMethodOptions {
  /**
   * How many booted children to keep waiting for a `start()`, with
   * `"warm"`.
   *
   * @default {1}
   */
  idle?: number;
  /**
   * Modules (absolute URLs, such as `import.meta.url`) that each idle child
   * and worker imports while it waits, as Python's
   * `set_forkserver_preload()`: a `start()` whose target lives in one of
   * them finds it loaded and skips the import (about 3 ms for a small local
   * module). Their top level runs in every idle child, used or not, and
   * before it knows its name; starting a process or thread there throws, as
   * in any child. A module that fails to load is skipped, and the child that
   * needs it reports the error as a spawned child would. A start that takes
   * an idle child still preloading waits for it (as a fork server would):
   * a module whose top level never finishes holds every warm start.
   *
   * @default {[]}
   */
  preload?: readonly (string | URL)[];
}

/**
 * Chooses how `Process.start()` starts children, as Python's
 * `multiprocessing.set_start_method()`:
 *
 * - `"spawn"` (the default) boots a new Deno for each child.
 * - `"warm"` keeps `idle` children booted ahead of time (the package's child
 *   runtime loaded, blocked on their start frame), as Python's `forkserver`
 *   keeps a server: `start()` hands one its target, which it imports then,
 *   and a new idle child boots in the background. Idle children have this
 *   process's permissions and environment, watch it as every child does, and
 *   exit when it does. A `Process` with its own `permissions`, `env` or
 *   `cwd`, or whose module is not a local file this process may read, still
 *   spawns. Threads get idle workers the same way; note that Deno creates a
 *   Worker synchronously, so each replacement Worker holds this thread for
 *   the length of its boot (about 50 ms on 2 cores), 50 ms after the start
 *   that took the last one.
 *
 * @param method `"spawn"` or `"warm"`.
 * @param options How many idle children to keep, and what they preload.
 * @throws {TypeError} If `method` is not one of those, `idle` is not an
 * integer, or `preload` is not an array of absolute URLs.
 * @throws {RangeError} If `idle` is below 1.
 *
 * @example Warm start
 * ```ts
 * import { Process, setStartMethod } from "@parallel/multiprocessing";
 *
 * export function hello(): void {
 *   console.log("hello from a warm child");
 * }
 *
 * if (import.meta.main) {
 *   setStartMethod("warm");
 *   const p = new Process({ target: hello });
 *   p.start();
 *   await p.join();
 * }
 * ```
 */
export function setStartMethod(
  method: "spawn" | "warm",
  options: StartMethodOptions = {},
): void {
  if (method !== "spawn" && method !== "warm") {
    throw new TypeError(
      `Cannot set the start method: expected "spawn" or "warm", received ${
        describe(method)
      }`,
    );
  }
  const { idle = 1 } = options;
  if (typeof idle !== "number" || !Number.isInteger(idle)) {
    throw new TypeError(
      `Cannot set the start method: expected idle to be an integer, received ${
        describe(idle)
      }`,
    );
  }
  if (idle < 1) {
    throw new RangeError(
      `Cannot set the start method: expected idle to be >= 1, received ${idle}`,
    );
  }
  const preload = checkPreload(options.preload ?? []);
  const state = runtime();
  // Idle children that preloaded other modules, or are no longer needed,
  // end; the pools refill as now asked.
  const stale = method === "spawn" ||
    JSON.stringify(preload) !== JSON.stringify(state.warmPreload ?? []);
  state.startMethod = method;
  state.warmIdle = idle;
  state.warmPreload = preload;
  if (stale) endWarmWorkers();
  fillWarmWorkers();
  if (stale) endWarm();
  fillWarm();
}

/** Ends the idle children. */
function endWarm(): void {
  for (const { child } of runtime().warm?.splice(0) ?? []) {
    try {
      child.kill("SIGTERM");
    } catch {
      // Gone already.
    }
    child.status.then(() => releaseGroup(child.pid));
  }
}

function checkPreload(preload: unknown): string[] {
  if (!Array.isArray(preload)) {
    throw new TypeError(
      `Cannot set the start method: expected preload to be an array of module URLs, received ${
        describe(preload)
      }`,
    );
  }
  return preload.map((url, i) => {
    if (url instanceof URL) return url.href;
    if (typeof url === "string" && URL.canParse(url)) return new URL(url).href;
    throw new TypeError(
      `Cannot set the start method: expected preload[${i}] to be an absolute module URL (such as import.meta.url), received ${
        describe(url)
      }`,
    );
  });
}

/**
 * The start method to pass to a child or thread: a child keeps its
 * parent's, as in Python. Undefined for `"spawn"`, the default.
 */
export function startMethodToPass(
  method?: "spawn" | "warm",
): StartMethodState | undefined {
  const state = runtime();
  if ((method ?? state.startMethod) !== "warm") return undefined;
  return {
    method: "warm",
    idle: state.warmIdle ?? 1,
    preload: state.warmPreload ?? [],
  };
}

/**
 * Takes on the start method a parent passed. Nothing boots now: the idle
 * children start after this process's first start, as the first one in a
 * parent that set the method late.
 */
export function inheritStartMethod(passed: StartMethodState | undefined): void {
  if (passed?.method !== "warm") return;
  const state = runtime();
  state.startMethod = "warm";
  state.warmIdle = passed.idle;
  state.warmPreload = passed.preload;
}

/**
 * The start method `Process.start()` uses; see {@linkcode setStartMethod}.
 * A child process or thread keeps the method of the code that started it,
 * as in Python.
 *
 * @returns `"spawn"` or `"warm"`.
 *
 * @example Usage
 * ```ts
 * import { getStartMethod } from "@parallel/multiprocessing";
 *
 * console.log(getStartMethod()); // "spawn"
 * ```
 */
export function getStartMethod(): "spawn" | "warm" {
  return runtime().startMethod ?? "spawn";
}

/**
 * The start methods this platform offers, as Python's
 * `get_all_start_methods()`: the default first.
 *
 * @returns `["spawn", "warm"]`.
 *
 * @example Usage
 * ```ts
 * import { getAllStartMethods } from "@parallel/multiprocessing";
 *
 * console.log(getAllStartMethods()); // ["spawn", "warm"]
 * ```
 */
export function getAllStartMethods(): ("spawn" | "warm")[] {
  return ["spawn", "warm"];
}

/**
 * Whether a warm child can stand for a process: one with the flags of any
 * warm child (inherited permissions, this environment and directory), and
 * modules it may import at run time (local files it can read).
 */
export function warmChildFits(
  process: {
    permissions: unknown;
    env: unknown;
    cwd: unknown;
    modules: readonly string[];
  },
  method: "spawn" | "warm" = runtime().startMethod ?? "spawn",
): boolean {
  const state = runtime();
  if (method !== "warm") return false;
  // A warm context's process: idle children are kept from now on.
  if (state.startMethod !== "warm") state.warmByContext = true;
  if (process.permissions !== "inherit" || process.env || process.cwd) {
    return false;
  }
  // The idle child imports the modules then: it must be able to read them.
  const readable = warmReadPaths();
  return process.modules.every((url) => {
    if (!url.startsWith("file:")) return false;
    const path = decodeURIComponent(new URL(url).pathname);
    return readable === null
      ? Deno.permissions.querySync({ name: "read", path }).state === "granted"
      : readable.some((dir) => path.startsWith(dir === "/" ? "/" : `${dir}/`));
  });
}

// ---------------------------------------------------------------------------
// Idle workers, for threads

const WARM_ENTRY = new URL("./warm_entry.ts", import.meta.url);

/**
 * The entry of a warm worker: it loads what it can while idle, then waits
 * for its header in `runWarmThread`.
 */
function warmEntryUrl(): string {
  const warm = WARM_ENTRY.href;
  const preload = JSON.stringify(runtime().warmPreload ?? []);
  const lines = [
    `import { prepare } from ${JSON.stringify(warm)};`,
    `import { runWarmThread } from ${JSON.stringify(THREAD_ENTRY_URL)};`,
    `await prepare(${preload}, false);`,
    "await runWarmThread();",
    // Here, not in the runtime: see runThread.
    "globalThis.close();",
  ];
  return `data:text/javascript,${encodeURIComponent(lines.join("\n"))}`;
}

/**
 * An idle warm worker. It has its ident from its creation, so that what its
 * preloaded modules do at their top level already runs as its own thread.
 */
export interface WarmWorker {
  worker: Worker;
  ident: number;
  /** The process's grants when it was created, which it inherited. */
  grants: string;
}

/**
 * An idle warm worker, if one is ready and holds what a worker created now
 * would; the pool is refilled soon after. Workers created before the
 * process's grants changed (a revoke) are ended.
 */
export function takeWarmWorker(): WarmWorker | null {
  const pool = (runtime().warmWorkers ?? []) as WarmWorker[];
  const grants = grantsNow();
  if (pool.some((idle) => idle.grants !== grants)) endWarmWorkers();
  const idle = pool.shift();
  refillLater(idle !== undefined, fillWarmWorkers);
  return idle ?? null;
}

/**
 * Starts idle workers until as many as `setStartMethod()` asked are ready:
 * once this runtime has started a thread (a program without threads boots
 * none), and only if a worker may load the package's modules.
 */
function fillWarmWorkers(): void {
  const state = runtime();
  // Not while loading: see fillWarm().
  if (state.startMethod !== "warm" || state.unloading || state.loading) return;
  if (!state.threadsStarted) return;
  if (
    WARM_ENTRY.protocol === "file:" &&
    Deno.permissions.querySync({ name: "read", path: WARM_ENTRY }).state !==
      "granted"
  ) return;
  const pool = state.warmWorkers ??= [];
  const grants = grantsNow();
  while (pool.length < (state.warmIdle ?? 1)) {
    const ident = allocateIdent();
    const worker = new (workerThreads().Worker)(new URL(warmEntryUrl()), {
      workerData: { warm: true, ident, counter: identCounter() },
    });
    // Idle, it keeps nothing alive; it dies with the process.
    worker.unref();
    const idle: WarmWorker = { worker, ident, grants };
    pool.push(idle);
    const leave = () => {
      const i = pool.indexOf(idle);
      if (i >= 0) pool.splice(i, 1);
    };
    worker.once("exit", leave);
    // One that fails to boot leaves the pool; threads start cold instead.
    worker.once("error", leave);
  }
}

/** Ends the idle warm workers. */
function endWarmWorkers(): void {
  for (const idle of runtime().warmWorkers?.splice(0) ?? []) {
    void (idle as WarmWorker).worker.terminate();
  }
}

/**
 * Whether a warm worker can stand for a thread: modules it may import at
 * run time (local files this thread may read).
 */
export function warmWorkerFits(modules: readonly string[]): boolean {
  if (runtime().startMethod !== "warm") return false;
  return modules.every((url) => {
    if (!url.startsWith("file:")) return false;
    const path = decodeURIComponent(new URL(url).pathname);
    return Deno.permissions.querySync({ name: "read", path }).state ===
      "granted";
  });
}
