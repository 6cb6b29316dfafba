// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The first module of a warm child or worker (see `setStartMethod("warm")`):
// it loads, while the child is idle, what a child runtime needs later: the
// whole package (which the user's modules import in turn), the channel's
// `node:net` (about 19 ms to load) in a child process, and the modules named
// by `preload`.

import { watchParent } from "./orphan_watch.ts";
import { runtime } from "./state.ts";

runtime().warmBoot = true;

/**
 * Loads what an idle child or worker may need: `node:net` for a process's
 * channel, then each module of `urls`, in order. While they load, the
 * runtime counts as loading, so that a module that would start processes or
 * threads at its top level throws there as in any child. A module that
 * fails is skipped: the child that runs a target from it gets the same error
 * from its own import, and reports it as a spawned child would.
 *
 * @param urls The modules to import.
 * @param channel Whether to load `node:net` (in a child process).
 */
export async function prepare(urls: string[], channel: boolean): Promise<void> {
  const state = runtime();
  if (channel) {
    // No orphans while preloading, which may take long: the child's own
    // watch starts only with its frame. (Loading, it has started nothing.)
    watchParent(Deno.ppid, () => {
      if (state.header === null) Deno.exit(1);
    });
    (globalThis as unknown as {
      process?: { getBuiltinModule?(name: string): unknown };
    }).process?.getBuiltinModule?.("node:net");
  }
  // The whole package, which the user's modules import in turn.
  await import("../mod.ts");
  state.loading = true;
  // Kept, because even an import() of a module already loaded costs Deno
  // about 2 ms.
  state.preloaded = new Map();
  for (const url of urls) {
    try {
      state.preloaded.set(url, await import(url));
    } catch {
      // Reported by the child that needs it (see above).
    }
  }
  state.loading = false;
}
