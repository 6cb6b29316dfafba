// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Links (`_ipc/link.ts`): what one turn sends goes as one batch, runs of
// posts folded; what arrives is unfolded and checked; a stream link holds
// senders back above HIGH_WATER. Tested on links that capture what they
// would send, and on PortLinks over a MessageChannel.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async";
import { MessageChannel } from "node:worker_threads";
import { frame } from "../_ipc/framing.ts";
import { DONE, HIGH_WATER, Link, PortLink, StreamLink } from "../_ipc/link.ts";
import {
  ACK,
  BATCH,
  type BatchMessage,
  BYE,
  CANCEL,
  GONE,
  type Incoming,
  type Message,
  NACK,
  POST,
  POSTS,
  REQUEST,
  RESPONSE,
} from "../_ipc/messages.ts";

const NONE = {} as const;

/** What a {@linkcode CaptureLink} encoded, as `write` gets it. */
interface Encoded {
  encoded: Message | BatchMessage;
}

/**
 * A link that keeps what it would send: each write is the batch as
 * `encodeRuns()` returns it, each message encoded as `{ encoded }`.
 */
class CaptureLink extends Link {
  readonly sameProcess = false;
  readonly writes: unknown[][] = [];
  /** Every message encoded, in the order encode() was called. */
  readonly encoded: (Message | BatchMessage)[] = [];
  shuts = 0;

  protected encode(message: Message | BatchMessage): Encoded {
    // Cloning is what a real link's encode does first: it throws here.
    structuredClone(message);
    this.encoded.push(message);
    return { encoded: message };
  }

  protected write(batch: unknown[]): void {
    this.writes.push(this.encodeRuns(batch));
  }

  drained(): Promise<void> {
    return DONE;
  }

  flushed(): Promise<void> {
    return new Promise((resolve) => queueMicrotask(resolve));
  }

  protected setRef(): void {}

  protected shut(): void {
    this.shuts++;
  }

  /** Hands `message` to the link as if it had arrived. */
  receive(message: unknown): void {
    this.deliver(message);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Lets the current turn end, so batched messages are written. */
function turn(): Promise<void> {
  return delay(0);
}

/** Records each message a link delivers. */
function record(link: Link): Incoming[] {
  const got: Incoming[] = [];
  link.onmessage = (message) => got.push(message);
  return got;
}

// ---------------------------------------------------------------------------
// Batching

Deno.test({
  name:
    "Link.send() writes the flat messages of one turn as one batch, in order, when the turn ends",
  permissions: NONE,
  async fn() {
    const link = new CaptureLink();
    const request: Message = [REQUEST, 1, "1:1:1", "get", [5], "1:1", true];
    const response: Message = [RESPONSE, 9, true, "item"];
    const cancel: Message = [CANCEL, 1];
    link.send(request);
    link.send(response);
    link.send(cancel);
    // Nothing is written before the checkpoint ends.
    assertEquals(link.writes.length, 0);
    await turn();
    assertEquals(link.writes, [[{
      encoded: [BATCH, request, response, cancel],
    }]]);
    // Flat messages are encoded once, as the batch.
    assertEquals(link.encoded.length, 1);

    // The next turn is the next write; a lone message goes as itself.
    link.send([ACK, 9]);
    await turn();
    assertEquals(link.writes.length, 2);
    assertEquals(link.writes[1], [{ encoded: [ACK, 9] }]);
    link.close();
  },
});

Deno.test({
  name:
    "Link.send() folds each run of posts to one object, of one op, from one origin into a POSTS item",
  permissions: NONE,
  async fn() {
    const link = new CaptureLink();
    const sent: Message[] = [
      [POST, "1:1:1", "put", ["a"], "1:1"],
      [POST, "1:1:1", "put", ["b"], "1:1"],
      [POST, "1:1:1", "put", ["c"], "1:1"],
      // Another op, another origin, another object: new runs.
      [POST, "1:1:1", "release", [], "1:1"],
      [POST, "1:1:1", "release", [], "2:1"],
      [POST, "1:1:2", "release", [], "2:1"],
      // Anything else ends a run; a post after it starts a new one.
      [ACK, 4],
      [POST, "1:1:2", "release", [], "2:1"],
      [POST, "1:1:2", "release", [1], "2:1"],
    ];
    for (const message of sent) link.send(message);
    await turn();
    assertEquals(link.writes, [[{
      encoded: [
        BATCH,
        [POSTS, "1:1:1", "put", "1:1", [["a"], ["b"], ["c"]]],
        [POSTS, "1:1:1", "release", "1:1", [[]]],
        [POSTS, "1:1:1", "release", "2:1", [[]]],
        [POSTS, "1:1:2", "release", "2:1", [[]]],
        [ACK, 4],
        [POSTS, "1:1:2", "release", "2:1", [[], [1]]],
      ],
    }]]);

    // What arrives unfolds to exactly what was sent.
    const peer = new CaptureLink();
    const got = record(peer);
    peer.receive((link.writes[0][0] as Encoded).encoded);
    assertEquals(got, sent);
    link.close();
    peer.close();
  },
});

Deno.test({
  name:
    "Link.send() encodes a message that is not flat at once, and keeps its place among the flat ones",
  permissions: NONE,
  async fn(t) {
    await t.step("in order within the batch", async () => {
      const link = new CaptureLink();
      const before: Message = [POST, "1:1:1", "put", [1], "1:1"];
      const other: Message = [POST, "1:1:1", "put", [{ an: "object" }], "1:1"];
      const after: Message[] = [
        [POST, "1:1:1", "put", [2], "1:1"],
        [POST, "1:1:1", "put", [3], "1:1"],
      ];
      link.send(before);
      link.send(other);
      // Encoded during send(), before the turn ends.
      assertEquals(link.encoded, [other]);
      for (const message of after) link.send(message);
      await turn();
      assertEquals(link.writes, [[
        { encoded: before },
        { encoded: other },
        { encoded: [BATCH, [POSTS, "1:1:1", "put", "1:1", [[2], [3]]]] },
      ]]);
      link.close();
    });

    await t.step(
      "one that cannot be cloned throws, and nothing is queued",
      async () => {
        const link = new CaptureLink();
        link.send([POST, "1:1:1", "put", [1], "1:1"]);
        assertThrows(
          () => link.send([POST, "1:1:1", "put", [() => {}], "1:1"]),
          DOMException,
        );
        link.send([POST, "1:1:1", "put", [2], "1:1"]);
        await turn();
        assertEquals(link.writes, [[{
          encoded: [BATCH, [POSTS, "1:1:1", "put", "1:1", [[1], [2]]]],
        }]]);
        link.close();
      },
    );
  },
});

Deno.test({
  name: "Link.flushNow() writes what is batched at once, before the turn ends",
  permissions: NONE,
  async fn() {
    const link = new CaptureLink();
    link.send([ACK, 1]);
    link.send([NACK, 2]);
    link.flushNow();
    assertEquals(link.writes, [[{ encoded: [BATCH, [ACK, 1], [NACK, 2]] }]]);
    // Nothing is left for the end of the turn, and an empty flush is a no-op.
    link.flushNow();
    await turn();
    assertEquals(link.writes.length, 1);
    link.close();
  },
});

Deno.test({
  name:
    "Link.close() drops what is batched, sends nothing after, and runs onclose once",
  permissions: NONE,
  async fn() {
    const link = new CaptureLink();
    let closes = 0;
    link.onclose = () => closes++;
    link.send([ACK, 1]);
    link.close();
    link.close();
    link.send([ACK, 2]);
    link.flushNow();
    await turn();
    await link.done;
    assertEquals(link.writes, []);
    assertEquals(link.closed, true);
    assertEquals(closes, 1);
    assertEquals(link.shuts, 1);
  },
});

// ---------------------------------------------------------------------------
// Delivery

Deno.test({
  name:
    "Link.deliver() unfolds a batch, each POSTS item into its POST messages, in order",
  permissions: NONE,
  fn() {
    const link = new CaptureLink();
    const got = record(link);
    link.receive([
      BATCH,
      [REQUEST, 1, "1:1:1", "get", [], "2:1", true],
      [POSTS, "1:1:1", "put", "2:1", [["a"], ["b"], ["c"]]],
      [CANCEL, 1],
      [POSTS, "1:1:2", "release", "3:1", [[]]],
    ]);
    assertEquals(got, [
      [REQUEST, 1, "1:1:1", "get", [], "2:1", true],
      [POST, "1:1:1", "put", ["a"], "2:1"],
      [POST, "1:1:1", "put", ["b"], "2:1"],
      [POST, "1:1:1", "put", ["c"], "2:1"],
      [CANCEL, 1],
      [POST, "1:1:2", "release", [], "3:1"],
    ]);
    // A message that is not a batch is delivered as it is.
    link.receive([BYE, "2:1"]);
    assertEquals(got.at(-1), [BYE, "2:1"]);
    link.close();
  },
});

Deno.test({
  name:
    "Link.deliver() skips what is not a message, in a batch or alone, and delivers the rest",
  permissions: NONE,
  fn() {
    const link = new CaptureLink();
    const got = record(link);
    for (const junk of [null, 42, "text", { 0: BATCH }, undefined]) {
      link.receive(junk);
    }
    assertEquals(got, []);
    link.receive([
      BATCH,
      7,
      "not a message",
      null,
      { kind: POST },
      [ACK, 1],
      [POSTS, "1:1:1", "put", "2:1", "not a list of args"],
      [POSTS, "1:1:1", "put", "2:1", { length: 2 }],
      [GONE, ["2:2"], false],
      [POSTS, "1:1:1", "put", "2:1", [[1]]],
    ]);
    assertEquals(got, [
      [ACK, 1],
      [GONE, ["2:2"], false],
      [POST, "1:1:1", "put", [1], "2:1"],
    ]);
    link.close();
  },
});

Deno.test({
  name: "Link.deliver() delivers nothing more of a batch once the link closes",
  permissions: NONE,
  fn() {
    const link = new CaptureLink();
    const got: Incoming[] = [];
    link.onmessage = (message) => {
      got.push(message);
      // The second post closes the link.
      if (got.length === 2) link.close();
    };
    link.receive([
      BATCH,
      [POSTS, "1:1:1", "put", "2:1", [[1], [2], [3]]],
      [ACK, 1],
    ]);
    assertEquals(got, [
      [POST, "1:1:1", "put", [1], "2:1"],
      [POST, "1:1:1", "put", [2], "2:1"],
    ]);
    link.receive([ACK, 2]);
    assertEquals(got.length, 2);
  },
});

// ---------------------------------------------------------------------------
// PortLink

/** Two PortLinks on a fresh MessageChannel; both are closed after `fn`. */
async function withPortLinks(
  fn: (a: PortLink, b: PortLink, wire: unknown[]) => Promise<void>,
): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  // What the port carries, before the link unfolds it.
  const wire: unknown[] = [];
  port2.on("message", (message: unknown) => wire.push(message));
  const a = new PortLink(port1);
  const b = new PortLink(port2);
  // Links start unref'd: hold both so the test waits for their messages.
  a.hold();
  b.hold();
  try {
    await fn(a, b, wire);
  } finally {
    a.close();
    b.close();
    await Promise.all([a.done, b.done]);
  }
}

/** Resolves with what `link` delivers up to and including a BYE. */
function untilBye(link: Link): Promise<Incoming[]> {
  const got: Incoming[] = [];
  const { promise, resolve } = Promise.withResolvers<Incoming[]>();
  link.onmessage = (message) => {
    got.push(message);
    if (message[0] === BYE) resolve(got);
  };
  return promise;
}

Deno.test({
  name:
    "PortLinks on a MessageChannel carry a turn's messages in order, with runs of posts folded on the wire",
  permissions: NONE,
  async fn() {
    await withPortLinks(async (a, b, wire) => {
      const arrived = untilBye(b);
      const sent: Message[] = [
        [REQUEST, 1, "1:1:1", "get", [], "1:1", true],
        ...Array.from(
          { length: 100 },
          (_, i): Message => [POST, "1:1:1", "put", [i], "1:1"],
        ),
        [POST, "1:1:1", "put", ["other origin"], "1:2"],
        [BYE, "1:1"],
      ];
      for (const message of sent) a.send(message);
      assertEquals(await arrived, sent);
      // One post for the whole turn, the hundred posts as one item.
      assertEquals(wire, [[
        BATCH,
        sent[0],
        [
          POSTS,
          "1:1:1",
          "put",
          "1:1",
          Array.from({ length: 100 }, (_, i) => [i]),
        ],
        [POSTS, "1:1:1", "put", "1:2", [["other origin"]]],
        [BYE, "1:1"],
      ]]);
    });
  },
});

Deno.test({
  name:
    "PortLink.send() posts a message that is not flat after the flat ones sent before it",
  permissions: NONE,
  async fn(t) {
    await t.step("in order", async () => {
      await withPortLinks(async (a, b, wire) => {
        const arrived = untilBye(b);
        const sent: Message[] = [
          [POST, "1:1:1", "put", [1], "1:1"],
          [POST, "1:1:1", "put", [new Map([["a", 1]])], "1:1"],
          [POST, "1:1:1", "put", [3], "1:1"],
          [BYE, "1:1"],
        ];
        for (const message of sent) a.send(message);
        assertEquals(await arrived, sent);
        // The first flat one went at once, ahead of the other.
        assertEquals(wire.length, 3);
        assertEquals(wire[0], sent[0]);
      });
    });

    await t.step(
      "one that cannot be cloned throws, and is not sent",
      async () => {
        await withPortLinks(async (a, b) => {
          const arrived = untilBye(b);
          a.send([POST, "1:1:1", "put", [1], "1:1"]);
          const error = assertThrows(() =>
            a.send([POST, "1:1:1", "put", [Symbol("no")], "1:1"])
          );
          assertInstanceOf(error, DOMException);
          assertEquals(error.name, "DataCloneError");
          a.send([BYE, "1:1"]);
          assertEquals(await arrived, [
            [POST, "1:1:1", "put", [1], "1:1"],
            [BYE, "1:1"],
          ]);
        });
      },
    );
  },
});

Deno.test({
  name: "Closing one PortLink closes the other end too",
  permissions: NONE,
  async fn() {
    await withPortLinks(async (a, b) => {
      let closes = 0;
      b.onclose = () => closes++;
      a.close();
      await b.done;
      assertEquals(b.closed, true);
      assertEquals(closes, 1);
    });
  },
});

// ---------------------------------------------------------------------------
// StreamLink backpressure

/**
 * A stream link whose writes wait until the test lets them finish; it
 * records each part as its write starts.
 */
class SlowLink extends StreamLink {
  readonly parts: Uint8Array[] = [];
  written = 0;
  fail: Error | null = null;
  #credits = 0;
  #waiting: (() => void)[] = [];

  writeStart(): Promise<void> {
    return DONE;
  }

  protected async writePart(part: Uint8Array): Promise<void> {
    this.parts.push(part);
    if (this.#credits > 0) this.#credits--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    if (this.fail) throw this.fail;
    this.written += part.length;
  }

  /** Lets the next `n` part writes, waiting or to come, finish. */
  allow(n: number): void {
    this.#credits += n;
    while (this.#credits > 0 && this.#waiting.length > 0) {
      this.#credits--;
      this.#waiting.shift()!();
    }
  }

  /** Lets every write, waiting or to come, finish. */
  open(): void {
    this.allow(Infinity);
  }

  protected setRef(): void {}
  protected shut(): void {}
}

/** Whether `promise` is still pending once the current turn has ended. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  await turn();
  return !settled;
}

/** A post whose frame is exactly `bytes` long (head included). */
function postOfSize(bytes: number): Message {
  const make = (n: number): Message => [
    POST,
    "1:1:1",
    "put",
    [new Uint8Array(n)],
    "1:1",
  ];
  const size = (n: number) =>
    frame(make(n)).reduce((sum, part) => sum + part.length, 0);
  let n = bytes - (size(0) - 0);
  while (size(n) > bytes) n--;
  while (size(n) < bytes) n++;
  assertEquals(size(n), bytes, "a post of that size");
  return make(n);
}

Deno.test({
  name:
    "StreamLink.drained() waits while HIGH_WATER bytes or more wait to be written, and resolves once fewer do",
  permissions: NONE,
  async fn(t) {
    await t.step("below HIGH_WATER, senders need not wait", async () => {
      const link = new SlowLink();
      link.send(postOfSize(HIGH_WATER - 1));
      await turn();
      // The write has started and cannot finish, yet there is room.
      assertEquals(link.parts.length > 0, true);
      assertEquals(link.written, 0);
      assertStrictEquals(link.drained(), DONE);
      link.open();
      await link.flushed();
      assertEquals(link.written, HIGH_WATER - 1);
      link.close();
    });

    await t.step("at HIGH_WATER, until what waits falls below it", async () => {
      const link = new SlowLink();
      // One frame of HIGH_WATER - 100 bytes: its head and its body.
      link.send(postOfSize(HIGH_WATER - 100));
      await turn();
      assertStrictEquals(link.drained(), DONE);
      link.send(postOfSize(100));
      await turn();
      const drained = link.drained();
      assert(await pending(drained), "drained() waits");
      // Those who wait share one promise.
      assertStrictEquals(link.drained(), drained);
      // The first part written is not enough.
      link.allow(1);
      assert(await pending(drained), "drained() still waits");
      assertEquals(link.written, 4);
      // With the first batch out, 100 bytes wait: senders may go on.
      link.allow(1);
      await drained;
      assertEquals(link.written, HIGH_WATER - 100);
      assertStrictEquals(link.drained(), DONE);
      link.open();
      await link.flushed();
      assertEquals(link.written, HIGH_WATER);
      link.close();
    });

    await t.step(
      "a closed link holds no sender back, and writes no more",
      async () => {
        const link = new SlowLink();
        link.send(postOfSize(2 * HIGH_WATER));
        await turn();
        assert(await pending(link.drained()));
        link.close();
        assertStrictEquals(link.drained(), DONE);
        // The part being written finishes; the rest of the batch is dropped.
        link.open();
        await link.flushed();
        assertEquals(link.parts.length, 1);
        assertEquals(link.written, 4);
      },
    );
  },
});

Deno.test({
  name: "StreamLink writes its batches one after another, each part whole",
  permissions: NONE,
  async fn() {
    const link = new SlowLink();
    const first = postOfSize(100_000);
    const second: Message = [ACK, 1];
    link.send(first);
    await turn();
    link.send(second);
    await turn();
    // The first batch's head is being written; nothing else has started.
    assertEquals(link.parts.length, 1);
    link.open();
    await link.flushed();
    const [head, body] = frame(first);
    // A small frame goes as one write, head and body joined.
    assertEquals(link.parts, [head, body, concat(frame(second))]);
    link.close();
  },
});

Deno.test({
  name:
    "A StreamLink whose write fails closes, and lets those waiting for drained() go",
  permissions: NONE,
  async fn() {
    const link = new SlowLink();
    let closes = 0;
    link.onclose = () => closes++;
    link.send(postOfSize(HIGH_WATER + 1));
    await turn();
    const drained = link.drained();
    assert(await pending(drained));
    link.fail = new Error("broken pipe");
    link.open();
    await drained;
    await link.done;
    assertEquals(closes, 1);
    assertEquals(link.written, 0);
    // Nothing more is written after the failure.
    link.send([ACK, 1]);
    await link.flushed();
    assertEquals(link.parts.length, 1);
  },
});
