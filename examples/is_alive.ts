// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Seed section 7, the life cycle: `p.isAlive()` is false before start(),
// true while the child runs, and false after join().
//
//   deno run -P examples/is_alive.ts
//
// Prints main_start, false, true, the child's 3, func_start, func_end,
// false, then 5 s later main_end.

import { Process } from "../mod.ts";
import { func, newTime, sleep } from "./_seed.ts";

// The target: exported (here, re-exported) so that the child can find it.
export { func };

if (import.meta.main) {
  console.log("main_start", newTime());
  const p1 = new Process({ target: func, args: [1, 2] });
  console.log(p1.isAlive());
  p1.start();
  console.log(p1.isAlive());
  await p1.join();
  console.log(p1.isAlive());
  await sleep(5000); // a slow operation
  console.log("main_end", newTime());
}
