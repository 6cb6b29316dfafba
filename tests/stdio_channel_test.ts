// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The public channel (`_stdio_channel.ts`): the child's stdout carries its
// output and the channel's chunks, which the parent tells apart by key.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { denoBefore } from "../_common.ts";
import { chunksOf, ChunkSplitter } from "../_stdio_channel.ts";
import { deno } from "./_helpers.ts";
import { ITEMS, NOISE_LINES } from "./fixtures/stdio_program.ts";

const encoder = new TextEncoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Feeds `stream` to a splitter in reads of the given lengths. */
function split(
  key: Uint8Array,
  stream: Uint8Array,
  reads: number[],
): { output: Uint8Array; channel: Uint8Array } {
  const splitter = new ChunkSplitter(key);
  const output: Uint8Array[] = [];
  const channel: Uint8Array[] = [];
  const out = (bytes: Uint8Array) => output.push(bytes.slice());
  const into = (bytes: Uint8Array) => channel.push(bytes.slice());
  let offset = 0;
  for (const length of reads) {
    splitter.push(stream.subarray(offset, offset + length), out, into);
    offset += length;
  }
  splitter.push(stream.subarray(offset), out, into);
  splitter.end(out);
  return { output: concat(output), channel: concat(channel) };
}

Deno.test("The parent takes the chunks out wherever its reads cut the stream", () => {
  const key = crypto.getRandomValues(new Uint8Array(16));
  // Output that starts like the key, at the start and in the middle.
  const printed = [
    encoder.encode("hello\n"),
    key.slice(0, 5),
    encoder.encode(" looks like a key\n"),
    key.slice(0, 15),
  ];
  const data = crypto.getRandomValues(new Uint8Array(9000));
  const chunks = chunksOf(key, data);
  assertEquals(chunks.length, 3);
  // Output, chunk, output, chunk, chunk, output.
  const stream = concat([
    printed[0],
    chunks[0],
    printed[1],
    printed[2],
    chunks[1],
    chunks[2],
    printed[3],
  ]);
  const expected = concat(printed);
  for (let cut = 1; cut < stream.length; cut += 7) {
    const { output, channel } = split(key, stream, [cut, 3, 1]);
    assertEquals(output, expected, `cut at ${cut}`);
    assertEquals(channel, data, `cut at ${cut}`);
  }
});

Deno.test("Output with the key and a length no chunk has passes through as output", () => {
  const key = crypto.getRandomValues(new Uint8Array(16));
  const forged = concat([
    key,
    new Uint8Array([0xff, 0xff]),
    encoder.encode("x"),
  ]);
  const { output, channel } = split(key, forged, []);
  assertEquals(output, forged);
  assertEquals(channel.length, 0);
});

Deno.test({
  name:
    "A child on the public channel gets every item across whole while others write to its stdout",
  permissions: { run: true, read: true },
  async fn() {
    // Asked for, the fast path is taken only where this Deno has it.
    for (const channel of ["stdio", "fd"]) {
      const socket = channel === "fd" && !denoBefore(2, 7);
      const { code, stdout, stderr } = await deno([
        "run",
        "--allow-run",
        "--allow-read",
        "--allow-env=MULTIPROCESSING_CHANNEL",
        "tests/fixtures/stdio_program.ts",
      ], { MULTIPROCESSING_CHANNEL: channel });
      assertEquals(code, 0, stderr);
      const lines = stdout.trimEnd().split("\n");
      const count = (pattern: RegExp) =>
        lines.filter((line) => pattern.test(line)).length;
      assertEquals(lines.slice(-3), [
        `socket at fd 3 in the child: ${socket}`,
        `items whole and in order: ${ITEMS} of ${ITEMS}`,
        "exit code: 0",
      ]);
      // Every line the child, its thread and its own child printed, whole.
      assertEquals(count(/^noise-line$/), NOISE_LINES, channel);
      assertEquals(count(/^child line \d+$/), ITEMS, channel);
      assertEquals(count(/^thread line \d+$/), 200, channel);
      assertEquals(lines.length, NOISE_LINES + ITEMS + 200 + 3, channel);
    }
  },
});

Deno.test({
  name: "A channel the environment names wrongly is a clear error",
  permissions: { run: true, read: true },
  async fn() {
    const { code, stderr } = await deno([
      "run",
      "--allow-run",
      "--allow-read",
      "--allow-env=MULTIPROCESSING_CHANNEL",
      "tests/fixtures/stdio_program.ts",
    ], { MULTIPROCESSING_CHANNEL: "socket" });
    assertEquals(code, 1);
    assertStringIncludes(
      stderr,
      'TypeError: Cannot choose the channel: MULTIPROCESSING_CHANNEL must be "fd" or "stdio", got "socket"',
    );
  },
});
