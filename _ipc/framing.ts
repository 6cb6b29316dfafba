// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Frames on a byte stream: each message is
//
//   u32 little-endian length | V8 structured-clone bytes (Deno's serializer)
//
// written in batches of few writes, and read back in linear time.

import { denoInternals } from "../_util/deno.ts";
import type { BatchMessage, Message } from "./messages.ts";

interface Serializer {
  serialize(value: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
}
let serializer: Serializer | undefined;

/**
 * V8's structured-clone serializer: Deno's own (what `postMessage` uses,
 * about 2 µs a small message each way), else `node:v8`'s, which wraps it in
 * JavaScript and costs about ten times as much.
 */
function v8(): Serializer {
  if (serializer) return serializer;
  const core = denoInternals().core as Partial<Serializer> | undefined;
  if (
    typeof core?.serialize === "function" &&
    typeof core.deserialize === "function"
  ) {
    return serializer = core as Serializer;
  }
  return serializer = (globalThis as unknown as {
    process: { getBuiltinModule(name: string): unknown };
  }).process.getBuiltinModule("node:v8") as Serializer;
}

/**
 * Splits a byte stream into frames, in linear time: a frame that arrives in
 * one chunk is handed over in place (the handler deserializes it at once,
 * before the chunk's memory is reused); a longer one is gathered into a
 * buffer of its exact size.
 */
export class FrameReader {
  #head = new Uint8Array(4);
  #headFilled = 0;
  #body: Uint8Array | null = null;
  #bodyFilled = 0;

  /**
   * Where a reader should read next to skip a copy: the rest of the frame
   * being gathered, when that is at least `least` bytes; else null.
   */
  gathering(least: number): Uint8Array | null {
    if (!this.#body || this.#body.length - this.#bodyFilled < least) {
      return null;
    }
    return this.#body.subarray(this.#bodyFilled);
  }

  /** Counts `n` bytes read into what {@linkcode gathering} returned. */
  gathered(n: number, each: (frame: Uint8Array) => void): void {
    this.#bodyFilled += n;
    if (this.#bodyFilled === this.#body!.length) {
      const body = this.#body!;
      this.#body = null;
      each(body);
    }
  }

  push(chunk: Uint8Array, each: (frame: Uint8Array) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#body) {
        const take = Math.min(
          this.#body.length - this.#bodyFilled,
          chunk.length - offset,
        );
        this.#body.set(chunk.subarray(offset, offset + take), this.#bodyFilled);
        this.#bodyFilled += take;
        offset += take;
        if (this.#bodyFilled === this.#body.length) {
          const body = this.#body;
          this.#body = null;
          each(body);
        }
        continue;
      }
      const take = Math.min(4 - this.#headFilled, chunk.length - offset);
      this.#head.set(chunk.subarray(offset, offset + take), this.#headFilled);
      this.#headFilled += take;
      offset += take;
      if (this.#headFilled < 4) break;
      this.#headFilled = 0;
      const length = new DataView(this.#head.buffer).getUint32(0, true);
      if (chunk.length - offset >= length) {
        each(chunk.subarray(offset, offset + length));
        offset += length;
      } else {
        this.#body = new Uint8Array(length);
        this.#bodyFilled = 0;
      }
    }
  }
}

/** Frames up to this size are joined into one write; larger go as they are. */
const JOIN_LIMIT = 1 << 16;

/** One message as a frame: its length, then its V8 serialization. */
export function frame(message: Message | BatchMessage): Uint8Array[] {
  const body = v8().serialize(message);
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, body.length, true);
  return [head, body];
}

/**
 * The frames of a batch as few writes: small parts gathered into buffers of
 * up to 64 KiB, large ones written as they are (no copy).
 */
export function join(frames: unknown[]): Uint8Array[] {
  const writes: Uint8Array[] = [];
  let gather: Uint8Array[] = [];
  let gathered = 0;
  const flush = () => {
    if (gather.length === 1) writes.push(gather[0]);
    else if (gather.length > 1) {
      const out = new Uint8Array(gathered);
      let offset = 0;
      for (const part of gather) {
        out.set(part, offset);
        offset += part.length;
      }
      writes.push(out);
    }
    gather = [];
    gathered = 0;
  };
  for (const frame of frames as Uint8Array[][]) {
    for (const part of frame) {
      if (part.length > JOIN_LIMIT / 4) {
        flush();
        writes.push(part);
        continue;
      }
      if (gathered + part.length > JOIN_LIMIT) flush();
      gather.push(part);
      gathered += part.length;
    }
  }
  flush();
  return writes;
}

export function unframe(bytes: Uint8Array): unknown {
  return v8().deserialize(bytes);
}
