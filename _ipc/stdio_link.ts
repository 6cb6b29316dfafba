// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The public channel to a child process: its stdin (start frame, then
// frames) and its stdout (keyed chunks of at most PIPE_BUF bytes among what
// the child prints), on public APIs only, where the fd-3 socket cannot be
// had. See ARCHITECTURE.md, "The channel".

import { holdHandle } from "../_runtime/handles.ts";
import { frame, FrameReader, join, unframe } from "./framing.ts";
import { DONE, Link, READ_SIZE, StreamLink } from "./link.ts";
import type { BatchMessage, Message } from "./messages.ts";

/** How many bytes a key has. */
const KEY_LENGTH = 16;
/** The largest chunk: what a pipe writes whole (`PIPE_BUF`). */
const CHUNK_LIMIT = Deno.build.os === "linux" ? 4096 : 512;
/** The most bytes one chunk carries: less its key, length and newline. */
const CHUNK_BYTES = CHUNK_LIMIT - KEY_LENGTH - 3;
/**
 * What ends a chunk. Deno writes `Deno.stdout` through Rust's line-buffered
 * stdout, which writes up to the last newline of a write at once and the
 * rest after: a chunk that ends with its only last newline goes out whole,
 * in one `write()` (a newline inside would cut it in two, and another
 * writer could come between).
 */
const NEWLINE = 0x0a;

/** Writes all of `bytes` to a stdout-like sink, synchronously. */
function writeAllSync(
  sink: { writeSync(bytes: Uint8Array): number },
  bytes: Uint8Array,
): void {
  let offset = 0;
  while (offset < bytes.length) {
    offset += sink.writeSync(bytes.subarray(offset));
  }
}

/**
 * Splits what a child wrote to its stdout into the channel's chunks (those
 * that start with the key) and its output (everything else), in order. A
 * chunk cut by a read waits for the next; so does a tail that could begin
 * the key, which `end()` gives back as output.
 */
export class ChunkSplitter {
  #key: Uint8Array;
  #rest: Uint8Array = new Uint8Array(0);

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  /**
   * Takes a read's bytes: `output` gets each run of output and `chunk` each
   * chunk's bytes, in the order they were written.
   */
  push(
    bytes: Uint8Array,
    output: (bytes: Uint8Array) => void,
    chunk: (bytes: Uint8Array) => void,
  ): void {
    let buffer = bytes;
    if (this.#rest.length > 0) {
      buffer = new Uint8Array(this.#rest.length + bytes.length);
      buffer.set(this.#rest);
      buffer.set(bytes, this.#rest.length);
      this.#rest = new Uint8Array(0);
    }
    let offset = 0;
    while (offset < buffer.length) {
      const at = this.#keyAt(buffer, offset);
      if (at < 0) {
        output(buffer.subarray(offset));
        return;
      }
      if (at > offset) output(buffer.subarray(offset, at));
      const body = at + KEY_LENGTH + 2;
      if (buffer.length < body) {
        this.#rest = buffer.slice(at);
        return;
      }
      const length = buffer[at + KEY_LENGTH] |
        (buffer[at + KEY_LENGTH + 1] << 8);
      if (length > CHUNK_BYTES) {
        // Not a chunk the child wrote: output that happens to look like one.
        output(buffer.subarray(at, at + 1));
        offset = at + 1;
        continue;
      }
      if (buffer.length < body + length + 1) {
        this.#rest = buffer.slice(at);
        return;
      }
      if (buffer[body + length] !== NEWLINE) {
        // Not a chunk the child wrote whole.
        output(buffer.subarray(at, at + 1));
        offset = at + 1;
        continue;
      }
      chunk(buffer.subarray(body, body + length));
      offset = body + length + 1;
    }
  }

  /** At the end of the stream: what was held back, as output. */
  end(output: (bytes: Uint8Array) => void): void {
    if (this.#rest.length > 0) output(this.#rest);
    this.#rest = new Uint8Array(0);
  }

  /**
   * Where the key starts at or after `from`, or where a prefix of it ends
   * the buffer; -1 if neither.
   */
  #keyAt(buffer: Uint8Array, from: number): number {
    const key = this.#key;
    for (
      let at = buffer.indexOf(key[0], from);
      at >= 0;
      at = buffer.indexOf(key[0], at + 1)
    ) {
      const end = Math.min(KEY_LENGTH, buffer.length - at);
      let i = 1;
      while (i < end && buffer[at + i] === key[i]) i++;
      if (i === end) return at;
    }
    return -1;
  }
}

/** The chunks that carry `bytes`, each written whole by one write. */
export function chunksOf(key: Uint8Array, bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    const part = bytes.subarray(offset, offset + CHUNK_BYTES);
    const chunk = new Uint8Array(KEY_LENGTH + 3 + part.length);
    chunk.set(key);
    chunk[KEY_LENGTH] = part.length & 0xff;
    chunk[KEY_LENGTH + 1] = part.length >> 8;
    chunk.set(part, KEY_LENGTH + 2);
    chunk[chunk.length - 1] = NEWLINE;
    chunks.push(chunk);
  }
  return chunks;
}

/** The key a start frame gave, checked: 16 bytes. */
function keyOf(given: unknown): Uint8Array {
  if (
    !Array.isArray(given) || given.length !== KEY_LENGTH ||
    !given.every((byte) => Number.isInteger(byte) && byte >= 0 && byte < 256)
  ) {
    throw new TypeError(
      `Cannot open the channel: its key must be ${KEY_LENGTH} bytes, got ${
        JSON.stringify(given)
      }`,
    );
  }
  return Uint8Array.from(given);
}

/** Where a child's output goes, once its stdout is split from its chunks. */
export interface OutputSink {
  write(bytes: Uint8Array): void;
  /** The child's stdout has ended. */
  end(): void;
}

/** The default sink: this process's stdout. */
const TO_STDOUT: OutputSink = {
  write(bytes) {
    try {
      writeAllSync(Deno.stdout, bytes);
    } catch {
      // This process's stdout is closed: the output has nowhere to go.
    }
  },
  end() {},
};

/**
 * The parent's end of a child's public channel: frames go to the child's
 * stdin after its start frame; the child's stdout gives back the channel's
 * chunks and the child's output, which goes to `output` (by default this
 * process's stdout).
 */
export class StdioLink extends StreamLink {
  override readonly key: number[];
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #started = Promise.withResolvers<void>();
  #pinned = false;
  #ended = Promise.withResolvers<void>();
  #output: OutputSink;

  /**
   * Opens the link to a child spawned with its stdin and stdout piped.
   *
   * @param child The child.
   * @param output Where its output goes.
   */
  constructor(child: Deno.ChildProcess, output: OutputSink = TO_STDOUT) {
    super();
    this.#child = child;
    this.#output = output;
    const key = crypto.getRandomValues(new Uint8Array(KEY_LENGTH));
    this.key = [...key];
    this.#writer = child.stdin.getWriter();
    // Nothing goes before the start frame, which the child reads first.
    this.writeAfter(this.#started.promise);
    this.#readLoop(key);
  }

  /** Writes the start frame; the channel's frames follow it on stdin. */
  async writeStart(bytes: Uint8Array): Promise<void> {
    try {
      await this.#writer.write(bytes);
    } catch {
      // A child that died before reading it: its exit code reports it.
    }
    this.#started.resolve();
  }

  async #readLoop(key: Uint8Array): Promise<void> {
    const splitter = new ChunkSplitter(key);
    const frames = new FrameReader();
    const output = (bytes: Uint8Array) => this.#output.write(bytes);
    const chunk = (bytes: Uint8Array) => {
      if (this.closed) return;
      frames.push(bytes, (body) => this.deliver(unframe(body)));
    };
    try {
      // The output goes on after the link closes, until the child's stdout
      // ends: a process the child started may have inherited it.
      for await (const bytes of this.#child.stdout) {
        splitter.push(bytes, output, chunk);
      }
    } catch {
      // A reset pipe ends the stream as its end would.
    }
    splitter.end(output);
    this.#output.end();
    this.#ended.resolve();
    this.close();
  }

  /**
   * After the child exited: waits until its stdout has ended, so that all it
   * printed and sent is out first; at most `limit` ms, for a process it
   * started may hold the pipe open (its output goes on being passed on).
   */
  override async closing(limit: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    this.hold();
    try {
      await Promise.race([
        this.#ended.promise,
        new Promise<void>((resolve) => timer = setTimeout(resolve, limit)),
      ]);
    } finally {
      clearTimeout(timer);
      this.release();
    }
  }

  protected writePart(part: Uint8Array): Promise<void> {
    return this.#writer.write(part);
  }

  protected setRef(ref: boolean): void {
    if (ref === this.#pinned) return;
    this.#pinned = ref;
    holdHandle(this.#child, ref);
  }

  protected shut(): void {
    // A link closed while held is not released (see Link.release): its pin
    // would keep the child's status holding the loop for as long as it runs.
    this.setRef(false);
    // The start frame may not be written yet: a child that never got one
    // exits when its stdin ends.
    this.#started.resolve();
    this.afterWrites(() => this.#writer.close().catch(() => {}));
  }
}

/**
 * What the child's reader runs: it reads stdin and posts each read to the
 * child's main thread, `null` at its end. (CommonJS, as `eval` workers are.)
 */
const READER_SOURCE = `
const { parentPort } = require("node:worker_threads");
(async () => {
  const buffer = new Uint8Array(${READ_SIZE});
  for (;;) {
    let n = null;
    try { n = await Deno.stdin.read(buffer); } catch {}
    if (n === null) break;
    parentPort.postMessage(buffer.slice(0, n));
  }
  parentPort.postMessage(null);
})();
`;

interface NodeWorker {
  on(event: string, listener: (value: never) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
}

/**
 * The child's end of its public channel: reads come from stdin through an
 * unref'd worker; writes go to stdout as chunks, synchronously, so that
 * nothing this thread prints can fall inside one.
 */
export class StdioChildLink extends Link {
  readonly sameProcess = false;
  #key: Uint8Array;
  #reader: NodeWorker;

  /**
   * Opens the link. (The child's stdin is the channel's from then on: the
   * user's code must not read it, as a fast-path child finds it at its end.)
   *
   * @param key The key from the start frame.
   */
  constructor(key: unknown) {
    super();
    this.#key = keyOf(key);
    const { Worker } = (globalThis as unknown as {
      process: { getBuiltinModule(name: string): unknown };
    }).process.getBuiltinModule("node:worker_threads") as {
      Worker: new (source: string, options: { eval: true }) => NodeWorker;
    };
    this.#reader = new Worker(READER_SOURCE, { eval: true });
    this.#reader.unref();
    const frames = new FrameReader();
    this.#reader.on("message", (bytes: Uint8Array | null) => {
      if (bytes === null) this.close();
      else frames.push(bytes, (body) => this.deliver(unframe(body)));
    });
    this.#reader.on("error", () => this.close());
  }

  protected encode(message: Message | BatchMessage): Uint8Array[] {
    return frame(message);
  }

  protected write(batch: unknown[]): void {
    try {
      for (const part of join(this.encodeRuns(batch))) {
        for (const chunk of chunksOf(this.#key, part)) {
          writeAllSync(Deno.stdout, chunk);
        }
      }
    } catch {
      // The parent's end is gone.
      this.close();
    }
  }

  drained(): Promise<void> {
    return DONE;
  }

  flushed(): Promise<void> {
    return new Promise((resolve) => queueMicrotask(resolve));
  }

  protected setRef(ref: boolean): void {
    if (ref) this.#reader.ref();
    else this.#reader.unref();
  }

  protected shut(): void {
    void this.#reader.terminate();
  }
}
