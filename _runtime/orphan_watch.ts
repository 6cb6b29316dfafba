// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// No orphans: a child ends when its parent dies, however it died.

import { unrefInterval } from "../_util/timers.ts";

/** How often a child checks that its parent is alive, in ms. */
const ORPHAN_CHECK_INTERVAL = 200;

/**
 * No orphans: calls `orphaned` once this process's parent, `parent`, has
 * died, however it died. The process is re-parented then, and `Deno.ppid`
 * changes; it is polled on a timer that keeps nothing alive.
 *
 * @param parent The parent's pid.
 * @param orphaned What to do then (it should end the process).
 */
export function watchParent(parent: number, orphaned: () => void): void {
  if (Deno.ppid !== parent) orphaned();
  unrefInterval(() => {
    if (Deno.ppid !== parent) orphaned();
  }, ORPHAN_CHECK_INTERVAL);
}
