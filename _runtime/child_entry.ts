// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The child runtime. The entry a parent builds imports this module first:
// evaluating it reads the start frame from stdin (synchronously, so the
// user's modules see their process's name while they load) and starts the
// orphan watch. Then the entry imports the user's modules and calls
// `runChild`, which rebuilds the `Process` object and runs it. A warm child
// (see `_runtime/warm_entry.ts`) reads its frame later, in `runChild`, once it has loaded
// what it loads while idle.

import { broker } from "../_ipc/broker.ts";
import { watchParent } from "./orphan_watch.ts";
import { ChildLink } from "../_ipc/link.ts";
import { StdioChildLink } from "../_ipc/stdio_link.ts";
import {
  decodePayload,
  EmptyFrameError,
  readFrameSync,
} from "./start_frame.ts";
import { canSignalGroups } from "./permissions.ts";
import {
  type ChildHeader,
  importModules,
  REBUILD,
  runtime,
  runWithHooks,
} from "./state.ts";
import type { Namespace } from "./target.ts";
import { publishAll } from "../sync/_remote.ts";
import { inheritStartMethod } from "./warm.ts";
import { Process } from "../process.ts";

const state = runtime();

let header: ChildHeader;
let payload: Uint8Array;
if (!state.warmBoot) begin();

/** Reads the start frame and becomes the child it describes. */
function begin(): void {
  ({ header, payload } = readFrameOrExit());
  state.header = header;
  inheritStartMethod(header.startMethod);
  state.loading = true;

  // The link to the parent opens when a queue, pipe or lock first needs it.
  // The parent closes it only after this process has exited, so a close
  // seen here means the parent died: end at once, quietly, as the orphan
  // watch would (what waited on the parent would only print a broken pipe).
  broker().openUpstream = () => {
    const link = header.stdio === undefined
      ? new ChildLink()
      : new StdioChildLink(header.stdio);
    link.done.then(orphaned);
    return link;
  };
  // Deno.exit() ends the process after the `unload` event: what was put or
  // sent before it leaves now (a child's socket writes at once).
  globalThis.addEventListener("unload", () => broker().flushNowAll());

  // No orphans: when the parent dies, end the whole process group.
  watchParent(header.parentPid, orphaned);
}

/** Reads the start frame; a parent that died before sending it is no error. */
function readFrameOrExit(): ReturnType<typeof readFrameSync> {
  try {
    return readFrameSync();
  } catch (error) {
    if (!(error instanceof EmptyFrameError)) throw error;
    Deno.exit(1);
  }
}

function orphaned(): never {
  if (canSignalGroups()) {
    try {
      // This process leads its group (the parent spawned it detached).
      Deno.kill(-Deno.pid, "SIGTERM");
    } catch {
      // Fall through to exiting alone.
    }
  }
  Deno.exit(1);
}

/**
 * Runs the process the parent started, once the entry has imported the
 * modules that define its target. Prints an error as Python prints a
 * traceback (`Process NAME:` then the stack) and exits with code 1.
 *
 * @param namespaces The imported modules, in the order of `header.modules`;
 * `null` in a warm child, which imports them now.
 */
export async function runChild(
  namespaces: Namespace[] | null,
): Promise<void> {
  if (state.warmBoot) begin();
  try {
    // A warm child's entry imported nothing of the user's: import now.
    namespaces ??= await importModules(header.modules);
    state.loading = false;
    const sent = await decodePayload(header.encoding, payload);
    await broker().ready(sent);
    const values = broker().fromParent(sent) as unknown[];
    state.namespaces = namespaces;
    const self = Process[REBUILD](namespaces, values);
    state.current = self;
    await runWithHooks(self);
    // What run() put on queues and pipes (and wrote to shared arrays)
    // reaches the parent before exit.
    publishAll();
    await broker().goodbye();
  } catch (error) {
    await broker().flushAll().catch(() => {});
    fail(error);
  }
}

/** Prints an error as Python prints a child's traceback, and exits 1. */
function fail(error: unknown): never {
  console.error(`Process ${header.name}:`);
  console.error(error);
  Deno.exit(1);
}
