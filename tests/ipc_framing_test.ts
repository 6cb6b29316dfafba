// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Frames on a byte stream (`_ipc/framing.ts`): a u32 little-endian length,
// then the message's V8 bytes; the reader splits them back out whatever
// the reads cut, and join() turns a batch's frames into few writes.
import {
  assert,
  assertEquals,
  assertLess,
  assertStrictEquals,
} from "@std/assert";
import { frame, FrameReader, join, unframe } from "../_ipc/framing.ts";
import {
  BATCH,
  type Message,
  POST,
  POSTS,
  REQUEST,
  RESPONSE,
} from "../_ipc/messages.ts";

const NONE = {} as const;
/** What join() gathers a write up to. */
const JOIN_LIMIT = 64 * 1024;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A small deterministic generator, so a failing split can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

/** Feeds `stream` to a fresh reader in chunks of the given lengths. */
function read(stream: Uint8Array, lengths: Iterable<number>): unknown[] {
  const reader = new FrameReader();
  const messages: unknown[] = [];
  // A frame may be a view of the chunk: it is decoded at once, as the
  // links do, before the chunk's memory could be reused.
  const each = (bytes: Uint8Array) => messages.push(unframe(bytes));
  let offset = 0;
  for (const length of lengths) {
    reader.push(stream.slice(offset, offset + length), each);
    offset += length;
  }
  assertEquals(offset, stream.length, "the chunks cover the stream");
  return messages;
}

/** Messages of many sizes, one with a body larger than a typical read. */
function sampleMessages(): Message[] {
  const big = new Uint8Array(70_000).map((_, i) => i % 251);
  return [
    [REQUEST, 1, "1:1:1", "put", ["a", 1, null], "1:1", true],
    [POST, "1:1:2", "release", [], "1:1"],
    [RESPONSE, 1, true, { nested: [1, 2, { deep: "yes" }], big }],
    [RESPONSE, 2, false, new RangeError("too far")],
    [POST, "1:1:3", "send", ["é€😀".repeat(300)], "2:1"],
  ];
}

Deno.test({
  name:
    "frame() writes a little-endian length, then V8 bytes that unframe() turns back into the message",
  permissions: NONE,
  fn() {
    const message: Message = [
      REQUEST,
      7,
      "100:1:3",
      "get",
      [{ when: new Date(0), values: new Map([[1, "one"]]) }],
      "100:2",
      false,
    ];
    const [head, body] = frame(message);
    assertEquals(head.length, 4);
    assertEquals(
      new DataView(head.buffer, head.byteOffset).getUint32(0, true),
      body.length,
    );
    assertEquals(unframe(body), message);
    // A batch frames as one message.
    const batch = [BATCH, [POSTS, "1:1:1", "put", "1:1", [1, 2, 3]]] as [
      typeof BATCH,
      ...unknown[],
    ];
    assertEquals(unframe(frame(batch)[1]), batch);
  },
});

Deno.test({
  name:
    "FrameReader.push() returns the same messages in order however the stream is cut",
  permissions: NONE,
  async fn(t) {
    const messages = sampleMessages();
    const stream = concat(messages.flatMap((message) => frame(message)));

    await t.step("all frames in one chunk", () => {
      assertEquals(read(stream, [stream.length]), messages);
    });

    await t.step("one byte at a time", () => {
      assertEquals(read(stream, Array(stream.length).fill(1)), messages);
    });

    await t.step("in random chunk splits", () => {
      for (let seed = 1; seed <= 50; seed++) {
        const next = random(seed);
        const lengths: number[] = [];
        let left = stream.length;
        while (left > 0) {
          // Mostly short reads, some that cut a head or span frames.
          const length = Math.min(
            left,
            next() < 0.8
              ? 1 + Math.floor(next() * 9)
              : 1 + Math.floor(next() * 90_000),
          );
          lengths.push(length);
          left -= length;
        }
        assertEquals(read(stream, lengths), messages, `seed ${seed}`);
      }
    });

    await t.step("in two chunks, cut at many offsets", () => {
      for (let cut = 0; cut <= stream.length; cut += 97) {
        assertEquals(
          read(stream, [cut, stream.length - cut]),
          messages,
          `cut at ${cut}`,
        );
      }
    });
  },
});

Deno.test({
  name: "FrameReader.push() hands a frame within one chunk over in place",
  permissions: NONE,
  fn() {
    const first = frame([POST, "1:1:1", "put", [1], "1:1"]);
    const second = frame([POST, "1:1:1", "put", [2], "1:1"]);
    const chunk = concat([...first, ...second]);
    const frames: Uint8Array[] = [];
    new FrameReader().push(chunk, (bytes) => frames.push(bytes));
    assertEquals(frames.length, 2);
    // Views of the chunk, no copy.
    for (const bytes of frames) assertStrictEquals(bytes.buffer, chunk.buffer);
    assertEquals(frames[0].byteOffset, 4);
    assertEquals(unframe(frames[0]), [POST, "1:1:1", "put", [1], "1:1"]);
    assertEquals(unframe(frames[1]), [POST, "1:1:1", "put", [2], "1:1"]);
  },
});

Deno.test({
  name:
    "FrameReader.gathering() lets the rest of a large frame be read straight into its buffer",
  permissions: NONE,
  fn() {
    const payload = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    const message: Message = [RESPONSE, 3, true, payload];
    const [head, body] = frame(message);
    const reader = new FrameReader();
    const frames: Uint8Array[] = [];
    const each = (bytes: Uint8Array) => frames.push(bytes);

    // Nothing is being gathered yet.
    assertStrictEquals(reader.gathering(1), null);
    // The head and the body's first bytes: the frame is now gathered.
    reader.push(concat([head, body.subarray(0, 1000)]), each);
    assertEquals(frames.length, 0);
    const rest = body.length - 1000;
    // Too little left for a reader that wants more.
    assertStrictEquals(reader.gathering(rest + 1), null);
    const into = reader.gathering(rest);
    assert(into !== null);
    assertEquals(into.length, rest);

    // Read the rest in two goes, straight into the frame's buffer.
    into.set(body.subarray(1000, 101_000));
    reader.gathered(100_000, each);
    assertEquals(frames.length, 0);
    const last = reader.gathering(1);
    assert(last !== null);
    assertEquals(last.length, rest - 100_000);
    // The same buffer as before, further on.
    assertStrictEquals(last.buffer, into.buffer);
    last.set(body.subarray(101_000));
    reader.gathered(last.length, each);

    assertEquals(frames.length, 1);
    assertStrictEquals(frames[0].buffer, into.buffer);
    assertEquals(unframe(frames[0]), message);
    // Done: nothing is gathered, and the next frame reads as usual.
    assertStrictEquals(reader.gathering(1), null);
    reader.push(concat(frame([POST, "1:1:1", "put", [], "1:1"])), each);
    assertEquals(unframe(frames[1]), [POST, "1:1:1", "put", [], "1:1"]);
  },
});

Deno.test({
  name: "join() gathers small parts into writes of at most 64 KiB, in order",
  permissions: NONE,
  fn() {
    const frames = Array.from(
      { length: 2000 },
      (_, i) => frame([POST, "1:1:1", "put", ["x".repeat(i % 300)], "1:1"]),
    );
    const parts = frames.flat();
    const writes = join(frames);
    assertEquals(concat(writes), concat(parts));
    assertLess(writes.length, 20);
    for (const write of writes) {
      assert(write.length <= JOIN_LIMIT, `a write of ${write.length} bytes`);
    }
    // Each write but the last is as full as the next part allows.
    let offset = 0;
    let index = 0;
    for (const write of writes.slice(0, -1)) {
      let size = 0;
      while (size < write.length) size += parts[index++].length;
      assertEquals(size, write.length, "a write ends between parts");
      assert(size + parts[index].length > JOIN_LIMIT, `write at ${offset}`);
      offset += size;
    }
    // A lone small part is written as it is.
    const lone = frame([POST, "1:1:1", "put", [], "1:1"]);
    const [only] = join([[lone[1]]]);
    assertStrictEquals(only, lone[1]);
  },
});

Deno.test({
  name: "join() passes parts over 16 KiB through as they are, uncopied",
  permissions: NONE,
  async fn(t) {
    await t.step("a large body between small frames", () => {
      const before = frame([POST, "1:1:1", "put", [1], "1:1"]);
      const large = frame([RESPONSE, 1, true, new Uint8Array(200_000)]);
      const after = frame([POST, "1:1:1", "put", [2], "1:1"]);
      const writes = join([before, large, after]);
      // The small parts around it are gathered, the body itself is not.
      assertEquals(writes.length, 3);
      assertEquals(writes[0], concat([...before, large[0]]));
      assertStrictEquals(writes[1], large[1]);
      assertEquals(writes[2], concat(after));
      assertEquals(
        concat(writes),
        concat([...before, ...large, ...after]),
      );
    });

    await t.step("the threshold is a quarter of the write size", () => {
      const head = new Uint8Array([1, 2, 3, 4]);
      const over = new Uint8Array(JOIN_LIMIT / 4 + 1);
      const at = new Uint8Array(JOIN_LIMIT / 4);
      const [first, second] = join([[head, over]]);
      assertStrictEquals(first, head);
      assertStrictEquals(second, over);
      // At the threshold, a part is still gathered (copied).
      const writes = join([[head, at]]);
      assertEquals(writes.length, 1);
      assert(writes[0].buffer !== at.buffer, "copied into the gathered write");
      assertEquals(writes[0], concat([head, at]));
    });
  },
});
