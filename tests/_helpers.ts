// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Shared helpers for the test files.

import { delay } from "@std/async";
import { denoBefore } from "../_util/deno.ts";

/** Runs `deno <args>` from the repository root and collects its output. */
export async function deno(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: new URL("..", import.meta.url),
    stdin: "null",
    env: { ...env, NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Whether a pid names a running process (not a zombie), as `ps` sees it.
 * Needs run access.
 */
export function isRunning(pid: number): boolean {
  const { stdout } = new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdin: "null",
    stderr: "null",
  }).outputSync();
  const state = new TextDecoder().decode(stdout).trim();
  return state !== "" && !state.startsWith("Z");
}

/**
 * Polls until `pid` is gone; returns the milliseconds it took, or throws
 * after `limit` ms. The limit only bounds a failing test: no assertion is
 * made on the time itself.
 */
export async function waitGone(pid: number, limit = 15_000): Promise<number> {
  const start = performance.now();
  while (isRunning(pid)) {
    if (performance.now() - start > limit) {
      throw new Error(`Process ${pid} is still running after ${limit} ms`);
    }
    await delay(50);
  }
  return performance.now() - start;
}

/** Reads lines from a child's stdout until one matches `pattern`. */
export async function readUntil(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
): Promise<RegExpExecArray> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`Stream ended before ${pattern}: ${text}`);
      text += value;
      const match = pattern.exec(text);
      if (match) return match;
    }
  } finally {
    await reader.cancel();
  }
}

/**
 * For a test that leaves idle warm children behind, as the warm start does
 * by design (they outlive each take, unref'd, until the program ends): the
 * sanitizers of Deno before 2.9 count such children against the test, and
 * the next test's sanitizers count their ending.
 */
export const IDLE_CHILDREN_OUTLIVE: {
  sanitizeOps?: boolean;
  sanitizeResources?: boolean;
} = denoBefore(2, 9) ? { sanitizeOps: false, sanitizeResources: false } : {};
