// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Runs every example end to end, all at once, as a user would:
// `deno run -P examples/<name>.ts`.
import { assert, assertEquals, assertMatch } from "@std/assert";
import { deno } from "./_helpers.ts";

const ASCTIME = /^\w{3} \w{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/** The lines each example prints, with times replaced by `<time>`. */
const EXPECTED: Record<string, string[] | ((lines: string[]) => void)> = {
  join: [
    "main_start <time>",
    "3",
    "func_start <time>",
    "func_end <time>",
    "main_end <time>",
  ],
  current_process: [
    "<_MainProcess name='MainProcess' parent=None started>",
    "main_start <time>",
    "3",
    "func_start <time>",
    "func_end <time>",
    "main_end <time>",
  ],
  // The main part does not join: its main_end and the child's func_end
  // fall due about together, so only their presence is fixed.
  name: (lines) => {
    assertEquals(lines.slice(0, 5), [
      "main_start <time>",
      "Process-1",
      "进程一号",
      "3",
      "func_start <time>",
    ]);
    assertEquals(lines.slice(5).sort(), ["func_end <time>", "main_end <time>"]);
  },
  terminate: ["main_start <time>", "3", "func_start <time>", "main_end <time>"],
  pid: (lines) => {
    assertEquals(lines[0], "main_start <time>");
    assertEquals(lines[1], "before start null");
    assertMatch(lines[2], /^after start [1-9]\d*$/);
    assertEquals(lines.slice(3), ["3", "func_start <time>", "main_end <time>"]);
  },
  is_alive: [
    "main_start <time>",
    "false",
    "true",
    "3",
    "func_start <time>",
    "func_end <time>",
    "false",
    "main_end <time>",
  ],
  daemon: ["main_start <time>", "3", "func_start <time>", "main_end <time>"],
  ident: (lines) => {
    const pid = /pid (\d+)$/.exec(lines[0])?.[1];
    assertEquals(lines, [
      `MainThread: ident 1, pid ${pid}`,
      `Thread-1 (show): ident 2, pid ${pid}`,
      `Thread-2 (show): ident 3, pid ${pid}`,
      `idents 2 and 3, both in process ${pid}`,
    ]);
  },
  thread_lock: (lines) => {
    assertEquals(lines.length, 2);
    const unlocked = Number(/^without a lock: (\d+)$/.exec(lines[0])?.[1]);
    assert(unlocked > 0 && unlocked <= 400_000, lines[0]);
    assertEquals(lines[1], "with a lock: 400000");
  },
  thread_daemon: [
    "main_start <time>",
    "3",
    "func_start <time>",
    "main_end <time>",
  ],
  redis_process: (lines) => {
    assertEquals(
      lines.slice(0, 4).map((line) => line.replace(/-\d /, "-N ")).sort(),
      [
        "SeedRedisProcess-N read mp:example:1 = value-1",
        "SeedRedisProcess-N read mp:example:2 = value-2",
        "SeedRedisProcess-N read mp:example:3 = value-3",
        "SeedRedisProcess-N read mp:example:4 = value-4",
      ],
    );
    assertEquals(
      lines.slice(4),
      [1, 2, 3, 4].map((i) => `parent read mp:example:${i} = value-${i}`),
    );
  },
  redis_counter: (lines) => {
    assertEquals(lines[0], "total: 80000");
    assertMatch(lines[1], /^time: \d+ ms$/);
  },
  queue: [
    "Producer put 20 numbers",
    "consumers took 20 numbers, each exactly once: true",
  ],
  pipe: [
    "child got ping 0",
    "parent got pong 0",
    "child got ping 1",
    "parent got pong 1",
    "child got ping 2",
    "parent got pong 2",
    "child saw the parent close its end",
  ],
  // Only the shape and the results: speed-ups depend on the machine.
  pool_map: (lines) => {
    assertEquals(lines.length, 3);
    assertMatch(lines[0], /^plain loop: \d+ ms$/);
    assertMatch(
      lines[1],
      /^Pool\(\d+\)\.map: \d+ ms, speed-up \d+\.\d\dx, same results: true$/,
    );
    assertMatch(
      lines[2],
      /^ThreadPool\(\d+\)\.map: \d+ ms, speed-up \d+\.\d\dx, same results: true$/,
    );
  },
  process_lock: ["counter: 4000 (expected 4000)"],
  manager_dict: [
    "a=4 b=1 c=1 d=2 e=2 g=1 h=1 i=1 l=1 m=1 n=1 o=2 p=1 r=2 s=1 t=1 y=1",
    "letters: 24 (expected 24)",
  ],
  // Only the shape: times depend on the machine. Under `-P` the parent may
  // read only its directory, which its idle child must be given to import
  // the target (the example throws if a child fails).
  warm_start: (lines) => {
    assertEquals(lines.length, 2);
    assertMatch(lines[0], /^spawn: \d+ ms$/);
    assertMatch(lines[1], /^warm, preloaded: \d+ ms$/);
  },
  permissions: [
    "inherit: may start programs",
    "none: NotCapable",
    "{ read: true }: NotCapable in the parent",
  ],
};

Deno.test({
  name:
    "Every example runs end to end with `deno run -P` and prints what the seed prints",
  permissions: { run: true, read: true, env: true },
  async fn(t) {
    const names = [...Deno.readDirSync(new URL("../examples", import.meta.url))]
      .map((entry) => entry.name)
      .filter((name) => name.endsWith(".ts") && !name.startsWith("_"))
      .map((name) => name.slice(0, -3))
      .sort();
    assertEquals(names, Object.keys(EXPECTED).sort());
    // The Redis examples need a server: REDIS_URL, which `deno task test`
    // sets (see tests/redis_process_test.ts for when it is missing).
    const redisUrl = Deno.env.get("REDIS_URL");
    const start = (name: string) =>
      name.startsWith("redis_")
        ? redisUrl
          ? deno(["run", "-P=redis", `examples/${name}.ts`], {
            REDIS_URL: redisUrl,
          })
          : Promise.resolve(null)
        : deno(["run", "-P", `examples/${name}.ts`]);
    // In these, the parent ends the child at 5 s, just before the child's
    // own 5 s sleep would end (it started later, after the child booted),
    // as in the seed. On a loaded machine the parent's timer can fire late
    // by more than that margin, so they run after the others, one at a
    // time (and `deno task test` runs this file after the other tests).
    const racing = ["daemon", "pid", "terminate", "thread_daemon"];
    const first = await Promise.all(
      names.map((name) => racing.includes(name) ? null : start(name)),
    );
    const second: Awaited<ReturnType<typeof start>>[] = [];
    for (const name of racing) second.push(await start(name));
    const runs = names.map((name, i) =>
      racing.includes(name) ? second[racing.indexOf(name)] : first[i]
    );
    // Without a server the Redis examples show as ignored, unless the run
    // requires Redis (CI), where that fails.
    const required = Deno.env.get("MULTIPROCESSING_REQUIRE_REDIS") === "1";
    for (const [i, name] of names.entries()) {
      const run = runs[i];
      await t.step({
        name,
        ignore: run === null && !required,
        fn: () => {
          if (run === null) {
            throw new Error(
              "REDIS_URL is not set: start redis-server, or run `deno task test`",
            );
          }
          const { code, stdout, stderr } = run;
          assertEquals(code, 0, stderr);
          const lines = stdout.trimEnd().split("\n").map((line) => {
            const [word, ...rest] = line.split(" ");
            const time = rest.join(" ");
            return ASCTIME.test(time) ? `${word} <time>` : line;
          });
          const expected = EXPECTED[name];
          if (typeof expected === "function") expected(lines);
          else assertEquals(lines, expected);
        },
      });
    }
  },
});
