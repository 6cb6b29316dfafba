// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Seed section 3, a child's name: a new process is named Process-1 by
// default; the name can be read and assigned before start().
//
//   deno run -P examples/name.ts
//
// Prints main_start, Process-1, 进程一号 ("process number one"), the
// child's 3 and func_start, main_end after 5 s, then the child's func_end:
// the main part does not join, but a non-daemon child keeps it running.

import { Process } from "../mod.ts";
import { func, newTime, sleep } from "./_seed.ts";

// The target: exported (here, re-exported) so that the child can find it.
export { func };

if (import.meta.main) {
  console.log("main_start", newTime());
  const p1 = new Process({ target: func, args: [1, 2] });
  console.log(p1.name);
  p1.name = "进程一号";
  console.log(p1.name);
  p1.start();
  await sleep(5000); // a slow operation
  console.log("main_end", newTime());
}
