// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The start frame a parent writes to its child's stdin:
//
//   u32 header length | header (UTF-8 JSON) | u32 payload length | payload
//
// The payload (args or subclass fields) is JSON when JSON carries it without
// loss, else V8's structured-clone format from `node:v8`, loaded only then:
// importing `node:v8` costs a child about 10 ms at start.

import type { ChildHeader } from "./state.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** True when `JSON.parse(JSON.stringify(value))` gives back an equal value. */
function isJsonSafe(value: unknown, seen = new Set<object>()): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (seen.has(value)) return false;
      const proto = Object.getPrototypeOf(value);
      if (Array.isArray(value)) {
        if (proto !== Array.prototype) return false;
        seen.add(value);
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isJsonSafe(value[i], seen)) return false;
        }
        return true;
      }
      if (proto !== Object.prototype && proto !== null) return false;
      seen.add(value);
      return Object.values(value).every((item) => isJsonSafe(item, seen));
    }
    default:
      return false;
  }
}

let v8: typeof import("node:v8") | undefined;
let v8Loading: Promise<typeof import("node:v8")> | undefined;

async function loadV8(): Promise<typeof import("node:v8")> {
  return v8 ??= await (v8Loading ??= import("node:v8"));
}

/**
 * `node:v8`, loaded synchronously if its background load has not finished
 * (see {@linkcode preloadCodec}): a payload is always checked by the
 * serializer that encodes it, as `structuredClone` accepts what V8's
 * serializer refuses (a `SharedArrayBuffer`).
 */
function v8Now(): typeof import("node:v8") {
  return v8 ??= (globalThis as unknown as {
    process: { getBuiltinModule(name: string): typeof import("node:v8") };
  }).process.getBuiltinModule("node:v8");
}

/**
 * Starts loading `node:v8` in the background, so that `start()` seldom
 * waits for it.
 */
export function preloadCodec(): void {
  loadV8().catch(() => {});
}

/** A payload checked in `start()`, ready to be written. */
export interface Payload {
  encoding: "json" | "v8";
  bytes: Uint8Array;
}

function cannotSend(label: string, error: unknown): TypeError {
  return new TypeError(
    `Cannot send ${label} to the child: it cannot be cloned (${
      (error as Error).message
    })`,
    { cause: error },
  );
}

/**
 * Checks, synchronously, that every part can be sent to a child, naming the
 * first one that cannot, and encodes them: as JSON when JSON carries the
 * values without loss, else in V8's format.
 *
 * @param parts The values, each with the name to report if it fails.
 * @throws {TypeError} If a value cannot be sent to a child.
 */
export function preparePayload(
  parts: Array<[label: string, value: unknown]>,
): Payload {
  const values = parts.map(([, value]) => value);
  if (isJsonSafe(values)) {
    return { encoding: "json", bytes: encoder.encode(JSON.stringify(values)) };
  }
  const { serialize } = v8Now();
  try {
    return { encoding: "v8", bytes: serialize(values) };
  } catch {
    // Name the first part that fails.
    for (const [label, value] of parts) {
      try {
        serialize(value);
      } catch (error) {
        throw cannotSend(label, error);
      }
    }
    throw new TypeError(
      "Cannot send the args to the child: they cannot be cloned",
    );
  }
}

/** Decodes a payload made by {@linkcode encodePayload}. */
export async function decodePayload(
  encoding: "json" | "v8",
  bytes: Uint8Array,
): Promise<unknown[]> {
  if (encoding === "json") return JSON.parse(decoder.decode(bytes));
  const { deserialize } = await loadV8();
  return deserialize(bytes);
}

/** Builds the start frame. */
export function encodeFrame(
  header: ChildHeader,
  payload: Uint8Array,
): Uint8Array {
  const head = encoder.encode(JSON.stringify(header));
  const frame = new Uint8Array(8 + head.length + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, head.length);
  frame.set(head, 4);
  view.setUint32(4 + head.length, payload.length);
  frame.set(payload, 8 + head.length);
  return frame;
}

/** The parent closed stdin before sending any of the start frame. */
export class EmptyFrameError extends Error {
  constructor() {
    super(
      "Cannot start the child: its parent closed stdin before sending anything",
    );
    this.name = "EmptyFrameError";
  }
}

function readExactlySync(length: number, first = false): Uint8Array {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = Deno.stdin.readSync(bytes.subarray(filled));
    if (n === null && first && filled === 0) throw new EmptyFrameError();
    if (n === null) {
      throw new Error(
        `Cannot start the child: its parent closed stdin after ${filled} of ${length} bytes`,
      );
    }
    filled += n;
  }
  return bytes;
}

/**
 * Reads the start frame from stdin, synchronously: the child's modules must
 * not load before it knows who it is.
 */
export function readFrameSync(): { header: ChildHeader; payload: Uint8Array } {
  const headLength = new DataView(readExactlySync(4, true).buffer).getUint32(0);
  const header = JSON.parse(decoder.decode(readExactlySync(headLength)));
  const payloadLength = new DataView(readExactlySync(4).buffer).getUint32(0);
  return { header, payload: readExactlySync(payloadLength) };
}
