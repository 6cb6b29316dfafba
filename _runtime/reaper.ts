// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// No survivors, whatever ends this runtime. Every process group this
// runtime starts (its children's, and those its children report for their
// own descendants) is held by the reaper: one small process per runtime,
// in a session of its own, whose stdin is a pipe from here. When this
// runtime dies, however it dies (SIGKILL included), the pipe closes and the
// reaper kills every group it still holds, at once: a child busy in a
// synchronous loop, whose own orphan watch cannot run, ends too. Each group
// is also reported to this runtime's parent, so that its `terminate()` and
// `kill()` reach the whole tree at once. See ARCHITECTURE.md, "No orphans".

import { denoInternals } from "../_util/deno.ts";
import { broker } from "../_ipc/broker.ts";
import { canSignalGroups } from "./permissions.ts";

/** The reaper: reads `+pgid` and `-pgid` lines, kills what is held at EOF. */
const SCRIPT = `
const held = new Set();
const buffer = new Uint8Array(4096);
const decoder = new TextDecoder();
let rest = "";
for (;;) {
  let n = null;
  try { n = Deno.stdin.readSync(buffer); } catch {}
  if (n === null) break;
  rest += decoder.decode(buffer.subarray(0, n), { stream: true });
  const lines = rest.split("\\n");
  rest = lines.pop();
  for (const line of lines) {
    const pgid = Number(line.slice(1));
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (line[0] === "+") held.add(pgid); else held.delete(pgid);
  }
}
for (const pgid of held) {
  try { Deno.kill(-pgid, "SIGKILL"); } catch {}
}
`;
const ENTRY = `data:text/javascript,${encodeURIComponent(SCRIPT)}`;

interface Reaper {
  child: Deno.ChildProcess;
  write(line: string): void;
}

/** The groups this runtime holds, in the reaper and in its parent. */
const held = new Set<number>();
let reaper: Reaper | null = null;

/**
 * Holds a process group this runtime started (or a child reported): it is
 * killed if this runtime dies first. Nothing is held without full `run`,
 * which signalling a group needs.
 *
 * @param pgid The group's id (its leader's pid).
 */
export function holdGroup(pgid: number): void {
  if (held.has(pgid) || !canSignalGroups()) return;
  held.add(pgid);
  tell(`+${pgid}\n`);
  broker().reportGroup(pgid, true);
}

/**
 * Lets a group go, once it has ended and been signalled.
 *
 * @param pgid The group's id.
 */
export function releaseGroup(pgid: number): void {
  if (!held.delete(pgid)) return;
  tell(`-${pgid}\n`);
  broker().reportGroup(pgid, false);
}

/**
 * Signals a process group, if this process may signal groups.
 *
 * @returns Whether it may.
 */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  if (!canSignalGroups()) return false;
  try {
    Deno.kill(-pgid, signal);
  } catch {
    // The group is empty already.
  }
  return true;
}

/**
 * What a link to a child or thread does with the groups reported behind
 * it (see `Broker.watchGroups`): keeps them in `groups` and holds them here.
 */
export function trackGroups(
  groups: Set<number>,
): (pgid: number, alive: boolean) => void {
  return (pgid, alive) => {
    if (alive) {
      groups.add(pgid);
      holdGroup(pgid);
    } else if (groups.delete(pgid)) {
      releaseGroup(pgid);
    }
  };
}

/**
 * Starts this runtime's reaper now, if it holds groups at all, rather than
 * with the first child. For `deno test` before Deno 2.9, whose sanitizers
 * count a process that lives on past a test (this one lives as long as the
 * program) against the test that started it, even unref'd: a test module
 * calls this at its top level, before its tests.
 */
export function startReaper(): void {
  if (!reaper && canSignalGroups()) reaper = spawnReaper();
}

function tell(line: string): void {
  try {
    if (!reaper) {
      reaper = spawnReaper();
      // A new reaper (the last one died) takes over everything held.
      for (const pgid of held) reaper.write(`+${pgid}\n`);
      return;
    }
    reaper.write(line);
  } catch {
    // Its pipe broke: the next one starts a new reaper.
    reaper = null;
  }
}

function spawnReaper(): Reaper {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-run", ENTRY],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
    // Its own session: a signal to this runtime's group must not end it
    // before it has done its work.
    detached: true,
  }).spawn();
  child.unref();
  const started: Reaper = { child, write: lineWriter(child) };
  child.status.then(() => {
    if (reaper === started) reaper = null;
  });
  return started;
}

interface Core {
  write(rid: number, bytes: Uint8Array): Promise<number>;
  unrefOpPromise(promise: Promise<unknown>): void;
}

/**
 * Writes lines to the reaper's stdin at once, so that a group is held even
 * when this runtime goes on with a synchronous loop: Deno's write op on the
 * pipe runs eagerly (the bytes are written before it returns), where its
 * resource can be reached (Deno 2.9); else through the stream, whose first
 * write is as eager but whose next ones wait for the event loop.
 */
function lineWriter(child: Deno.ChildProcess): (line: string) => void {
  const encoder = new TextEncoder();
  const core = denoInternals().core as Partial<Core> | undefined;
  const symbol = Object.getOwnPropertySymbols(child).find((each) =>
    each.description === "[[stdinRid]]"
  );
  const rid = symbol
    ? (child as unknown as Record<symbol, unknown>)[symbol]
    : undefined;
  if (
    typeof rid === "number" && typeof core?.write === "function" &&
    typeof core.unrefOpPromise === "function"
  ) {
    const { write, unrefOpPromise } = core as Core;
    return (line) => {
      // A line is far below the pipe's atomic size: written whole.
      const written = write(rid, encoder.encode(line));
      unrefOpPromise(written);
      written.catch(() => {});
    };
  }
  const writer = child.stdin.getWriter();
  return (line) => {
    writer.write(encoder.encode(line)).catch(() => {});
  };
}
