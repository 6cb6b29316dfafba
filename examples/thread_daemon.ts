// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Seed section 8 with a Thread: a daemon thread does not keep the process
// alive, so it dies with the main part.
//
//   deno run -P examples/thread_daemon.ts
//
// Prints main_start, the thread's 3 and func_start, then main_end after
// 5 s; the process exits and the thread with it, so func_end never appears.

import { Thread } from "../mod.ts";
import { func, newTime, sleep } from "./_seed.ts";

// The target: exported (here, re-exported) so that the thread can find it.
export { func };

if (import.meta.main) {
  console.log("main_start", newTime());
  const t1 = new Thread({ target: func, args: [1, 2], daemon: true });
  t1.start();
  await sleep(5000); // a slow operation
  console.log("main_end", newTime());
}
