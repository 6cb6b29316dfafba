// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Seed section 6, a thread's ident: like a process's pid, but given by this
// package (as Python's interpreter gives it), not by the OS.
//
//   deno run -P examples/ident.ts
//
// Prints the main thread's ident (1) and pid, then each thread's name and
// ident from inside the thread: the idents differ, the pid is the same,
// since threads live in one process.

import { currentThread, getIdent, Thread } from "../mod.ts";

export function show(): void {
  console.log(`${currentThread().name}: ident ${getIdent()}, pid ${Deno.pid}`);
}

if (import.meta.main) {
  show();
  const t1 = new Thread({ target: show });
  const t2 = new Thread({ target: show });
  t1.start();
  await t1.join();
  t2.start();
  await t2.join();
  console.log(
    `idents ${t1.ident} and ${t2.ident}, both in process ${Deno.pid}`,
  );
}
