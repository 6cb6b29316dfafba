// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The package as a user gets it: published with the real `deno publish` to
// a JSR-compatible registry on loopback, added to a fresh project with
// `deno add`, and run from there with the README's flags. Nothing else
// checks that the published files are the ones a child, a thread, a pool or
// a warm start loads (the package boundary in `_runtime/target.ts`, the exports).
import { assertEquals } from "@std/assert";
import { startRegistry } from "./fixtures/jsr_registry.ts";

/** The program a user writes, in the fresh project. */
const MAIN = `import {
  Pool,
  Process,
  Queue,
  setStartMethod,
  Thread,
} from "@parallel/multiprocessing";
import { Empty } from "@parallel/multiprocessing/errors";

export function add(x: number, y: number): void {
  console.log(\`process: \${x + y}\`);
}
export function square(x: number): number {
  return x * x;
}
export async function produce(queue: Queue<number>): Promise<void> {
  for (let i = 1; i <= 3; i++) await queue.put(i);
}
export function inThread(): void {
  console.log("thread: ran");
}
export class Greeter extends Process {
  who = "nobody";
  override run(): void {
    console.log(\`subclass: hello \${this.who}\`);
  }
}

if (import.meta.main) {
  const plain = new Process({ target: add, args: [1, 2] });
  plain.start();
  await plain.join();
  const greeter = new Greeter();
  greeter.who = "jsr";
  greeter.start();
  await greeter.join();
  const thread = new Thread({ target: inThread });
  thread.start();
  await thread.join();
  const queue = new Queue<number>();
  const producer = new Process({ target: produce, args: [queue] });
  producer.start();
  const items = [await queue.get(), await queue.get(), await queue.get()];
  await producer.join();
  console.log(\`queue: \${items.join(",")}\`);
  const empty = await queue.getNowait().catch((error) => error);
  console.log(\`errors: \${empty instanceof Empty}\`);
  {
    await using pool = new Pool({ processes: 2 });
    console.log(\`pool: \${(await pool.map(square, [1, 2, 3])).join(",")}\`);
  }
  setStartMethod("warm", { preload: [import.meta.url] });
  for (const args of [[2, 3], [3, 4]]) {
    const warm = new Process({ target: add, args });
    warm.start();
    await warm.join();
  }
  const codes = [plain, greeter, producer].map((p) => p.exitCode);
  console.log(\`exit codes: \${codes.join(",")}\`);
}
`;

/** A RedisProcess subclass from the installed package, as the seed's. */
const REDIS =
  `import { RedisProcess } from "@parallel/multiprocessing/redis-process";

export class Reader extends RedisProcess {
  override async run(): Promise<unknown> {
    const value = await super.run();
    console.log(\`redis: \${value}\`);
    return value;
  }
}

if (import.meta.main) {
  const url = Deno.env.get("REDIS_URL")!;
  const reader = new Reader({
    db: 0,
    key: Deno.args[0],
    values: "from the installed package",
    redis: url,
    permissions: { net: [new URL(url).host], env: true },
  });
  reader.start();
  await reader.join();
  console.log(\`exit code: \${reader.exitCode}\`);
}
`;

/** Deletes `key` from the Redis at `url`, in RESP, with no client. */
async function deleteKey(url: string, key: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port || 6379) });
  try {
    const bytes = new TextEncoder().encode(key);
    await conn.write(
      new TextEncoder().encode(
        `*2\r\n$3\r\nDEL\r\n$${bytes.length}\r\n${key}\r\n`,
      ),
    );
    await conn.read(new Uint8Array(64));
  } finally {
    conn.close();
  }
}

const decoder = new TextDecoder();

Deno.test({
  name:
    "Published with deno publish and added with deno add, the package runs from a fresh project",
  permissions: {
    run: true,
    read: true,
    write: true,
    net: ["127.0.0.1"],
    env: true,
  },
  async fn(t) {
    const registry = startRegistry();
    const project = await Deno.makeTempDir();
    const env = {
      JSR_URL: registry.url,
      JSR_API_URL: registry.apiUrl,
      NO_COLOR: "1",
    };
    const deno = async (args: string[], cwd: string) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args,
        cwd,
        env,
        stdin: "null",
      }).output();
      return {
        code: output.code,
        stdout: decoder.decode(output.stdout),
        stderr: decoder.decode(output.stderr),
      };
    };
    try {
      await t.step("deno publish uploads the package", async () => {
        const { code, stderr } = await deno([
          "publish",
          "--token",
          "test",
          "--allow-dirty",
          "--no-provenance",
        ], new URL("..", import.meta.url).pathname);
        assertEquals(code, 0, stderr);
        const files = registry.published.get("@parallel/multiprocessing")
          ?.get("0.1.0");
        // What publish.exclude leaves out is not there.
        const paths = [...files?.keys() ?? []];
        assertEquals(paths.includes("/mod.ts"), true, paths.join(" "));
        assertEquals(
          paths.filter((path) =>
            /^\/(bench|tests|_tools|_offline_std|\.ci)\//.test(path)
          ),
          [],
        );
      });
      await t.step("deno add puts it in a fresh project", async () => {
        await Deno.writeTextFile(`${project}/deno.json`, "{}\n");
        const { code, stderr } = await deno(
          ["add", "jsr:@parallel/multiprocessing"],
          project,
        );
        assertEquals(code, 0, stderr);
        const config = JSON.parse(
          await Deno.readTextFile(`${project}/deno.json`),
        );
        assertEquals(config.imports, {
          "@parallel/multiprocessing": "jsr:@parallel/multiprocessing@^0.1.0",
        });
      });
      await t.step(
        "a Process, a subclass, a Thread, a Queue, a Pool and the warm start run from it",
        async () => {
          await Deno.writeTextFile(`${project}/main.ts`, MAIN);
          const { code, stdout, stderr } = await deno(
            ["run", "--allow-run", "--allow-read=.", "main.ts"],
            project,
          );
          assertEquals(code, 0, stderr);
          assertEquals(stdout.trimEnd().split("\n"), [
            "process: 3",
            "subclass: hello jsr",
            "thread: ran",
            "queue: 1,2,3",
            "errors: true",
            "pool: 1,4,9",
            "process: 5",
            "process: 7",
            "exit codes: 0,0,0",
          ]);
        },
      );
      const redisUrl = Deno.env.get("REDIS_URL");
      const required = Deno.env.get("MULTIPROCESSING_REQUIRE_REDIS") === "1";
      await t.step({
        name: "a RedisProcess runs from it",
        ignore: redisUrl === undefined && !required,
        fn: async () => {
          if (redisUrl === undefined) {
            throw new Error(
              "REDIS_URL is not set: start redis-server, or run `deno task test`",
            );
          }
          await Deno.writeTextFile(`${project}/redis.ts`, REDIS);
          const key = `mp:registry-test:${Deno.pid}`;
          try {
            const output = await new Deno.Command(Deno.execPath(), {
              args: [
                "run",
                "--allow-run",
                "--allow-read=.",
                "--allow-net=127.0.0.1",
                "--allow-env",
                "redis.ts",
                key,
              ],
              cwd: project,
              env: { ...env, REDIS_URL: redisUrl },
              stdin: "null",
            }).output();
            const stderr = decoder.decode(output.stderr);
            assertEquals(output.code, 0, stderr);
            assertEquals(
              decoder.decode(output.stdout),
              "redis: from the installed package\nexit code: 0\n",
            );
          } finally {
            await deleteKey(redisUrl, key);
          }
        },
      });
    } finally {
      await registry.close();
      await Deno.remove(project, { recursive: true });
    }
  },
});
