// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Seed section 4, terminating: `p.terminate()` ends a child from the
// parent, with everything the child started.
//
//   deno run -P examples/terminate.ts
//
// Prints main_start, the child's 3 and func_start, then after 5 s the
// parent ends the child before it prints func_end, and prints main_end.

import { Process } from "../mod.ts";
import { func, newTime, sleep } from "./_seed.ts";

// The target: exported (here, re-exported) so that the child can find it.
export { func };

if (import.meta.main) {
  console.log("main_start", newTime());
  const p1 = new Process({ target: func, args: [1, 2] });
  p1.start();
  await sleep(5000); // a slow operation
  p1.terminate(); // end the child p1
  console.log("main_end", newTime());
}
