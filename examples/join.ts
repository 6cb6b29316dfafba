// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Seed section 1, join: `await p.join()` waits until the child has finished.
//
//   deno run -P examples/join.ts
//
// Prints main_start, then from the child 3, func_start and (5 s later)
// func_end; only then does the main part sleep 5 s and print main_end.
// Unlike the seed's first program, the main part sits under
// `if (import.meta.main)`: the child imports this module to find `func`.

import { Process } from "../mod.ts";
import { func, newTime, sleep } from "./_seed.ts";

// The target: exported (here, re-exported) so that the child can find it.
export { func };

if (import.meta.main) {
  console.log("main_start", newTime());
  const p1 = new Process({ target: func, args: [1, 2] });
  p1.start();
  await p1.join(); // wait for the child to finish: this blocks
  await sleep(5000); // a slow operation
  console.log("main_end", newTime());
}
