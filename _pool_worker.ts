// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// A pool worker's loop, run as the target of a Process or a Thread. It
// pulls chunks of tasks from its pool's feed (a shared object the pool owns)
// and posts each task's result back as soon as it has it. It asks for the
// next chunk before running the current one, so a chunk is waiting when the
// current one ends. See ARCHITECTURE.md, "Pools".

import { broker, registerRemote } from "./_broker.ts";
import "./_shared.ts";
import type { TargetRef } from "./_state.ts";
import { runtime } from "./_state.ts";
import { explainScope, resolveFunction } from "./_target.ts";

/** What a worker is told when it starts. */
export interface WorkerSetup {
  /** The worker's number in its pool. */
  id: number;
  /** The modules the child imported, to name in errors. */
  modules: string[];
  initializer: TargetRef | null;
  initargs: unknown[];
}

/** What `next` answers: stop, or a chunk to run. */
export type Chunk =
  | ["stop"]
  | [
    "run",
    chunkId: number,
    fnKey: number,
    fnRef: TargetRef | null,
    args: unknown[],
    star: boolean,
  ];

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

  /** Posts a message to the pool without waiting for an answer. */
  post(op: string, args: unknown[]): void {
    broker().post(this.#id, op, args);
  }
}

registerRemote(FEED_KIND, (id) => new FeedProxy(id));

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
  const namespaces = runtime().namespaces ?? [];
  const resolve = (ref: TargetRef): Fn => {
    const { fn, fromSource } = resolveFunction(ref, namespaces, setup.modules);
    return fromSource ? explainScope(fn, ref.name, setup.modules) : fn;
  };
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
  while (true) {
    const chunk = await next;
    if (chunk[0] === "stop") break;
    next = ask();
    const [, chunkId, key, ref, list, star] = chunk;
    if (ref) {
      try {
        fns.set(key, resolve(ref));
      } catch (error) {
        fns.set(key, error as Error);
      }
    }
    const fn = fns.get(key);
    for (let i = 0; i < list.length; i++) {
      let ok = true;
      let value: unknown;
      try {
        if (fn instanceof Error || fn === undefined) {
          throw fn ??
            new Error("Cannot run the task: its function never arrived");
        }
        value = star ? await fn(...list[i] as unknown[]) : await fn(list[i]);
      } catch (error) {
        [ok, value] = [false, error];
      }
      try {
        feed.post("result", [setup.id, chunkId, i, ok, value]);
      } catch (error) {
        feed.post("result", [
          setup.id,
          chunkId,
          i,
          false,
          new TypeError(
            `Cannot send the ${ok ? "result" : "error"} of the task back: ${
              (error as Error).message
            }`,
          ),
        ]);
      }
    }
  }
}
