// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Seed section 2, current process: `currentProcess()` returns the object of
// the process that runs the code; in the main part it is the main process.
//
//   deno run -P examples/current_process.ts
//
// Prints <_MainProcess name='MainProcess' parent=None started>, main_start,
// then the child's 3, func_start, func_end, then 5 s later main_end.

import { currentProcess, Process } from "../mod.ts";
import { func, newTime, sleep } from "./_seed.ts";

// The target: exported (here, re-exported) so that the child can find it.
export { func };

if (import.meta.main) {
  console.log(currentProcess()); // the current process's object
  console.log("main_start", newTime());
  const p1 = new Process({ target: func, args: [1, 2] });
  p1.start();
  await p1.join(); // wait for the child to finish
  await sleep(5000); // a slow operation
  console.log("main_end", newTime());
}
