// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The thread runtime. A Thread's worker entry imports this module first:
// evaluating it takes the thread's header from `workerData` (synchronous,
// so the user's modules see their thread while they load) and marks the
// thread as loading. Then the entry imports the user's modules and calls
// `runThread`, which rebuilds the Thread object and runs it.

import { parentPort, workerData } from "node:worker_threads";
import { broker } from "../_ipc/broker.ts";
import { encodeShared } from "../_ipc/crossing.ts";
import { PortLink } from "../_ipc/link.ts";
import { publishAll } from "../sync/_remote.ts";
import { adoptIdent, nativeId } from "./ident.ts";
import { inheritStartMethod } from "./warm.ts";
import {
  importModules,
  REBUILD,
  runtime,
  runWithHooks,
  type ThreadHeader,
} from "./state.ts";
import { exportOf, type Namespace } from "./target.ts";
import { activeChildren } from "../process.ts";
import { currentThread, enumerate, Thread } from "../thread.ts";

type Header = ThreadHeader & { port: unknown };
const state = runtime();
let header = workerData as Header;

/** Takes on the thread's header: who it is, its process, its channel. */
function begin(given: Header): void {
  header = given;
  // The link to the starting thread opens when a queue or pipe first
  // needs it.
  broker().openUpstream = () => new PortLink(given.port);
  // The process this thread lives in, for currentProcess().
  state.header = given.process;
  inheritStartMethod(given.startMethod);
  state.loading = true;
  adoptIdent(given.ident, given.counter);
  Atomics.store(new Int32Array(given.nativeId), 0, nativeId() ?? 0);
  // Deno.exit() in the thread ends the worker now.
  globalThis.addEventListener("unload", () => {
    sayEnd((Deno as { exitCode?: number }).exitCode ?? 0);
  });
}

let endSaid = false;

/**
 * Tells the starting thread that this worker ends, and with what code: Deno
 * 2.5 and 2.6 send it no exit event for a worker that closes itself.
 */
function sayEnd(code: number): void {
  if (endSaid) return;
  endSaid = true;
  parentPort!.postMessage({ kind: "end", code });
}

// A warm worker gets its header later, in runWarmThread(). It listens for it
// now: a header posted while the worker still preloads would be lost.
const warmHeader = (workerData as { warm?: boolean }).warm
  ? new Promise<Header>((resolve) => parentPort!.once("message", resolve))
  : null;
if (!warmHeader) begin(header);
// Its ident it has from the start (see thread.ts, WarmWorker).
else adoptIdent(header.ident, header.counter);

/**
 * A warm worker's runtime (see `setStartMethod("warm")`): booted with the
 * package loaded, it waits for the header of the thread it will be, then
 * imports that thread's modules and runs it.
 */
export async function runWarmThread(): Promise<void> {
  const given = await warmHeader!;
  begin(given);
  const namespaces = await importModules(given.modules);
  await runThread(namespaces);
}

async function waitForNonDaemons(): Promise<void> {
  while (true) {
    const waiting = [
      ...enumerate().filter((t) => t !== currentThread()),
      ...activeChildren(),
    ].filter((unit) => !unit.daemon && unit.isAlive());
    if (waiting.length === 0) return;
    await Promise.all(waiting.map((unit) => unit.join()));
  }
}

/**
 * Runs the thread, once the entry has imported the modules that define its
 * target. An error escaping `run()` goes to the starting thread, whose
 * `Thread.excepthook` reports it; then the entry closes the worker.
 *
 * @param namespaces The imported modules, in the order of `header.modules`.
 */
export async function runThread(namespaces: Namespace[]): Promise<void> {
  state.loading = false;
  let clean = false;
  try {
    state.namespaces = namespaces;
    await broker().ready(header.values);
    await runWithHooks(Thread[REBUILD](header, namespaces));
    clean = true;
  } catch (error) {
    // As itself: its class, stack, cause and fields (see crossing.ts), and
    // where its class is exported, for a class of the user's own.
    const exception = error instanceof Error ? error : new Error(String(error));
    parentPort!.postMessage({
      kind: "exception",
      error: encodeException(exception),
      classAt: exportOf(exception.constructor, namespaces, header.modules),
    });
  }
  // Closing the worker would end the threads and processes it started:
  // the non-daemon ones keep it open until they end, as Python's program
  // waits for them.
  await waitForNonDaemons();
  // What the thread put on queues and pipes reaches its parent first.
  publishAll();
  if (clean) await broker().goodbye();
  else await broker().flushAll();
  sayEnd(0);
  // A Python thread ends when run() returns, whatever it left pending: the
  // entry closes the worker when this resolves. (From here, Deno, 2.5 to
  // 2.9 at least, would leak the worker's epoll fd, its eventfd and about
  // a megabyte: close() while the entry's top-level await is pending.)
}

/** The error's crossing form; one whose fields cannot cross loses them. */
function encodeException(error: Error): unknown {
  try {
    return encodeShared(error);
  } catch {
    const bare = new Error(error.message);
    bare.name = error.name;
    bare.stack = error.stack;
    return encodeShared(bare);
  }
}
