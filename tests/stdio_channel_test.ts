// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The public channel (`_ipc/stdio_link.ts`): the child's stdout carries its
// output and the channel's chunks, which the parent tells apart by key.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { denoBefore } from "../_util/deno.ts";
import { chunksOf, ChunkSplitter } from "../_ipc/stdio_link.ts";
import { delay } from "@std/async";
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
  // Each at most PIPE_BUF and ending with a newline: Deno's line-buffered
  // stdout then writes it whole, in one write().
  for (const chunk of chunks) {
    assertEquals(chunk.length <= 4096 && chunk.at(-1) === 0x0a, true);
  }
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

/**
 * Runs a program whose stdout is not read for its first two seconds, so
 * that its pipes fill and every writer to them waits: the writes of a
 * child's chunks and of its own child's output then meet in the kernel.
 */
async function slowlyRead(
  program: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-run",
      "--allow-read",
      "--allow-env=MULTIPROCESSING_CHANNEL",
      program,
    ],
    cwd: new URL("..", import.meta.url),
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  await delay(2000);
  const stdout = await new Response(child.stdout).text();
  const { code } = await child.status;
  return { code, stdout, stderr: await stderr };
}

Deno.test({
  name:
    "A child on the public channel gets every item across whole while others write to its stdout",
  permissions: { run: true, read: true },
  async fn() {
    // Asked for, the fast path is taken only where this Deno has it.
    // Four at once, to load the machine as a test suite does.
    const channels = ["stdio", "stdio", "stdio", "fd"];
    const runs = await Promise.all(
      channels.map((channel) =>
        slowlyRead("tests/fixtures/stdio_program.ts", {
          MULTIPROCESSING_CHANNEL: channel,
        })
      ),
    );
    for (const [i, channel] of channels.entries()) {
      const socket = channel === "fd" && !denoBefore(2, 7);
      const { code, stdout, stderr } = runs[i];
      assertEquals(code, 0, stderr);
      const lines = stdout.trimEnd().split("\n");
      assertEquals(lines.slice(-3), [
        `socket at fd 3 in the child: ${socket}`,
        `items whole and in order: ${ITEMS} of ${ITEMS}`,
        "exit code: 0",
      ]);
      // Everything the child, its thread and its own child printed, no
      // byte more or less. (Not line by line: the kernel cuts a write of
      // more than PIPE_BUF, as `head` makes, where others' come between,
      // on either channel, as in any program with two writers to a pipe.)
      const printed = lines.slice(0, -3).join("\n") + "\n";
      const expected = [
        ...Array.from({ length: NOISE_LINES }, () => "noise-line\n"),
        ...Array.from({ length: ITEMS }, (_, i) => `child line ${i}\n`),
        ...Array.from({ length: 200 }, (_, i) => `thread line ${i}\n`),
      ].join("");
      const sorted = (text: string) => [...text].sort().join("");
      assertEquals(printed.length, expected.length, channel);
      assertEquals(sorted(printed) === sorted(expected), true, channel);
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
