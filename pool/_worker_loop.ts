// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// A pool worker's loop, run as the target of a Process or a Thread. It
// pulls chunks of tasks from its pool's feed (a shared object the pool owns)
// and posts each task's result back as soon as it has it. It asks for the
// next chunk before running the current one, so a chunk is waiting when the
// current one ends. See ARCHITECTURE.md, "Pools".

import { broker, registerRemoteKind } from "../_ipc/broker.ts";
import { isPrimitive } from "../_ipc/link.ts";
import type { TargetRef } from "../_runtime/state.ts";
import { runtime } from "../_runtime/state.ts";
import { explainScope, resolveFunction } from "../_runtime/target.ts";
import { describe } from "../_util/repr.ts";
import { MaybeEncodingError } from "../errors.ts";

/** What a worker is told when it starts. */
export interface WorkerSetup {
  /** The worker's number in its pool. */
  id: number;
  /** The modules the child imported, to name in errors. */
  modules: string[];
  initializer: TargetRef | null;
  initargs: unknown[];
}

/**
 * What `next` answers: stop, skip (the chunk meant for this worker could
 * not be sent: ask again), or a chunk to run.
 */
export type Chunk =
  | ["stop"]
  | ["skip"]
  | [
    "run",
    chunkId: number,
    fnKey: number,
    fnRef: TargetRef | null,
    args: unknown[],
    star: boolean,
  ];

/**
 * The `[start, end)` ranges a job's tasks travel in: `chunksize` each, or,
 * when it is null, guided: each chunk a quarter of what is left per worker,
 * from Python's `ceil(n / (4 × workers))` down to a floor of about a
 * sixty-fourth of that start (measured on a map of 20,000 small tasks over 2
 * workers: the last large chunk left one core idle for up to 15% of the
 * run).
 *
 * @param n How many tasks.
 * @param chunksize The size of every chunk, or null for guided chunks.
 * @param workers How many workers the pool has.
 * @returns The ranges, in order, covering `[0, n)`.
 */
export function* chunkRanges(
  n: number,
  chunksize: number | null,
  workers: number,
): Generator<[number, number]> {
  const least = Math.max(1, Math.ceil(n / (workers * 4 * 64)));
  for (let start = 0; start < n;) {
    const size = chunksize ??
      Math.max(least, Math.ceil((n - start) / (workers * 4)));
    yield [start, Math.min(n, start + size)];
    start += size;
  }
}

/** The feed's kind name on the wire. */
export const FEED_KIND = "PoolFeed";

/** The pool's feed, as a worker reaches it. */
export class FeedProxy {
  readonly #id: string;

  /** Wraps the feed's id. */
  constructor(id: string) {
    this.#id = id;
  }

  /** Asks for the next chunk of tasks. */
  next(worker: number): Promise<Chunk> {
    return broker().request(this.#id, "next", [worker]) as Promise<Chunk>;
  }

  /** Writes out now what was posted (from inside synchronous work). */
  flush(): void {
    broker().flushNow(this.#id);
  }

  /** Posts a message to the pool without waiting for an answer. */
  post(op: string, args: unknown[]): void {
    broker().post(this.#id, op, args);
  }
}

registerRemoteKind(FEED_KIND, (id) => new FeedProxy(id));

type Fn = (...args: unknown[]) => unknown;

/**
 * The worker loop: runs the initializer, then chunks until told to stop.
 *
 * @param feed The pool's feed.
 * @param setup Who this worker is and how to start.
 */
export async function poolWorker(
  feed: FeedProxy,
  setup: WorkerSetup,
): Promise<void> {
  const resolve = resolver(setup);
  if (setup.initializer) await resolve(setup.initializer)(...setup.initargs);
  feed.post("ready", [setup.id]);
  const fns = new Map<number, Fn | Error>();
  const ask = () => {
    const next = feed.next(setup.id);
    // Awaited later; until then a failure must not count as unhandled.
    next.catch(() => {});
    return next;
  };
  let next = ask();
  // Deno.exit() in a task ends the process after `unload`: the results
  // held back here leave first, or their tasks would run again.
  let flushHeld = () => {};
  globalThis.addEventListener("unload", () => flushHeld());
  while (true) {
    const chunk = await next;
    if (chunk[0] === "stop") break;
    next = ask();
    if (chunk[0] === "skip") continue;
    const [, chunkId, key, ref, list, star] = chunk;
    const fn = chunkFunction(fns, key, ref, resolve);
    const out = chunkReporter(feed, setup.id, chunkId);
    flushHeld = out.flush;
    const running = runChunk(fn, list, star, out);
    if (running) await running;
  }
}

/** How this worker finds a function from its description. */
function resolver(setup: WorkerSetup): (ref: TargetRef) => Fn {
  const namespaces = runtime().namespaces ?? [];
  return (ref: TargetRef): Fn => {
    const { fn, fromSource } = resolveFunction(ref, namespaces, setup.modules);
    return fromSource ? explainScope(fn, ref.name, setup.modules) : fn;
  };
}

/**
 * The function a chunk runs: resolved when the chunk brings its
 * description, and kept by its key (as the error, if it cannot be).
 */
function chunkFunction(
  fns: Map<number, Fn | Error>,
  key: number,
  ref: TargetRef | null,
  resolve: (ref: TargetRef) => Fn,
): Fn | Error | undefined {
  if (ref) {
    try {
      fns.set(key, resolve(ref));
    } catch (error) {
      fns.set(key, error as Error);
    }
  }
  return fns.get(key);
}

/** How one chunk's results leave the worker. */
interface ChunkReporter {
  /** Takes one task's outcome. */
  report: (i: number, ok: boolean, value: unknown) => void;
  /** Posts the results held back. */
  sendWaiting: () => void;
  /** Posts the results held back and writes out all that was posted. */
  flush: () => void;
}

/**
 * The results of chunk `chunkId`, as they leave. Results leave at least
 * every millisecond, even from a loop of synchronous tasks: the pool times
 * tasks by them, and a worker that dies has told it how far it got.
 * (Date.now(), not performance.now(): the latter is a call into Deno, half
 * a microsecond a task.)
 */
function chunkReporter(
  feed: FeedProxy,
  worker: number,
  chunkId: number,
): ChunkReporter {
  let flushed = Date.now();
  // Results that are numbers or strings (most tasks') wait here and leave
  // together, one message per flush rather than one per task; any other
  // leaves at once, after those waiting, so results arrive in order.
  let indices: number[] = [];
  let values: unknown[] = [];
  const sendWaiting = () => {
    if (indices.length === 0) return;
    feed.post("results", [worker, chunkId, indices, values]);
    indices = [];
    values = [];
  };
  const flush = () => {
    sendWaiting();
    feed.flush();
  };
  const report = (i: number, ok: boolean, value: unknown) => {
    if (ok && isPrimitive(value)) {
      indices.push(i);
      values.push(value);
    } else {
      sendWaiting();
      post(feed, [worker, chunkId, i, ok, value]);
    }
    const now = Date.now();
    // (A clock set back flushes at once rather than never.)
    if (now - flushed >= 1 || now < flushed) {
      sendWaiting();
      feed.flush();
      flushed = now;
    }
  };
  return { report, sendWaiting, flush };
}

/**
 * Runs a chunk's tasks in order, reporting each. Synchronous tasks run in
 * a plain loop; only once one returns a promise is there one to await.
 *
 * @returns A promise if a task was asynchronous, to await before the next
 * chunk; otherwise nothing, and the chunk is done.
 */
function runChunk(
  fn: Fn | Error | undefined,
  list: unknown[],
  star: boolean,
  out: ChunkReporter,
): Promise<void> | undefined {
  if (fn instanceof Error || fn === undefined) {
    const error = fn ??
      new Error("Cannot run the task: its function never arrived");
    for (let i = 0; i < list.length; i++) out.report(i, false, error);
    return;
  }
  const pending = runSync(fn, list, star, 0, out.report);
  if (pending) return runAsync(fn, list, star, pending, out);
  out.sendWaiting();
}

/** Runs the rest of a chunk from its first task that returned a promise. */
async function runAsync(
  fn: Fn,
  list: unknown[],
  star: boolean,
  first: { index: number; promise: Promise<unknown> },
  out: ChunkReporter,
): Promise<void> {
  const { report, sendWaiting } = out;
  let pending: typeof first | null = first;
  while (pending) {
    sendWaiting();
    const i = pending.index;
    try {
      report(i, true, await pending.promise);
    } catch (error) {
      report(i, false, error);
    }
    pending = runSync(fn, list, star, i + 1, report);
  }
  sendWaiting();
}

/**
 * Runs tasks from `from` on, reporting each, until one returns a promise.
 * The call goes through `Reflect.apply`, which V8 does not inline: a task
 * inlined into this loop ran in Maglev's code for it, 5-8x slower than the
 * same task called on its own (seen with V8 15.0 in Deno 2.9).
 */
function runSync(
  fn: Fn,
  list: unknown[],
  star: boolean,
  from: number,
  report: (i: number, ok: boolean, value: unknown) => void,
): { index: number; promise: Promise<unknown> } | null {
  for (let i = from; i < list.length; i++) {
    let value: unknown;
    try {
      value = Reflect.apply(
        fn,
        undefined,
        star ? list[i] as unknown[] : [list[i]],
      );
    } catch (error) {
      report(i, false, error);
      continue;
    }
    if (value instanceof Promise) return { index: i, promise: value };
    report(i, true, value);
  }
  return null;
}

/** Posts a result; one that cannot be cloned is reported as an error. */
function post(feed: FeedProxy, result: unknown[]): void {
  try {
    feed.post("result", result);
  } catch (error) {
    const ok = result[3];
    const what = ok ? "the result" : "the error";
    result[3] = false;
    result[4] = new MaybeEncodingError(
      `${what} of the task, ${describe(result[4])}`,
      (error as Error).message,
      { cause: error },
    );
    feed.post("result", result);
  }
}
