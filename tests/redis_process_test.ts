// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// RedisProcess against a real redis-server: REDIS_URL, which `deno task
// test` sets to a server of its own. Without one, these tests are ignored
// with a line saying so, except when MULTIPROCESSING_REQUIRE_REDIS=1 (as
// in CI), where a missing server fails.
import {
  assertEquals,
  assertMatch,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { RedisProcess, type RedisProcessOptions } from "../mod.ts";
import { deno } from "./_helpers.ts";
import { IOREDIS } from "../_runtime/ioredis.ts";
import { Batch, Incrementer, Popper } from "./fixtures/redis_targets.ts";
import { Counter } from "../examples/redis_counter.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

const REDIS_URL = Deno.env.get("REDIS_URL");
const REQUIRED = Deno.env.get("MULTIPROCESSING_REQUIRE_REDIS") === "1";
const ignore = REDIS_URL === undefined;
if (ignore && REQUIRED) {
  Deno.test("A Redis server is available, as MULTIPROCESSING_REQUIRE_REDIS=1 requires", () => {
    throw new Error(
      "REDIS_URL is not set: start redis-server, or run `deno task test`",
    );
  });
} else if (ignore) {
  console.warn(
    "Redis tests are ignored: REDIS_URL is not set (`deno task test` sets it)",
  );
}

const DB = 7;
const PERMISSIONS: Deno.PermissionOptionsObject = {
  run: true,
  read: true,
  net: ["127.0.0.1"],
  env: true,
};

type Client = Awaited<ReturnType<typeof client>>;

/** A test client in the parent, on the tests' own database. */
async function client() {
  const { Redis } = await import("ioredis");
  return new Redis(REDIS_URL!, { db: DB });
}

/**
 * A test against the real server, with a client in the parent and a key
 * prefix no other run uses; every key under it is deleted at the end.
 */
function redisTest(
  name: string,
  fn: (redis: Client, base: string) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore,
    permissions: PERMISSIONS,
    async fn() {
      const base = `mp:test:${Deno.pid}:${crypto.randomUUID()}:`;
      const redis = await client();
      try {
        await fn(redis, base);
      } finally {
        const keys = await redis.keys(`${base}*`);
        if (keys.length > 0) await redis.del(...keys);
        // Until the socket is closed: Deno 2.5 resolves quit() before.
        const ended = new Promise((resolve) => redis.once("end", resolve));
        await redis.quit();
        await ended;
      }
    },
  });
}

function redisOptions(
  options: Omit<RedisProcessOptions, "db" | "redis">,
): RedisProcessOptions {
  return {
    db: DB,
    redis: REDIS_URL,
    permissions: { net: [new URL(REDIS_URL!).host], env: true },
    ...options,
  };
}

/** Runs the fixture program that starts one net-limited RedisProcess. */
function redisProgram(url: string): ReturnType<typeof deno> {
  return deno([
    "run",
    "--allow-run",
    "--allow-read",
    "--allow-net=127.0.0.1",
    "--allow-env",
    "tests/fixtures/redis_program.ts",
    url,
    "net",
  ]);
}

async function runAll(processes: RedisProcess[]): Promise<void> {
  for (const p of processes) p.start();
  for (const p of processes) await p.join();
}

redisTest(
  "RedisProcess sets then gets its key in the child, as the seed",
  async (redis, base) => {
    const key = `${base}seed`;
    const p = new RedisProcess(redisOptions({ key, values: "hello" }));
    assertMatch(p.name, /^RedisProcess-\d+$/);
    assertThrows(() => p.connect, Error, "only in the child");
    await runAll([p]);
    assertStrictEquals(p.exitCode, 0);
    assertEquals(await redis.get(key), "hello");
  },
);

redisTest(
  "Sixteen RedisProcess children at once lose nothing",
  async (redis, base) => {
    const keys = Array.from({ length: 16 }, (_, i) => `${base}${i}`);
    const children = keys.map((key, i) =>
      new RedisProcess(redisOptions({ key, values: i * 10 }))
    );
    await runAll(children);
    assertEquals(children.map((p) => p.exitCode), keys.map(() => 0));
    assertEquals(await redis.mget(...keys), keys.map((_, i) => String(i * 10)));
  },
);

redisTest(
  "A RedisProcess subclass counts exactly, and pipelines a batch",
  async (redis, base) => {
    const key = `${base}counter`;
    const counters = [1, 2, 3, 4].map(() => {
      const c = new Counter(redisOptions({ key, values: 0 }));
      c.times = 2_500;
      return c;
    });
    const batch = new Batch(redisOptions({ key: `${base}batch`, values: 0 }));
    batch.entries = [1, 2, 3].map((i) => [`${base}b${i}`, `v${i}`]);
    await runAll([...counters, batch]);
    assertEquals(await redis.get(key), "10000");
    assertStrictEquals(batch.exitCode, 0);
    assertEquals(
      await redis.mget(...batch.entries.map(([k]) => k)),
      ["v1", "v2", "v3"],
    );
  },
);

redisTest("RedisProcess stores bytes as bytes", async (redis, base) => {
  const key = `${base}bytes`;
  const bytes = new Uint8Array([0, 1, 255, 200, 10]);
  await runAll([new RedisProcess(redisOptions({ key, values: bytes }))]);
  assertEquals(new Uint8Array(await redis.getBuffer(key) ?? []), bytes);
});

redisTest(
  "RedisProcess honours REDIS_URL, and the redis option over it",
  async (redis, base) => {
    const key = `${base}url`;
    const fromEnv = new RedisProcess({
      db: DB,
      key,
      values: "from REDIS_URL",
      env: { REDIS_URL: REDIS_URL! },
      permissions: { net: [new URL(REDIS_URL!).host], env: true },
    });
    await runAll([fromEnv]);
    assertEquals(await redis.get(key), "from REDIS_URL");
    const fromOption = new RedisProcess({
      ...redisOptions({ key, values: "from the option" }),
      env: { REDIS_URL: "redis://127.0.0.1:1" },
    });
    await runAll([fromOption]);
    assertEquals(await redis.get(key), "from the option");
  },
);

Deno.test({
  name:
    "RedisProcess fails fast with one clear line when Redis cannot be reached",
  permissions: { run: true, read: true, net: ["127.0.0.1"] },
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const { stdout, stderr } = await redisProgram(`redis://127.0.0.1:${port}`);
    assertEquals(stdout, "exitCode 1\n");
    assertEquals(
      stderr.trim(),
      `Cannot connect to Redis at 127.0.0.1:${port}: connection refused`,
    );
  },
});

Deno.test({
  name: "RedisProcess gives up on a server that accepts but never answers",
  permissions: { run: true, read: true, net: ["127.0.0.1"] },
  async fn() {
    // A listener that accepts and stays silent.
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of silent) accepted.push(conn);
    })();
    try {
      const { stdout, stderr } = await redisProgram(
        `redis://127.0.0.1:${silent.addr.port}`,
      );
      assertEquals(stdout, "exitCode 1\n");
      assertEquals(
        stderr.trim(),
        `Cannot connect to Redis at 127.0.0.1:${silent.addr.port}: no answer within 3000 ms`,
      );
    } finally {
      silent.close();
      await accepting.catch(() => {});
      for (const conn of accepted) conn.close();
    }
  },
});

Deno.test({
  name: "RedisProcess fails, not hangs, when its server stalls mid-run",
  ignore,
  permissions: PERMISSIONS,
  async fn() {
    // A server of its own, to stop with SIGSTOP.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const server = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", ""],
      stdin: "null",
      stdout: "null",
    }).spawn();
    const { Redis } = await import("ioredis");
    const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true });
    const child = new Incrementer({
      db: 0,
      key: "stall",
      values: 0,
      redis: { host: "127.0.0.1", port },
      permissions: { net: [`127.0.0.1:${port}`], env: true },
    });
    try {
      for (let i = 0; i < 200; i++) {
        try {
          await redis.connect();
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
      child.start();
      // It runs; then its server stops answering.
      for (let i = 0; i < 400 && Number(await redis.get("stall")) < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assertEquals(child.isAlive(), true, "it ran until the server stopped");
      Deno.kill(server.pid, "SIGSTOP");
      await child.join(15_000);
      assertStrictEquals(child.exitCode, 1);
    } finally {
      if (child.isAlive()) child.kill();
      await child.join();
      redis.disconnect();
      Deno.kill(server.pid, "SIGKILL");
      await server.status;
    }
  },
});

redisTest(
  "RedisProcess lets a blocking command wait past the command timeout",
  async (redis, base) => {
    const key = `${base}list`;
    const child = new Popper(redisOptions({ key, values: "late" }));
    child.start();
    // Past the 10 s every other command gets.
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    await redis.lpush(key, "late");
    await child.join();
    assertStrictEquals(child.exitCode, 0);
  },
);

Deno.test({
  name:
    'A RedisProcess child under "none" fails with a permission error, not a hang',
  permissions: { run: true, read: true },
  async fn() {
    const { stdout, stderr } = await deno([
      "run",
      "--allow-run",
      "--allow-read",
      "tests/fixtures/redis_program.ts",
      REDIS_URL ?? "redis://127.0.0.1:6379",
      "none",
    ]);
    assertEquals(stdout, "exitCode 1\n");
    assertMatch(
      stderr.trim(),
      /^Cannot load ioredis in RedisProcess-\d+: NotCapable: Requires env access/,
    );
  },
});

Deno.test({
  name: "RedisProcess rejects bad input in the parent and starts nothing",
  permissions: {},
  fn() {
    const make = (options: unknown) => () =>
      new RedisProcess(options as RedisProcessOptions);
    const ok = { db: 0, key: "k", values: "v" };
    assertThrows(make(null), TypeError, "expected an options object");
    assertThrows(
      make({ ...ok, db: -1 }),
      RangeError,
      "integer >= 0, received -1",
    );
    assertThrows(make({ ...ok, db: 1.5 }), RangeError, "integer >= 0");
    assertThrows(
      make({ ...ok, db: "0" }),
      TypeError,
      "expected db to be a number",
    );
    assertThrows(make({ ...ok, key: "" }), TypeError, "non-empty string");
    assertThrows(
      make({ ...ok, values: { a: 1 } }),
      TypeError,
      "a string, a finite number or a Uint8Array",
    );
    assertThrows(make({ ...ok, values: NaN }), TypeError, "finite number");
    assertThrows(
      make({ ...ok, redis: 5 }),
      TypeError,
      "a URL string or ioredis options",
    );
  },
});

Deno.test({
  name: "Importing mod.ts needs no permission and does not load ioredis",
  permissions: { run: true, read: true },
  async fn() {
    const { code, stdout, stderr } = await deno([
      "run",
      "--no-prompt",
      "tests/fixtures/import_only.ts",
    ]);
    assertEquals(stderr, "");
    assertEquals(code, 0);
    assertEquals(stdout, "function function function\n");
  },
});

Deno.test({
  name: "RedisProcess loads ioredis by the specifier deno.json's imports name",
  permissions: { read: true },
  async fn() {
    const config = JSON.parse(
      await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
    );
    assertEquals(IOREDIS, config.imports.ioredis);
  },
});
