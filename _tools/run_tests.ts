// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// `deno task test`: formatting, lint, type and doc checks, then the test
// suite. JSR imports are resolved from jsr.io when it answers; when it does
// not (our build machines), the offline stand-ins in `_offline_std/` are
// mapped in instead. The Redis tests use REDIS_URL when it is set, else a
// `redis-server` started here on a free port and stopped at the end. Pass
// `--checks-only` to skip the test suite, and any other arguments on to
// `deno test`.

const PUBLIC = [
  "errors.ts",
  "mod.ts",
  "process.ts",
  "thread.ts",
  "sync.ts",
  "queue.ts",
  "pipe.ts",
  "pool.ts",
  "manager.ts",
  "context.ts",
  "shared_memory.ts",
  "redis_process.ts",
];
/** The registry Deno resolves `jsr:` from: JSR_URL when set, as in Deno. */
const REGISTRY = (Deno.env.get("JSR_URL") ?? "https://jsr.io").replace(
  /\/+$/,
  "",
);
const PROBE = `${REGISTRY}/@std/assert/meta.json`;

async function jsrReachable(): Promise<boolean> {
  try {
    const response = await fetch(PROBE, { signal: AbortSignal.timeout(3000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** The step running now, to stop on an interrupt. */
let running: Deno.ChildProcess | undefined;

/** Passed, failed and ignored tests (steps included) of each test file. */
const perFile = new Map<string, [number, number, number]>();

/**
 * Reads a test run's report line by line: the line of each test or step
 * that passed or was ignored is counted for its file, not printed; every
 * other line (failures, their errors, the summary) is printed as it comes.
 */
function testLines(): (line: string) => void {
  let file = "";
  return (line) => {
    const running = /^running \d+ tests? from (\S+)/.exec(line);
    if (running) {
      file = running[1];
      return;
    }
    const result = /^(?:(\S+) => )?\s*.* \.\.\. (ok|FAILED|ignored)\b/.exec(
      line,
    );
    if (result) {
      // A doc test is named for its lines: count it for its module.
      const key = (result[1] ?? file).replace(/^\.\//, "")
        .replace(/[$#]\d+-\d+\.\w+$/, " (doc examples)");
      const counts = perFile.get(key) ?? [0, 0, 0];
      counts[["ok", "FAILED", "ignored"].indexOf(result[2])]++;
      perFile.set(key, counts);
      if (result[2] !== "FAILED") return;
    }
    console.log(line);
  };
}

async function run(
  args: string[],
  scan?: (text: string) => void,
  env: Record<string, string> = {},
): Promise<boolean> {
  console.log(`$ deno ${args.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: scan ? "piped" : "inherit",
    // A test run's stderr is what its children print on purpose (the
    // tracebacks the tests provoke): shown only if the run fails.
    stderr: scan ? "piped" : "inherit",
    // Plain text, so that the lines can be read.
    env: scan ? { ...env, NO_COLOR: "1" } : env,
  }).spawn();
  running = child;
  if (!scan) return (await child.status).success;
  const errors = new Response(child.stderr).text();
  const decoder = new TextDecoder();
  const each = testLines();
  let partial = "";
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    scan(text);
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    for (const line of lines) each(line);
  }
  if (partial) each(partial);
  const { success } = await child.status;
  const stderr = await errors;
  const lines = stderr.trimEnd().split("\n").length;
  if (!success) console.error(stderr);
  else if (stderr.trim()) {
    console.log(
      `(${lines} lines the tests' children printed to stderr, as expected, not shown)`,
    );
  }
  return success;
}

const args = Deno.args.filter((arg) => arg !== "--checks-only");
const checksOnly = args.length !== Deno.args.length;
const online = await jsrReachable();
const map = online ? [] : ["--import-map=_offline_std/import_map.json"];
console.log(
  online
    ? `${REGISTRY} answers: using the JSR imports in deno.json`
    : `${REGISTRY} does not answer: using the offline stand-ins in _offline_std/`,
);

const steps: string[][] = [
  ["fmt", "--check"],
  ["lint"],
  // Quiet: a "Check" line per file says nothing; errors are still printed.
  ["check", "--quiet", ...map, "."],
  ["check", "--quiet", ...map, "--doc-only", "README.md"],
  ["doc", "--lint", ...PUBLIC],
];
for (const step of steps) {
  if (!await run(step)) Deno.exit(1);
}
if (checksOnly) Deno.exit(0);

/** A Redis for the tests: REDIS_URL, or a server of our own. */
async function startRedis(): Promise<
  { url?: string; why?: string; stop(): Promise<void> }
> {
  const given = Deno.env.get("REDIS_URL");
  const none = async () => {};
  if (given) return { url: given, stop: none };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  let server: Deno.ChildProcess;
  try {
    server = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return {
      why: "REDIS_URL is not set and redis-server is not on PATH",
      stop: none,
    };
  }
  const stop = async () => {
    try {
      server.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await server.status;
  };
  for (let i = 0; i < 100; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const reply = new Uint8Array(16);
      const n = await conn.read(reply);
      conn.close();
      if (
        new TextDecoder().decode(reply.subarray(0, n ?? 0)).startsWith("+PONG")
      ) {
        return { url: `redis://127.0.0.1:${port}`, stop };
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  return { why: `redis-server did not answer on port ${port}`, stop: none };
}

// Interrupted: stop the running step and our redis-server, then exit as
// the signal would have.
const interrupted = { stop: async () => {} };
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.addSignalListener(signal, async () => {
    try {
      running?.kill("SIGTERM");
    } catch {
      // It ended meanwhile.
    }
    await interrupted.stop();
    Deno.exit(code);
  });
}
const redis = await startRedis();
interrupted.stop = redis.stop;
console.log(
  redis.url
    ? `Redis tests use ${redis.url}`
    : `Redis tests are ignored: ${redis.why}`,
);

// Summarise in the plain "N passed, N failed" form CI reads.
// The examples test runs alone, after the rest: some examples race the
// seed's own timing (see tests/examples_test.ts) and want a quiet machine.
const EXAMPLES = "tests/examples_test.ts";
const env: Record<string, string> = redis.url ? { REDIS_URL: redis.url } : {};
const counts = [0, 0];
const count = (tail: string) => {
  const found = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(tail);
  if (found) {
    [counts[0], counts[1]] = [counts[0] + +found[1], counts[1] + +found[2]];
  }
};
let ok = false;
try {
  let tail = "";
  const scan = (text: string) => tail = (tail + text).slice(-4000);
  const filtered = args.length > 0;
  const rest = await run(
    [
      "test",
      "--quiet",
      "-P",
      ...map,
      "--doc",
      "--parallel",
      ...(filtered ? args : ["--ignore=" + EXAMPLES]),
    ],
    scan,
    env,
  );
  count(tail);
  tail = "";
  const examples = filtered ||
    await run(["test", "--quiet", "-P", ...map, EXAMPLES], scan, env);
  count(tail);
  ok = rest && examples;
} finally {
  await redis.stop();
}
console.log("");
for (const [file, [passed, failed, ignored]] of [...perFile].sort()) {
  const rest = [failed && `${failed} failed`, ignored && `${ignored} ignored`]
    .filter(Boolean);
  console.log(
    `${file}: ${passed} passed${rest.map((part) => `, ${part}`).join("")}`,
  );
}
console.log(`\ntests: ${counts[0]} passed, ${counts[1]} failed`);
Deno.exit(ok ? 0 : 1);
