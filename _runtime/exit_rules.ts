// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Python's exit rules for child processes, on Deno's event loop.

import { runtime } from "./state.ts";
/**
 * Python's exit rules, on Deno's event loop. Children are unref'd, so the
 * loop empties when the main code is done; then `beforeunload` terminates
 * the daemon children and keeps the process alive for the others, as
 * Python's parent joins them at exit. `Deno.exit()` cannot wait: `unload`
 * ends daemon children, and the others end through their orphan watch.
 */
export function installExitHooks(): void {
  const state = runtime();
  if (state.exitHook) return;
  state.exitHook = true;
  globalThis.addEventListener("beforeunload", (event) => {
    state.unloading = true;
    const alive = [...state.children].filter((child) => child.isAlive());
    for (const child of alive) if (child.daemon) child.terminate();
    const waiting = alive.filter((child) => !child.daemon);
    for (const child of waiting) child.ref();
    if (waiting.length > 0) event.preventDefault();
  });
  globalThis.addEventListener("unload", () => {
    for (const child of state.children) {
      if (child.daemon && child.isAlive()) child.terminate();
    }
  });
}
