// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// `deno task bench`: each workload side by side in one run, for this
// package, for the raw Deno floor it wraps (hand-written Deno.Command,
// Worker and pipe code), and for Python's multiprocessing when python3 is
// on PATH. Prints one table with the figures and the ratios ours / floor and
// ours / Python. Ratios, not absolute figures, are what to quote: machines
// differ and are noisy. See BENCHMARKS.md.
//
//   deno task bench            # the whole comparison
//   deno task bench --quick    # smaller sizes, for a smoke test

import {
  Pipe,
  Pool,
  Process,
  Queue,
  setStartMethod,
  Thread,
  ThreadPool,
} from "../mod.ts";
import {
  add,
  putKilobytes,
  putMany,
  sendBytes,
  sendMany,
  SetGet,
  sumSquares,
  TARGETS,
} from "./_targets.ts";

const QUICK = Deno.args.includes("--quick");
/** Workloads to run, by a word of their name (all when none is given). */
const ONLY = Deno.args.filter((arg) => !arg.startsWith("--"));
const SIZES = {
  rounds: QUICK ? 3 : 15,
  /** How many times the throughput workloads run, taking turns. */
  turns: QUICK ? 1 : 3,
  tasks: QUICK ? 2_000 : 20_000,
  messages: QUICK ? 10_000 : 100_000,
  mib: QUICK ? 32 : 256,
  redisChildren: 4,
  redisTimes: QUICK ? 500 : 5_000,
};
const REDIS_URL = Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379";
const HERE = new URL(".", import.meta.url);

/** One row: a workload's figure for each contender. */
interface Row {
  work: string;
  unit: "ms" | "tasks/s" | "msg/s" | "MB/s" | "ops/s";
  ours: number | null;
  floor: number | null;
  python: number | null;
  /** What each figure is, when it is not obvious. */
  notes?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** How the throughput rows are measured, for their notes. */
const TURNS = `median of ${SIZES.turns} runs, taking turns`;

/**
 * Runs each measure `SIZES.turns` times, taking turns (the machine's load
 * and Python's figures swing between runs), and returns the median of each
 * figure they report; a measure that reports null (Python missing) is left
 * out.
 */
async function inTurns(
  measures: Array<() => Promise<Record<string, number> | null>>,
): Promise<Record<string, number>> {
  const all = new Map<string, number[]>();
  for (let turn = 0; turn < SIZES.turns; turn++) {
    for (const measure of measures) {
      for (const [key, value] of Object.entries(await measure() ?? {})) {
        all.set(key, [...all.get(key) ?? [], value]);
      }
    }
  }
  return Object.fromEntries(
    [...all].map(([key, values]) => [key, median(values)]),
  );
}

async function timeMedian(
  rounds: number,
  once: () => Promise<void>,
): Promise<number> {
  await once(); // warm-up: caches, JIT, module loading
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await once();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** Runs a Python script of bench/python and reads its `name value` lines. */
function python(
  script: string,
  ...args: (string | number)[]
): Promise<Record<string, number> | null> {
  return peer("python3", `python/${script}`, args);
}

/**
 * Runs a peer's script (`bench/<path>`) with `command`, and reads the
 * `name value` lines it prints; null when the command is missing or fails
 * (what it printed on stderr is shown then).
 */
async function peer(
  command: string,
  path: string,
  args: (string | number)[],
): Promise<Record<string, number> | null> {
  try {
    const { code, stdout, stderr } = await new Deno.Command(command, {
      args: [new URL(path, HERE).pathname, ...args.map(String)],
      stdin: "null",
    }).output();
    if (code !== 0) {
      console.error(new TextDecoder().decode(stderr).trim().split("\n")[0]);
      return null;
    }
    const figures: Record<string, number> = {};
    for (const line of new TextDecoder().decode(stdout).trim().split("\n")) {
      const [name, value] = line.split(" ");
      figures[name] = Number(value);
    }
    return figures;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function spawnDeno(args: string[], stdout: "null" | "piped" = "null") {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...args],
    stdin: "null",
    stdout,
    stderr: "inherit",
  }).spawn();
}

// ---------------------------------------------------------------------------
// Workloads

async function startProcess(): Promise<Row[]> {
  const ours = await timeMedian(SIZES.rounds, async () => {
    const p = new Process({ target: add, args: [1, 2], module: TARGETS });
    p.start();
    await p.join();
  });
  const floor = await timeMedian(SIZES.rounds, async () => {
    await spawnDeno(["data:text/javascript,1+2"]).status;
  });
  const warm = await timeWarm(() =>
    new Process({ target: add, args: [1, 2], module: TARGETS })
  );
  const preloaded = await timeWarm(
    () => new Process({ target: add, args: [1, 2], module: TARGETS }),
    [TARGETS],
  );
  const py = await python("spawn.py", SIZES.rounds);
  return [{
    work: "start a child that adds two numbers, join it",
    unit: "ms",
    ours,
    floor,
    python: py?.spawn ?? null,
    notes: py
      ? `Python forkserver ${py.forkserver.toFixed(1)} ms, fork ${
        py.fork.toFixed(1)
      } ms`
      : undefined,
  }, {
    work: 'the same with setStartMethod("warm")',
    unit: "ms",
    ours: warm,
    floor,
    python: py?.forkserver ?? null,
    notes: "Python column: forkserver, the nearest Python start method",
  }, {
    work: "the same, warm, with the target's module preloaded",
    unit: "ms",
    ours: preloaded,
    floor,
    python: py?.forkserver ?? null,
    notes:
      "preload: [module], as Python's set_forkserver_preload(); Python column: forkserver, which preloads __main__",
  }];
}

/**
 * The median start + join under `setStartMethod("warm")`: each start timed
 * alone, once the idle child or worker has been replaced, as a program that
 * starts one now and then would find it.
 */
async function timeWarm(
  make: () => Process | Thread,
  preload: string[] = [],
): Promise<number> {
  setStartMethod("warm", { preload });
  const times: number[] = [];
  try {
    for (let i = 0; i <= SIZES.rounds; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const start = performance.now();
      const unit = make();
      unit.start();
      await unit.join();
      if (i > 0) times.push(performance.now() - start);
    }
  } finally {
    setStartMethod("spawn");
  }
  return median(times);
}

async function startThread(): Promise<Row[]> {
  const ours = await timeMedian(SIZES.rounds, async () => {
    const t = new Thread({ target: add, args: [1, 2], module: TARGETS });
    t.start();
    await t.join();
  });
  const code = "self.postMessage(1 + 2); self.close();";
  const floor = await timeMedian(SIZES.rounds, async () => {
    const worker = new Worker(`data:text/javascript,${code}`, {
      type: "module",
    });
    await new Promise((resolve) => worker.onmessage = resolve);
    worker.terminate();
  });
  const warm = await timeWarm(
    () => new Thread({ target: add, args: [1, 2], module: TARGETS }),
    [TARGETS],
  );
  const py = await python("thread.py", SIZES.rounds);
  return [{
    work: "start a thread, join it",
    unit: "ms",
    ours,
    floor,
    python: py?.thread ?? null,
  }, {
    work: "the same, warm, with the target's module preloaded",
    unit: "ms",
    ours: warm,
    floor,
    python: py?.thread ?? null,
    notes: 'setStartMethod("warm", { preload: [module] })',
  }];
}

/** The raw floor of the map: 2 Workers, 500 tasks per message. */
async function mapFloor(tasks: number[]): Promise<number> {
  const workers = [0, 1].map(() =>
    new Worker(new URL("floor/worker_map.js", HERE), { type: "module" })
  );
  // Started and warm, as the pools are when they are timed.
  await Promise.all(workers.map((worker) =>
    new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage([0, 1, 2, 3]);
    })
  ));
  const start = performance.now();
  const batches: number[][] = [];
  for (let i = 0; i < tasks.length; i += 500) {
    batches.push(tasks.slice(i, i + 500));
  }
  let next = 0;
  await Promise.all(workers.map((worker) =>
    new Promise<void>((resolve) => {
      const feed = () => {
        if (next >= batches.length) return resolve();
        worker.postMessage(batches[next++]);
      };
      worker.onmessage = feed;
      feed();
    })
  ));
  const took = performance.now() - start;
  for (const worker of workers) worker.terminate();
  return tasks.length / (took / 1000);
}

async function mapWork(): Promise<Row[]> {
  const tasks = Array.from({ length: SIZES.tasks }, (_, i) => i);
  const rate = async (make: () => Pool | ThreadPool) => {
    await using pool = make();
    await pool.map(sumSquares, [0, 1, 2, 3]); // started and warm
    const start = performance.now();
    await pool.map(sumSquares, tasks);
    return tasks.length / ((performance.now() - start) / 1000);
  };
  const { pool, threads, floor, py, piscina } = await inTurns([
    async () => ({
      pool: await rate(() => new Pool({ processes: 2, module: TARGETS })),
    }),
    async () => ({
      threads: await rate(() =>
        new ThreadPool({ threads: 2, module: TARGETS })
      ),
    }),
    async () => ({ floor: await mapFloor(tasks) }),
    async () => {
      const rates = await python("pool_map.py", SIZES.tasks);
      return rates && { py: rates.pool };
    },
    // Node's piscina, when `node` is on PATH and piscina is installed.
    async () => {
      const rates = await peer("node", "node/pool_map.mjs", [SIZES.tasks]);
      return rates && { piscina: rates.piscina };
    },
  ]);
  const work = `map f(i) = Σ k² (k < 10,000) over ${
    SIZES.tasks.toLocaleString("en")
  } inputs, 2 workers`;
  return [
    {
      work: `${work}: Pool`,
      unit: "tasks/s",
      ours: pool,
      floor,
      python: py ?? null,
      notes: TURNS,
    },
    {
      work: `${work}: ThreadPool`,
      unit: "tasks/s",
      ours: threads,
      floor,
      python: null,
      notes: `${TURNS}; floor: 2 Workers, 500 tasks per message; ${
        piscina === undefined
          ? "Node's piscina: not installed (npm install --prefix bench/node piscina@4)"
          : `Node's piscina (2 threads): ${
            figure(piscina, "tasks/s")
          } tasks/s, so ThreadPool / piscina = ${
            (threads / piscina).toFixed(2)
          }×`
      }`,
    },
  ];
}

async function messages(): Promise<Row[]> {
  const n = SIZES.messages;
  const queueRate = async () => {
    const queue = new Queue<number | null>();
    const p = new Process({
      target: putMany,
      args: [queue, n],
      module: TARGETS,
    });
    const start = performance.now();
    p.start();
    while (await queue.get() !== null);
    const took = performance.now() - start;
    await p.join();
    return n / (took / 1000);
  };
  const pipeRate = async () => {
    const [here, there] = Pipe<number | null>();
    const p = new Process({
      target: sendMany,
      args: [there, n],
      module: TARGETS,
    });
    const start = performance.now();
    p.start();
    there.close();
    while (await here.recv() !== null);
    const took = performance.now() - start;
    await p.join();
    return n / (took / 1000);
  };
  const floorRate = async () => {
    const start = performance.now();
    const child = spawnDeno(
      [new URL("floor/messages.js", HERE).pathname, String(n)],
      "piped",
    );
    const decoder = new TextDecoder();
    let pending = new Uint8Array(0);
    let count = 0;
    outer: for await (const chunk of child.stdout) {
      const all = new Uint8Array(pending.length + chunk.length);
      all.set(pending);
      all.set(chunk, pending.length);
      let offset = 0;
      while (all.length - offset >= 4) {
        const length = new DataView(all.buffer, offset).getUint32(0, true);
        if (all.length - offset - 4 < length) break;
        const value = JSON.parse(
          decoder.decode(all.subarray(offset + 4, offset + 4 + length)),
        );
        offset += 4 + length;
        if (value === null) break outer;
        count++;
      }
      pending = all.slice(offset);
    }
    const took = performance.now() - start;
    await child.status;
    return count / (took / 1000);
  };
  const m = await inTurns([
    async () => ({ queue: await queueRate() }),
    async () => ({ pipe: await pipeRate() }),
    async () => ({ floor: await floorRate() }),
    async () => {
      const rates = await python("messages.py", n);
      return rates && { pyQueue: rates.queue, pyPipe: rates.pipe };
    },
  ]);
  const work = `${n.toLocaleString("en")} small messages child → parent`;

  return [
    {
      work: `${work}: Queue`,
      unit: "msg/s",
      ours: m.queue,
      floor: m.floor,
      python: m.pyQueue ?? null,
      notes: TURNS,
    },
    {
      work: `${work}: Pipe`,
      unit: "msg/s",
      ours: m.pipe,
      floor: m.floor,
      python: m.pyPipe ?? null,
      notes:
        `${TURNS}; floor: length-prefixed JSON frames on stdout, 64 KiB writes`,
    },
  ];
}

async function bytes(): Promise<Row[]> {
  const mib = SIZES.mib;
  const ourRate = async () => {
    const [here, there] = Pipe();
    const p = new Process({
      target: sendBytes,
      args: [there, mib],
      module: TARGETS,
    });
    const start = performance.now();
    p.start();
    there.close();
    let total = 0;
    while (true) {
      const chunk = await here.recvBytes();
      if (chunk.length === 0) break;
      total += chunk.length;
    }
    const rate = total / 1e6 / ((performance.now() - start) / 1000);
    await p.join();
    return rate;
  };
  const floorRate = async () => {
    const start = performance.now();
    const child = spawnDeno(
      [new URL("floor/bytes.js", HERE).pathname, String(mib)],
      "piped",
    );
    let total = 0;
    for await (const chunk of child.stdout) total += chunk.length;
    const rate = total / 1e6 / ((performance.now() - start) / 1000);
    await child.status;
    return rate;
  };
  const { ours, floor, py } = await inTurns([
    async () => ({ ours: await ourRate() }),
    async () => ({ floor: await floorRate() }),
    async () => {
      const rates = await python("bytes.py", mib);
      return rates && { py: rates.bytes };
    },
  ]);
  return [{
    work: `${mib} MiB child → parent in 1 MiB messages: Pipe.sendBytes`,
    unit: "MB/s",
    ours,
    floor,
    python: py ?? null,
    notes: `${TURNS}; floor: 1 MiB writes to stdout`,
  }];
}

async function redis(): Promise<Row[]> {
  const host = new URL(REDIS_URL).host;
  try {
    const conn = await Deno.connect({
      hostname: new URL(REDIS_URL).hostname,
      port: Number(new URL(REDIS_URL).port || 6379),
    });
    conn.close();
  } catch {
    return [{
      work: "Redis: no server at " + REDIS_URL,
      unit: "ops/s",
      ours: null,
      floor: null,
      python: null,
    }];
  }
  const { redisChildren: children, redisTimes: times } = SIZES;
  const ops = children * times * 2;
  const ourRate = async (autoPipelining: boolean, together: boolean) => {
    const start = performance.now();
    const processes = Array.from({ length: children }, (_, i) => {
      const p = new SetGet({
        db: 0,
        key: `mp:bench:${Deno.pid}:${i}`,
        values: 0,
        redis: REDIS_URL,
        autoPipelining,
        permissions: { net: [host], env: true },
      });
      p.times = times;
      p.together = together;
      p.start();
      return p;
    });
    for (const p of processes) await p.join();
    return ops / ((performance.now() - start) / 1000);
  };
  const floorRate = async () => {
    const start = performance.now();
    await Promise.all(
      Array.from(
        { length: children },
        (_, i) =>
          new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "--no-prompt",
              `--allow-net=${host}`,
              "--allow-env",
              "--allow-read",
              "--config",
              new URL("../deno.json", HERE).pathname,
              new URL("floor/redis.js", HERE).pathname,
              REDIS_URL,
              `mp:bench:floor:${Deno.pid}:${i}`,
              String(times),
            ],
            stdin: "null",
          }).output(),
      ),
    );
    return ops / ((performance.now() - start) / 1000);
  };
  // Like for like with the floor: plain ioredis, one request at a time;
  // then auto-pipelined.
  const { ours, pipelined, floor } = await inTurns([
    async () => ({ floor: await floorRate() }),
    async () => ({ ours: await ourRate(false, false) }),
    async () => ({ pipelined: await ourRate(true, true) }),
  ]);
  return [{
    work: `${children} processes × ${
      times.toLocaleString("en")
    } SET+GET on one Redis`,
    unit: "ops/s",
    ours,
    floor,
    python: null,
    notes:
      `${TURNS}; autoPipelining: false, as the floor: Deno.Command children with plain ioredis; Python: redis-py is not installed here`,
  }, {
    work:
      "the same, all pairs in flight at once, auto-pipelining (the default)",
    unit: "ops/s",
    ours: pipelined,
    floor,
    python: null,
    notes: "floor: still one request at a time",
  }];
}

/** Resident memory of a process in MB, as `ps` reports it. */
async function rss(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
    stdin: "null",
    stderr: "null",
  }).output();
  return Number(new TextDecoder().decode(stdout).trim() || 0) / 1024;
}

/**
 * A fast producer and a slow consumer: peak resident memory of both, with
 * a bounded queue (backpressure) and an unbounded one (everything waits in
 * the owner).
 */
async function memory(): Promise<string[]> {
  const n = SIZES.messages;
  const lines: string[] = [];
  for (const maxsize of [100, 0]) {
    const queue = new Queue<string | null>(maxsize);
    const p = new Process({
      target: putKilobytes,
      args: [queue, n],
      module: TARGETS,
    });
    const before = await rss(Deno.pid);
    p.start();
    let peakParent = before;
    let peakChild = 0;
    let taken = 0;
    while (await queue.get() !== null) {
      // Slow: a pause every 1,000 items, and a look at memory.
      if (++taken % 1000 === 0) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        peakParent = Math.max(peakParent, await rss(Deno.pid));
        peakChild = Math.max(peakChild, await rss(p.pid!));
      }
    }
    await p.join();
    lines.push(
      `- ${n.toLocaleString("en")} items of 1 KiB (${
        (n / 1024).toFixed(0)
      } MiB), slow consumer, Queue(${maxsize}): the parent grew ${
        (peakParent - before).toFixed(0)
      } MB at its peak, the child peaked at ${peakChild.toFixed(0)} MB`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------
// The table

function figure(value: number | null, unit: Row["unit"]): string {
  if (value === null) return "—";
  if (unit === "ms") return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
  return `${Math.round(value).toLocaleString("en")}`;
}

function ratio(a: number | null, b: number | null): string {
  return a === null || b === null ? "—" : `${(a / b).toFixed(2)}×`;
}

function table(rows: Row[]): string {
  const lines = [
    "| workload | unit | ours | raw Deno floor | Python | ours / floor | ours / Python |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.work} | ${row.unit} | ${figure(row.ours, row.unit)} | ${
        figure(row.floor, row.unit)
      } | ${figure(row.python, row.unit)} | ${ratio(row.ours, row.floor)} | ${
        ratio(row.ours, row.python)
      } |`,
    );
  }
  const notes = rows.filter((row) => row.notes).map((row) =>
    `- ${row.work}: ${row.notes}`
  );
  return [
    ...lines,
    "",
    "For ms, lower is better (a ratio below 1× beats the other); for rates, higher is better.",
    ...notes,
  ].join("\n");
}

/** The CPU's model name, as Linux names it, or the architecture. */
async function cpuModel(): Promise<string> {
  try {
    const { stdout } = await new Deno.Command("grep", {
      args: ["-m1", "model name", "/proc/cpuinfo"],
      stdin: "null",
      stderr: "null",
    }).output();
    const line = new TextDecoder().decode(stdout);
    return line.split(":")[1]?.trim() || Deno.build.arch;
  } catch {
    return Deno.build.arch;
  }
}

if (import.meta.main) {
  const cpu = await cpuModel();
  const started = performance.now();
  const rows: Row[] = [];
  for (
    const [name, run] of [
      ["process start", startProcess],
      ["thread start", startThread],
      ["map", mapWork],
      ["messages", messages],
      ["bytes", bytes],
      ["redis", redis],
    ] as const
  ) {
    if (ONLY.length > 0 && !ONLY.some((word) => name.includes(word))) continue;
    console.error(`… ${name}`);
    rows.push(...await run());
  }
  console.log(
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores (${cpu}), ${
      QUICK ? "quick sizes" : "full sizes"
    }, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
  console.log(table(rows));
  if (ONLY.length === 0 || ONLY.some((word) => "memory".includes(word))) {
    console.error("… memory");
    console.log("\nMemory with a slow consumer (`ps` RSS, sampled):");
    for (const line of await memory()) console.log(line);
  }
}
