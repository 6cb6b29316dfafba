// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Spawning a child: the Deno command, its channel, its config.

import {
  channelOption,
  fdChannel,
  ProcessLink,
  type StreamLink,
} from "../_ipc/link.ts";
import { type OutputSink, StdioLink } from "../_ipc/stdio_link.ts";
import { broker } from "../_ipc/broker.ts";
import { holdGroup } from "./reaper.ts";
import { runtime } from "./state.ts";

export const CHILD_URL = new URL("./child_entry.ts", import.meta.url).href;

/**
 * Spawns a child with its channel; it is unref'd (see the exit rules in
 * process.ts).
 */
export function spawnChild(
  flags: string[],
  entry: string,
  options: {
    env?: Record<string, string>;
    cwd?: string | URL;
    stdout?: Stdio;
    stderr?: Stdio;
  },
): {
  child: Deno.ChildProcess;
  link: StreamLink;
  stdout: ReadableStream<Uint8Array> | null;
} {
  const fd = fdChannel();
  const stdout = options.stdout ?? "inherit";
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, ...configFlag(), entry],
    stdin: "piped",
    // The public channel carries the child's output with its own chunks.
    stdout: fd ? stdout : "piped",
    stderr: options.stderr ?? "inherit",
    // Its own session and process group, so that terminate() and kill()
    // can reach everything it starts.
    detached: true,
    env: options.env,
    cwd: options.cwd,
    // The fast channel for queues, pipes and pools, at the child's fd 3.
    ...(fd ? channelOption() : {}),
  }).spawn();
  // No child holds the event loop by itself: see installExitHooks(). First,
  // so that a hold taken as its link is attached (holdHandle) stands.
  child.unref();
  let output: ReadableStream<Uint8Array> | null = null;
  let link: StreamLink;
  if (fd) {
    link = new ProcessLink(child);
    if (stdout === "piped") output = child.stdout;
  } else {
    const sink = outputSink(stdout);
    link = new StdioLink(child, sink.sink);
    output = sink.stream;
  }
  broker().attach(link, `${child.pid}:1`);
  // Killed by the reaper if this runtime dies first (see _runtime/reaper.ts).
  holdGroup(child.pid);
  return { child, link, stdout: output };
}

/** What a Process's `stdout` and `stderr` options take. */
export type Stdio = "inherit" | "piped" | "null";

/**
 * Where a child's output goes on the public channel, split from its
 * chunks: this process's stdout, nowhere, or a stream of its own.
 */
function outputSink(
  stdout: Stdio,
): { sink?: OutputSink; stream: ReadableStream<Uint8Array> | null } {
  if (stdout === "inherit") return { stream: null };
  if (stdout === "null") {
    return { sink: { write() {}, end() {} }, stream: null };
  }
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => void (open = false),
  });
  return {
    stream,
    sink: {
      write(bytes) {
        // A copy: the splitter reuses its buffer.
        if (open) controller.enqueue(bytes.slice());
      },
      end() {
        if (open) controller.close();
        open = false;
      },
    },
  };
}

/** The `data:` entry of a spawned child: the runtime, then its modules. */
export function entryUrl(modules: string[]): string {
  const lines = [`import { runChild } from ${JSON.stringify(CHILD_URL)};`];
  modules.forEach((url, i) => {
    lines.push(`import * as m${i} from ${JSON.stringify(url)};`);
  });
  lines.push(`await runChild([${modules.map((_, i) => `m${i}`).join(", ")}]);`);
  return `data:text/javascript,${encodeURIComponent(lines.join("\n"))}`;
}

/**
 * The parent's `deno.json`, found from its working directory as Deno finds
 * it, for the child's `--config`: a `data:` entry makes Deno look for no
 * config at all, and the child needs the same import map to load the same
 * modules. Found once, and only where the parent may read; without that,
 * the child has no import map. (`--import-map` given to the parent is not
 * visible to it, so it is not passed on.)
 */
function configFlag(): string[] {
  const state = runtime();
  if (state.config === undefined) state.config = findConfig();
  return state.config === null ? [] : [`--config=${state.config}`];
}

function findConfig(): string | null {
  const readable = (path: string) =>
    Deno.permissions.querySync({ name: "read", path }).state === "granted";
  if (!readable(".")) {
    warnNoConfig("the working directory", "--allow-read=.");
    return null;
  }
  let dir = Deno.cwd();
  let unreadable: string | null = null;
  while (true) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const path = `${dir}/${name}`;
      if (!readable(path)) unreadable ??= path;
      else if (isFile(path)) return path;
    }
    const parent = dir.slice(0, dir.lastIndexOf("/")) || "/";
    if (parent === dir) break;
    dir = parent;
  }
  if (unreadable !== null) {
    warnNoConfig(unreadable, `--allow-read=${unreadable}`);
  }
  return null;
}

/**
 * Says once, on stderr, that the search for `deno.json` stopped where this
 * process may not read: a child that needs the import map would fail to
 * load its modules, far from the cause.
 */
function warnNoConfig(where: string, flag: string): void {
  console.error(
    `@parallel/multiprocessing: children get no deno.json: this process may not read ${where}, where Deno would look for one (if it is there, run with ${flag})`,
  );
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
