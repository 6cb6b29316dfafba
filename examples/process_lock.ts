// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Four processes add 1 to a shared Value 1,000 times each, each addition
// under a Lock shared by all of them: the total is exactly 4,000. The
// Value and the Lock live in this process; the children reach them through
// it (see ARCHITECTURE.md), and acquiring the lock brings each child the
// Value's latest contents, as shared memory would.
//
//   deno run -P examples/process_lock.ts

import { Lock, Process, Value } from "../mod.ts";

const PROCESSES = 4;
const TIMES = 1000;

export async function add(
  lock: Lock,
  counter: Value<"i">,
  times: number,
): Promise<void> {
  for (let i = 0; i < times; i++) {
    using _held = await lock.hold();
    counter.value += 1;
  }
}

if (import.meta.main) {
  const lock = new Lock();
  const counter = new Value("i", 0);
  const processes = Array.from(
    { length: PROCESSES },
    () => new Process({ target: add, args: [lock, counter, TIMES] }),
  );
  for (const p of processes) p.start();
  for (const p of processes) await p.join();
  console.log(`counter: ${counter.value} (expected ${PROCESSES * TIMES})`);
}
