// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Seed section 5, the PID: the OS gives a process its pid when it is
// created and it never changes while it runs. `p.pid` is null before
// start() and a number right after it.
//
//   deno run -P examples/pid.ts
//
// Prints main_start, "before start null", "after start <pid>", the child's 3
// and func_start, then after 5 s the parent ends the child and prints
// main_end.

import { Process } from "../mod.ts";
import { func, newTime, sleep } from "./_seed.ts";

// The target: exported (here, re-exported) so that the child can find it.
export { func };

if (import.meta.main) {
  console.log("main_start", newTime());
  const p1 = new Process({ target: func, args: [1, 2] });
  console.log("before start", p1.pid);
  p1.start();
  console.log("after start", p1.pid);
  await sleep(5000); // a slow operation
  p1.terminate(); // end the child p1
  console.log("main_end", newTime());
}
