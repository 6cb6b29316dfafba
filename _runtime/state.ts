// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Per-process runtime state, kept on `globalThis` so that every copy of this
// package loaded into one process (say, once from JSR and once from a local
// path) sees the same children, counters and child header.

/** What a child learns about itself from its parent before its modules load. */
export interface ChildHeader {
  /** The child's name, as the parent's `Process` object had it at start. */
  name: string;
  /** Python's `_identity`: the counters from the main process down to here. */
  identity: number[];
  daemon: boolean;
  parentName: string;
  parentPid: number;
  /** Module URLs the entry imports statically, in order. */
  modules: string[];
  /** The subclass to rebuild, or null for a plain `Process`. */
  className: string | null;
  /** How to find the target function, if there is one. */
  target: TargetRef | null;
  /** How many payload values are args; the rest are subclass fields. */
  argCount: number;
  /** The names of the subclass fields that follow the args. */
  fields: string[];
  /** How the payload (args, or subclass fields) is encoded. */
  encoding: "json" | "v8";
  /** The parent's start method, which a child keeps (as Python's does). */
  startMethod?: StartMethodState;
  /**
   * The key of the public channel on stdin and stdout (`_ipc/stdio_link.ts`);
   * absent when the channel is the socket at fd 3.
   */
  stdio?: number[];
}

/** How the child finds a target function; see ARCHITECTURE.md. */
export interface TargetRef {
  name: string;
  source: string;
}

/** What a worker learns about its thread, as `workerData`. */
export interface ThreadHeader {
  name: string;
  daemon: boolean;
  /** The thread's ident, and the process-wide counter idents come from. */
  ident: number;
  counter: SharedArrayBuffer;
  /** The header of the process the thread lives in, if it is a child. */
  process: ChildHeader | null;
  /** As in {@linkcode ChildHeader}. */
  modules: string[];
  className: string | null;
  target: TargetRef | null;
  argCount: number;
  fields: string[];
  /** The args, then the fields, after `encodeShared`. */
  values: unknown;
  /** The starting thread's start method: the process's, as in Python. */
  startMethod?: StartMethodState;
  /** One Int32 cell: the worker writes its OS thread id there. */
  nativeId: SharedArrayBuffer;
}

/** The start method as `setStartMethod()` set it, passed down. */
export interface StartMethodState {
  method: "warm";
  idle: number;
  preload: string[];
}

/**
 * Lifecycle hooks a `Process` or `Thread` subclass may define, run in the
 * child or worker around `run()`: `prepare` before it (to load what `run()`
 * needs synchronously, such as a client library), `cleanup` after it, even
 * when it throws (to close what would keep the event loop alive).
 */
export const PREPARE: unique symbol = Symbol.for(
  "@parallel/multiprocessing/prepare",
) as never;
/** See {@linkcode PREPARE}. */
export const CLEANUP: unique symbol = Symbol.for(
  "@parallel/multiprocessing/cleanup",
) as never;

/** An object with the optional lifecycle hooks. */
export interface Runs {
  run(): unknown;
  [PREPARE]?(): unknown;
  [CLEANUP]?(): unknown;
}

/** Runs `run()` between the object's lifecycle hooks. */
export async function runWithHooks(self: Runs): Promise<void> {
  await self[PREPARE]?.();
  try {
    await self.run();
  } finally {
    await self[CLEANUP]?.();
  }
}

/**
 * The static method by which a child's or worker's entry rebuilds its own
 * `Process` or `Thread` object from its start frame.
 */
export const REBUILD: unique symbol = Symbol.for(
  "@parallel/multiprocessing/rebuild",
) as never;

/** A started child as the runtime tracks it. */
export interface TrackedChild {
  /** The `Process` object. */
  readonly process: unknown;
  readonly daemon: boolean;
  isAlive(): boolean;
  terminate(): void;
  /** Keeps this process alive until the child exits. */
  ref(): void;
}

/** The state of this OS process as far as the package is concerned. */
export interface RuntimeState {
  /** Set in a child process: the header its parent sent. */
  header: ChildHeader | null;
  /** True while a child is still importing its modules. */
  loading: boolean;
  /** How many `Process` objects this process has created. */
  counter: number;
  /** Started children that have not exited yet. */
  children: Set<TrackedChild>;
  /** The object `currentProcess()` returns, once built. */
  current: unknown;
  /** Whether the exit hook that ends daemon children is installed. */
  exitHook: boolean;
  /** The `deno.json` children use; null when none, undefined until looked up. */
  config?: string | null;
  /** How children start; see `setStartMethod()`. */
  startMethod?: "spawn" | "warm";
  /** Set when a warm context's process starts: idle children are kept. */
  warmByContext?: boolean;
  /** How many booted, idle children to keep for the warm start. */
  warmIdle?: number;
  /** The idle children, oldest first. */
  warm?: Array<{ child: Deno.ChildProcess; link: unknown; context: string }>;
  /** Set in a warm child while it boots: it reads its frame later. */
  warmBoot?: boolean;
  /** The modules idle children and workers import ahead of time. */
  warmPreload?: string[];
  /** In a warm child or worker: the modules it preloaded, by URL. */
  preloaded?: Map<string, Record<string, unknown>>;
  /** The idle warm workers, for threads. */
  warmWorkers?: unknown[];
  /** Set by the first `Thread.start()`: only then do idle workers boot. */
  threadsStarted?: boolean;
  /** Set once the main code is done and exit hooks run: start no more. */
  unloading?: boolean;
  /** In a child or worker: the modules its entry imported, in order. */
  namespaces?: Record<string, unknown>[];
}

/**
 * A method of Process and Thread for the package's own use: resolves when
 * the child or worker has exited, without keeping the event loop alive for
 * it (a pool waits so for its daemon workers).
 */
export const EXITED: unique symbol = Symbol.for(
  "@parallel/multiprocessing/exited",
) as never;

const KEY = Symbol.for("@parallel/multiprocessing/runtime");

/** Returns this process's runtime state, creating it on first use. */
export function runtime(): RuntimeState {
  const g = globalThis as unknown as Record<symbol, RuntimeState | undefined>;
  return g[KEY] ??= {
    header: null,
    loading: false,
    counter: 0,
    children: new Set(),
    current: null,
    exitHook: false,
  };
}

/**
 * The modules a warm child or worker runs from: those it preloaded as they
 * are, the others imported now.
 *
 * @param urls The modules, in order.
 * @returns Their namespaces, in order.
 */
export function importModules(
  urls: string[],
): Promise<Record<string, unknown>[]> {
  const preloaded = runtime().preloaded;
  return Promise.all(
    urls.map((url) =>
      preloaded?.get(url) ?? import(url) as Promise<Record<string, unknown>>
    ),
  );
}
