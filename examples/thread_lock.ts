// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Threads share memory: four threads each add 1 to a shared Value 100,000
// times, first without a lock (updates are lost: `value += 1` reads, then
// writes), then holding a Lock around each update (the total is exactly
// 400,000). A Barrier starts the threads' loops together.
//
//   deno run -P examples/thread_lock.ts

import { Barrier, Lock, Thread, Value } from "../mod.ts";

const THREADS = 4;
const TIMES = 100_000;

export async function addUnlocked(
  counter: Value<"i">,
  start: Barrier,
  times: number,
): Promise<void> {
  await start.wait();
  for (let i = 0; i < times; i++) counter.value += 1;
}

export async function addLocked(
  counter: Value<"i">,
  start: Barrier,
  lock: Lock,
  times: number,
): Promise<void> {
  await start.wait();
  for (let i = 0; i < times; i++) {
    using _held = await lock.hold();
    counter.value += 1;
  }
}

async function runAll(threads: Thread[]): Promise<void> {
  for (const thread of threads) thread.start();
  for (const thread of threads) await thread.join();
}

if (import.meta.main) {
  const start = new Barrier(THREADS);
  const unlocked = new Value("i", 0, { lock: false });
  await runAll(
    Array.from(
      { length: THREADS },
      () => new Thread({ target: addUnlocked, args: [unlocked, start, TIMES] }),
    ),
  );
  console.log(`without a lock: ${unlocked.value}`);

  const locked = new Value("i", 0, { lock: false });
  const lock = new Lock();
  await runAll(
    Array.from(
      { length: THREADS },
      () =>
        new Thread({ target: addLocked, args: [locked, start, lock, TIMES] }),
    ),
  );
  console.log(`with a lock: ${locked.value}`);
}
