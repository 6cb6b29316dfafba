// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Seed section 8, daemon mode: a daemon child is ended when the main
// process ends.
//
//   deno run -P examples/daemon.ts
//
// Prints main_start, the child's 3 and func_start, then main_end after 5 s;
// the parent exits and takes the child with it, so func_end never appears.

import { Process } from "../mod.ts";
import { func, newTime, sleep } from "./_seed.ts";

// The target: exported (here, re-exported) so that the child can find it.
export { func };

if (import.meta.main) {
  console.log("main_start", newTime());
  const p1 = new Process({ target: func, args: [1, 2], daemon: true });
  p1.start();
  await sleep(5000); // a slow operation
  console.log("main_end", newTime());
}
