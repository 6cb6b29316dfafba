// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// `deno bench` cases for the package's own costs, each beside its raw Deno
// baseline in the same group, so `deno bench` prints the ratio between them.
// bench/compare.ts adds Python and prints the comparison table.
//
//   deno bench -A bench/package_bench.ts

import { Pipe, Pool, Process, Queue, Thread, ThreadPool } from "../mod.ts";
import { add, putMany, sendMany, sumSquares, TARGETS } from "./_targets.ts";

Deno.bench({
  name: "Deno.Command start + status (raw)",
  group: "process",
  baseline: true,
  async fn() {
    await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "data:text/javascript,1+2"],
      stdin: "null",
    }).spawn().status;
  },
});

Deno.bench({
  name: "Process start + join",
  group: "process",
  async fn() {
    const p = new Process({ target: add, args: [1, 2], module: TARGETS });
    p.start();
    await p.join();
  },
});

Deno.bench({
  name: "Worker start + one message (raw)",
  group: "thread",
  baseline: true,
  async fn() {
    const worker = new Worker("data:text/javascript,self.postMessage(3)", {
      type: "module",
    });
    await new Promise((resolve) => worker.onmessage = resolve);
    worker.terminate();
  },
});

Deno.bench({
  name: "Thread start + join",
  group: "thread",
  async fn() {
    const t = new Thread({ target: add, args: [1, 2], module: TARGETS });
    t.start();
    await t.join();
  },
});

const TASKS = Array.from({ length: 2_000 }, (_, i) => i);
const pools = {
  process: new Pool({ processes: 2, module: TARGETS }),
  thread: new ThreadPool({ threads: 2, module: TARGETS }),
};
for (const [kind, pool] of Object.entries(pools)) {
  for (const chunksize of [1, 50, undefined]) {
    Deno.bench({
      name: `${kind} pool map of 2,000, chunksize ${chunksize ?? "default"}`,
      group: `${kind} pool`,
      baseline: chunksize === undefined,
      async fn() {
        await pool.map(sumSquares, TASKS, { chunksize });
      },
    });
  }
}

const MESSAGES = 10_000;
Deno.bench({
  name: `Queue: ${MESSAGES} messages child → parent`,
  group: "messages",
  async fn() {
    const queue = new Queue<number | null>();
    const p = new Process({
      target: putMany,
      args: [queue, MESSAGES],
      module: TARGETS,
    });
    p.start();
    while (await queue.get() !== null);
    await p.join();
  },
});

Deno.bench({
  name: `Pipe: ${MESSAGES} messages child → parent`,
  group: "messages",
  baseline: true,
  async fn() {
    const [here, there] = Pipe<number | null>();
    const p = new Process({
      target: sendMany,
      args: [there, MESSAGES],
      module: TARGETS,
    });
    p.start();
    there.close();
    while (await here.recv() !== null);
    await p.join();
  },
});

globalThis.addEventListener("unload", () => {
  for (const pool of Object.values(pools)) pool.terminate();
});
