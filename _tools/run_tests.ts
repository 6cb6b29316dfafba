// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// `deno task test`: formatting, lint, type and doc checks, then the test
// suite. JSR imports are resolved from jsr.io when it answers; when it does
// not (our build machines), the offline stand-ins in `_offline_std/` are
// mapped in instead. Pass `--checks-only` to skip the test suite, and any
// other arguments on to `deno test`.

const PUBLIC = ["mod.ts", "process.ts", "thread.ts", "sync.ts"];
const PROBE = "https://jsr.io/@std/assert/meta.json";

async function jsrReachable(): Promise<boolean> {
  try {
    const response = await fetch(PROBE, { signal: AbortSignal.timeout(3000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

async function run(
  args: string[],
  scan?: (text: string) => void,
): Promise<boolean> {
  console.log(`$ deno ${args.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: scan ? "piped" : "inherit",
    stderr: "inherit",
    // Plain text, so that the summary line can be read.
    env: scan ? { NO_COLOR: "1" } : undefined,
  }).spawn();
  if (scan) {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      const text = decoder.decode(chunk, { stream: true });
      await Deno.stdout.write(chunk);
      scan(text);
    }
  }
  return (await child.status).success;
}

const args = Deno.args.filter((arg) => arg !== "--checks-only");
const checksOnly = args.length !== Deno.args.length;
const online = await jsrReachable();
const map = online ? [] : ["--import-map=_offline_std/import_map.json"];
console.log(
  online
    ? "jsr.io answers: using the JSR imports in deno.json"
    : "jsr.io does not answer: using the offline stand-ins in _offline_std/",
);

const steps: string[][] = [
  ["fmt", "--check"],
  ["lint"],
  ["check", ...map, "."],
  ["check", ...map, "--doc-only", "README.md"],
  ["doc", "--lint", ...PUBLIC],
];
for (const step of steps) {
  if (!await run(step)) Deno.exit(1);
}
if (checksOnly) Deno.exit(0);

// Summarise in the plain "N passed, N failed" form CI reads.
let tail = "";
const ok = await run(
  ["test", "-P", ...map, "--doc", "--parallel", ...args],
  (text) => tail = (tail + text).slice(-4000),
);
const summary = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(tail);
if (summary) console.log(`\ntests: ${summary[1]} passed, ${summary[2]} failed`);
Deno.exit(ok ? 0 : 1);
