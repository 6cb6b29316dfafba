// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Links: the ordered, two-way message channels between a runtime and each
// child (a process or a thread): batching of flat messages, backpressure,
// the socket pair at a child's fd 3, a MessagePort to a thread. See
// ARCHITECTURE.md, "The channel".

import { denoBefore, denoInternals } from "../_util/deno.ts";
import { frame, FrameReader, join, unframe } from "./framing.ts";
import {
  BATCH,
  type BatchMessage,
  type Incoming,
  type Message,
  POST,
  POSTS,
  type PostsMessage,
} from "./messages.ts";

/** A flat message waiting in a batch, not encoded yet. */
class Flat {
  constructor(readonly message: Message) {}
}

/** Whether `value` is a primitive: cloning it cannot fail. */
export function isPrimitive(value: unknown): boolean {
  return value === null ||
    (typeof value !== "object" && typeof value !== "function" &&
      typeof value !== "symbol");
}

/** A run of messages with each run of alike posts folded into one. */
function compact(run: Message[]): (Message | PostsMessage)[] {
  const out: (Message | PostsMessage)[] = [];
  let posts: unknown[] | null = null;
  let last: Message | null = null;
  for (const message of run) {
    if (
      message[0] === POST && last && last[0] === POST &&
      message[1] === last[1] && message[2] === last[2] &&
      message[4] === last[4]
    ) {
      posts!.push(message[3]);
      continue;
    }
    if (message[0] === POST) {
      posts = [message[3]];
      out.push([POSTS, message[1], message[2], message[4], posts]);
    } else {
      posts = null;
      out.push(message);
    }
    last = message;
  }
  return out;
}

/**
 * Primitives, and arrays of them up to three levels deep (a message, its
 * args, a pipe's entry): cloning cannot fail.
 */
export function isFlatMessage(message: unknown[], depth = 3): boolean {
  // Indexed, not for...of: this runs twice per message sent.
  for (let i = 0; i < message.length; i++) {
    const part = message[i];
    if (isPrimitive(part)) continue;
    if (depth <= 1 || !Array.isArray(part)) return false;
    if (!isFlatMessage(part, depth - 1)) return false;
  }
  return true;
}

/** A settled promise to hand out where there is nothing to wait for. */
export const DONE: Promise<void> = Promise.resolve();

/** Bytes waiting to be written above which senders are asked to wait. */
export const HIGH_WATER = 1 << 20;
/** How much a link's reader asks for at a time. */
export const READ_SIZE = 1 << 18;
/** How long `finish()` waits at most for a link whose peer exited. */
const CLOSE_LIMIT = 1000;
/** How long a link whose peer exited stays quiet before it counts as done. */
const QUIET = 100;

interface Core {
  read(rid: number, buffer: Uint8Array): Promise<number>;
  writeAll(rid: number, buffer: Uint8Array): Promise<void>;
  close(rid: number): void;
  refOpPromise(promise: Promise<unknown>): void;
  unrefOpPromise(promise: Promise<unknown>): void;
}

interface Internals {
  core: Core;
  kExtraStdio: symbol;
  getExtraPipeRids(child: Deno.ChildProcess): number[];
}

/** Deno's internals the fast path needs, or null where any is missing. */
function internals(): Internals | null {
  const internal = denoInternals() as Partial<Internals>;
  if (
    typeof internal?.core?.read !== "function" ||
    typeof internal.core.writeAll !== "function" ||
    typeof internal.kExtraStdio !== "symbol" ||
    typeof internal.getExtraPipeRids !== "function"
  ) {
    return null;
  }
  return internal as Internals;
}

/** Names the transport in the environment, for tests: `fd` or `stdio`. */
export const CHANNEL_VARIABLE = "MULTIPROCESSING_CHANNEL";

let fdChosen: boolean | undefined;

/**
 * Whether children get the fast channel at fd 3 rather than the public one
 * on their stdin and stdout: only where this Deno has the internals it needs
 * and the child's `node:net` can open fd 3 (`ERR_NOT_IMPLEMENTED` in 2.5 and
 * 2.6), and unless `MULTIPROCESSING_CHANNEL=stdio` is set and may be read
 * (never prompted for). Children are run by this same executable, so this
 * process's version is theirs.
 */
export function fdChannel(): boolean {
  if (fdChosen !== undefined) return fdChosen;
  // From 2.7 on, node:net opens a socket from an fd.
  const recent = !denoBefore(2, 7);
  const readable = Deno.permissions.querySync({
    name: "env",
    variable: CHANNEL_VARIABLE,
  }).state === "granted";
  const asked = readable ? Deno.env.get(CHANNEL_VARIABLE) : undefined;
  if (asked !== undefined && asked !== "fd" && asked !== "stdio") {
    throw new TypeError(
      `Cannot choose the channel: ${CHANNEL_VARIABLE} must be "fd" or "stdio", got ${
        JSON.stringify(asked)
      }`,
    );
  }
  return fdChosen = asked !== "stdio" && recent && internals() !== null;
}

/** The option that asks `Deno.Command` for the fast channel at fd 3. */
export function channelOption(): Record<symbol, unknown> {
  return { [internals()!.kExtraStdio]: ["piped"] };
}

/** A two-way, ordered message channel. */
export abstract class Link {
  /** Whether `encode()` sends the message itself (a port posts it). */
  protected readonly sendsAtOnce: boolean = false;

  /** Whether the peer is a thread of this process (shares memory). */
  abstract readonly sameProcess: boolean;
  /** Called with each message, in order. */
  onmessage: (message: Incoming) => void = () => {};
  /** Called once when the link closes, from either side. */
  onclose: () => void = () => {};
  #batch: unknown[] = [];
  #scheduled = false;
  #holds = 0;
  #closed = false;
  #whenClosed = Promise.withResolvers<void>();
  #bye = Promise.withResolvers<void>();
  #saidBye: string | null = null;
  #lastData = 0;

  /**
   * After the peer exited: resolves when the link is closed, when the peer
   * said goodbye (BYE), when nothing has arrived for a while (its data is
   * all read), or after `limit` ms, whichever comes first; the link keeps
   * the event loop alive meanwhile. What the peer sent before is delivered
   * first.
   */
  async closing(limit: number): Promise<void> {
    if (this.#closed || this.#saidBye) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = performance.now() + limit;
    this.hold();
    try {
      await Promise.race([
        this.#whenClosed.promise,
        this.#bye.promise,
        // The peer is gone: what it wrote is readable at once. A quiet link
        // has nothing more to give, even if a process the peer started
        // holds it open (it inherited the descriptor).
        new Promise<void>((resolve) => {
          const check = () => {
            const now = performance.now();
            if (now >= end || now - this.#lastData >= QUIET) resolve();
            else timer = setTimeout(check, QUIET / 4);
          };
          this.#lastData = Math.max(this.#lastData, performance.now());
          timer = setTimeout(check, QUIET / 4);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.release();
    }
  }

  /**
   * After the peer exited: waits (at most a second) until what it sent has
   * been delivered, then closes the link. See {@linkcode Link.closing}.
   */
  async finish(): Promise<void> {
    await this.closing(CLOSE_LIMIT);
    this.close();
  }

  /** Resolves when the link has closed. */
  get done(): Promise<void> {
    return this.#whenClosed.promise;
  }

  /** Records that the peer (`origin`) said goodbye: it ends cleanly. */
  markBye(origin: string): void {
    this.#saidBye = origin;
    this.#bye.resolve();
  }

  /** The peer that said goodbye before the link closed, if it did. */
  get graceful(): string | null {
    return this.#saidBye;
  }

  /** Whether the link is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues a message. It is written at the end of the current microtask
   * checkpoint, together with the others sent before then.
   *
   * @throws {DOMException} If the message cannot be cloned (DataCloneError):
   * nothing is queued then.
   */
  send(message: Message): void {
    if (this.#closed) return;
    // A message of plain numbers and strings cannot fail to clone: it waits
    // in the batch as it is, and the batch's run of them is cloned once, as
    // one message. Any other is cloned now, so that a failure throws here.
    if (isFlatMessage(message)) this.#batch.push(new Flat(message));
    else {
      // A link whose encode() sends at once must send what waits first.
      if (this.sendsAtOnce) this.flushNow();
      this.#batch.push(this.encode(message));
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      const batch = this.#batch;
      this.#batch = [];
      if (!this.#closed && batch.length > 0) this.write(batch);
    });
  }

  /**
   * Turns a message into what `write` takes; throws if it cannot. A
   * `[BATCH, ...messages]` message carries a run of flat messages.
   */
  protected abstract encode(message: Message | BatchMessage): unknown;

  /** The batch with each run of flat messages encoded as one. */
  protected encodeRuns(batch: unknown[]): unknown[] {
    const out: unknown[] = [];
    let run: Message[] = [];
    const end = () => {
      if (run.length === 1) out.push(this.encode(run[0]));
      else if (run.length > 1) out.push(this.encode([BATCH, ...compact(run)]));
      run = [];
    };
    for (const item of batch) {
      if (item instanceof Flat) run.push(item.message);
      else {
        end();
        out.push(item);
      }
    }
    end();
    return out;
  }

  /**
   * Writes what is batched now rather than at the end of the checkpoint: a
   * loop of synchronous work uses it so that what it sent leaves while it
   * runs (a child's socket writes at once).
   */
  flushNow(): void {
    if (this.#closed || this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.write(batch);
  }

  /** Keeps the event loop alive (counted) until {@linkcode Link.release}. */
  hold(): void {
    if (this.#holds++ === 0) this.setRef(true);
  }

  /** Undoes one {@linkcode Link.hold}. */
  release(): void {
    if (--this.#holds === 0 && !this.#closed) this.setRef(false);
  }

  /** Whether something holds the event loop for this link. */
  protected get held(): boolean {
    return this.#holds > 0;
  }

  /** Resolves when the link can take more without growing its buffer. */
  abstract drained(): Promise<void>;
  /** Resolves when everything sent so far has been written out. */
  abstract flushed(): Promise<void>;
  protected abstract write(batch: unknown[]): void;
  protected abstract setRef(ref: boolean): void;
  protected abstract shut(): void;

  /** Closes the link; the peer sees it close. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#batch = [];
    this.shut();
    this.onclose();
    this.#whenClosed.resolve();
  }

  protected deliver(message: unknown): void {
    this.#lastData = performance.now();
    // A peer may send anything: only arrays are messages.
    if (!Array.isArray(message)) return;
    if (message[0] !== BATCH) {
      if (!this.#closed) this.onmessage(message);
      return;
    }
    for (let i = 1; i < message.length; i++) {
      if (this.#closed) return;
      const item: unknown = message[i];
      if (!Array.isArray(item)) continue;
      if (item[0] !== POSTS) {
        this.onmessage(item);
        continue;
      }
      const [, id, op, origin, each] = item as Incoming;
      if (!Array.isArray(each)) continue;
      for (const args of each) {
        if (this.#closed) return;
        this.onmessage([POST, id, op, args, origin]);
      }
    }
  }
}

/**
 * A process link that writes frames to a byte stream, in order, one batch
 * after another, counting what waits so that senders can be held back.
 */
export abstract class StreamLink extends Link {
  readonly sameProcess = false;
  /**
   * What the child's start frame carries for it to open its end: the
   * public channel's key; nothing for the socket at fd 3.
   */
  readonly key: number[] | undefined = undefined;
  #writing: Promise<void> = Promise.resolve();
  #unwritten = 0;
  #drain: PromiseWithResolvers<void> | null = null;

  /**
   * Writes the child's start frame to its stdin; the channel's frames
   * follow on the channel.
   *
   * @returns A promise that resolves when it is written, or the child has
   * gone (its exit code tells why).
   */
  abstract writeStart(bytes: Uint8Array): Promise<void>;

  /** Writes one part whole; rejects if the stream is gone. */
  protected abstract writePart(part: Uint8Array): Promise<void>;

  /** Makes every write wait for `ready` (a start frame that goes first). */
  protected writeAfter(ready: Promise<void>): void {
    this.#writing = this.#writing.then(() => ready);
  }

  /** Runs `then` once every queued write has finished. */
  protected afterWrites(then: () => void): void {
    this.#drain?.resolve();
    this.#writing.finally(then);
  }

  protected encode(message: Message | BatchMessage): Uint8Array[] {
    return frame(message);
  }

  protected write(batch: unknown[]): void {
    const parts = join(this.encodeRuns(batch));
    let length = 0;
    for (const part of parts) length += part.length;
    this.#unwritten += length;
    this.#writing = this.#writing.then(async () => {
      try {
        for (const part of parts) {
          if (!this.closed) await this.writePart(part);
        }
      } catch {
        this.close();
      }
      this.#unwritten -= length;
      if (this.#unwritten < HIGH_WATER && this.#drain) {
        this.#drain.resolve();
        this.#drain = null;
      }
    });
  }

  drained(): Promise<void> {
    if (this.#unwritten < HIGH_WATER || this.closed) return DONE;
    return (this.#drain ??= Promise.withResolvers()).promise;
  }

  async flushed(): Promise<void> {
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await this.#writing;
  }
}

/** The parent's end of a child process's channel, on Deno's resource ops. */
export class ProcessLink extends StreamLink {
  #core: Core;
  #rid: number;
  #reading: Promise<number> | null = null;

  #child: Deno.ChildProcess;

  /** Opens the link to a child spawned with {@linkcode channelOption}. */
  constructor(child: Deno.ChildProcess) {
    super();
    const { core, getExtraPipeRids } = internals()!;
    this.#child = child;
    this.#core = core;
    this.#rid = getExtraPipeRids(child)[0];
    this.#readLoop();
  }

  /** Writes the start frame and ends the child's stdin: it has fd 3. */
  async writeStart(bytes: Uint8Array): Promise<void> {
    const writer = this.#child.stdin.getWriter();
    try {
      await writer.write(bytes);
      await writer.close();
    } catch {
      // A child that died before reading it all (a broken pipe): it exits
      // with an error of its own, which its exit code reports.
    }
  }

  async #readLoop(): Promise<void> {
    const reader = new FrameReader();
    const buffer = new Uint8Array(READ_SIZE);
    const each = (bytes: Uint8Array) => this.deliver(unframe(bytes));
    try {
      while (!this.closed) {
        // The rest of a large frame is read straight into its buffer.
        const body = reader.gathering(READ_SIZE);
        const reading = this.#core.read(this.#rid, body ?? buffer);
        this.#reading = reading;
        if (!this.held) this.#core.unrefOpPromise(reading);
        const n = await reading;
        this.#reading = null;
        if (!n) break;
        if (body) reader.gathered(n, each);
        else reader.push(buffer.subarray(0, n), each);
      }
    } catch {
      // A reset connection ends the link like an orderly close.
    }
    this.close();
  }

  protected writePart(part: Uint8Array): Promise<void> {
    return this.#core.writeAll(this.#rid, part);
  }

  protected setRef(ref: boolean): void {
    if (!this.#reading) return;
    if (ref) this.#core.refOpPromise(this.#reading);
    else this.#core.unrefOpPromise(this.#reading);
  }

  protected shut(): void {
    // Let queued writes finish before the descriptor goes.
    this.afterWrites(() => {
      try {
        this.#core.close(this.#rid);
      } catch {
        // Closed already.
      }
    });
  }
}

interface NodeSocket {
  on(event: string, listener: (...args: never[]) => void): void;
  once(event: string, listener: () => void): void;
  write(bytes: Uint8Array, callback?: () => void): boolean;
  ref(): void;
  unref(): void;
  destroy(): void;
  writableLength: number;
}

/** The child's end of its channel: the socket at fd 3, through `node:net`. */
export class ChildLink extends Link {
  readonly sameProcess = false;
  #socket: NodeSocket;

  /** Opens fd 3 as a socket. */
  constructor() {
    super();
    const net = (globalThis as unknown as {
      process: { getBuiltinModule(name: string): unknown };
    }).process.getBuiltinModule("node:net") as {
      Socket: new (options: { fd: number }) => NodeSocket;
    };
    this.#socket = new net.Socket({ fd: 3 });
    this.#socket.unref();
    const reader = new FrameReader();
    this.#socket.on("data", (chunk: Uint8Array) => {
      reader.push(chunk, (bytes) => this.deliver(unframe(bytes)));
    });
    this.#socket.on("close", () => this.close());
    this.#socket.on("error", () => this.close());
  }

  protected encode(message: Message | BatchMessage): Uint8Array[] {
    return frame(message);
  }

  protected write(batch: unknown[]): void {
    for (const part of join(this.encodeRuns(batch))) this.#socket.write(part);
  }

  drained(): Promise<void> {
    if (this.#socket.writableLength < HIGH_WATER || this.closed) return DONE;
    return new Promise((resolve) => this.#socket.once("drain", resolve));
  }

  flushed(): Promise<void> {
    return new Promise((resolve) =>
      queueMicrotask(() => {
        if (this.closed || this.#socket.writableLength === 0) resolve();
        else this.#socket.write(new Uint8Array(0), resolve);
      })
    );
  }

  protected setRef(ref: boolean): void {
    if (ref) this.#socket.ref();
    else this.#socket.unref();
  }

  protected shut(): void {
    this.#socket.destroy();
  }
}

interface NodePort {
  on(event: string, listener: (value: never) => void): void;
  postMessage(value: unknown): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** One end of a thread's channel, on a `node:worker_threads` MessagePort. */
export class PortLink extends Link {
  readonly sameProcess = true;
  protected override readonly sendsAtOnce = true;
  #port: NodePort;

  /** Wraps a port; the link starts unref'd. */
  constructor(port: unknown) {
    super();
    this.#port = port as NodePort;
    this.#port.on("message", (message: unknown) => this.deliver(message));
    this.#port.on("close", () => this.close());
    this.#port.unref();
  }

  /** Posts at once: postMessage clones now, and throws now if it cannot. */
  protected encode(message: Message | BatchMessage): null {
    this.#port.postMessage(message);
    return null;
  }

  protected write(batch: unknown[]): void {
    // Others were posted already; runs of flat ones are posted now.
    this.encodeRuns(batch);
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  flushed(): Promise<void> {
    return new Promise((resolve) => queueMicrotask(resolve));
  }

  protected setRef(ref: boolean): void {
    if (ref) this.#port.ref();
    else this.#port.unref();
  }

  protected shut(): void {
    this.#port.close();
  }
}
