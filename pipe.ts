// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's `multiprocessing.Pipe`: two connected ends that processes and
 * threads pass to each other to talk, both ways or one way.
 *
 * @example Parent and child talking both ways
 * ```ts
 * import { type Connection, Pipe, Process } from "@parallel/multiprocessing";
 *
 * export async function echo(conn: Connection<string>) {
 *   await conn.send(`echo: ${await conn.recv()}`);
 *   conn.close();
 * }
 *
 * if (import.meta.main) {
 *   const [parent, child] = Pipe<string>();
 *   const p = new Process({ target: echo, args: [child] });
 *   p.start();
 *   await parent.send("hi");
 *   console.log(await parent.recv()); // "echo: hi"
 *   await p.join();
 * }
 * ```
 *
 * @module
 */

import {
  ARRIVED,
  broker,
  type Call,
  Delivery,
  registerRemoteKind,
  serveLocally,
  UNSENT,
} from "./_ipc/broker.ts";
import { checkBoolean } from "./_runtime/options.ts";
import { waitOptions } from "./_util/wait_options.ts";
import type { WaitOptions } from "./sync.ts";
import { Mailbox } from "./_ipc/mailbox.ts";
import { copyValue, toRemoteForm } from "./_ipc/crossing.ts";
import { describe } from "./_util/repr.ts";
import { BrokenPipeError, EOFError } from "./errors.ts";

export { BrokenPipeError, EOFError };

/** One message: bytes from `sendBytes`, or a value from `send`. */
type Entry = [bytes: boolean, value: unknown];

/**
 * The owner's state of a pipe. Each end is open while a runtime holds it:
 * as with Python's file descriptors, an end closes (and its peer sees EOF)
 * when every process or thread that got it has closed it or ended. An end
 * sent to another runtime counts as pending until it arrives there.
 */
class PipeState {
  readonly inbox: [Mailbox<Entry>, Mailbox<Entry>] = [
    new Mailbox(),
    new Mailbox(),
  ];
  readonly holders: [Set<string>, Set<string>];
  readonly pending = [0, 0];
  /** Every runtime that ever took each end. */
  readonly adopters: [Set<string>, Set<string>] = [new Set(), new Set()];
  readonly closed = [false, false];
  readonly #peerWatchers: [Array<() => void>, Array<() => void>] = [[], []];

  constructor(owner: string) {
    this.holders = [new Set([owner]), new Set([owner])];
  }

  /** Closes `end` for `origin`; the end closes when no one holds it. */
  #drop(end: 0 | 1, origin: string): void {
    this.holders[end].delete(origin);
    if (this.closed[end]) return;
    if (this.holders[end].size > 0 || this.pending[end] > 0) return;
    this.closed[end] = true;
    const peer = (1 - end) as 0 | 1;
    this.inbox[peer].end(() => new EOFError());
    this.inbox[end].end(() => closedError("receive"));
    for (const wake of this.#peerWatchers[peer].splice(0)) wake();
  }

  /** `origin` took the end it was sent. */
  adopt(end: 0 | 1, origin: string): void {
    this.pending[end] = Math.max(0, this.pending[end] - 1);
    this.adopters[end].add(origin);
    if (!this.closed[end]) this.holders[end].add(origin);
  }

  /** The child `origin` ended; if it never took the end, it is not coming. */
  unsent(end: 0 | 1, origin: string): void {
    if (this.adopters[end].has(origin)) return;
    this.pending[end] = Math.max(0, this.pending[end] - 1);
    this.#drop(end, origin);
  }

  originsGone(origins: Set<string>): void {
    for (const end of [0, 1] as const) {
      for (const origin of origins) {
        if (this.holders[end].has(origin)) this.#drop(end, origin);
      }
    }
  }

  handle(end: 0 | 1, op: string, args: unknown[], call: Call): unknown {
    const peer = (1 - end) as 0 | 1;
    switch (op) {
      case "send":
        if (this.closed[end]) throw closedError("send");
        if (this.closed[peer]) {
          throw new BrokenPipeError("Cannot send: the other end is closed");
        }
        // From another process it is a copy already; from here, copy it.
        this.inbox[peer].tryPut(
          call.link === null ? copyValue(args[0] as Entry) : args[0] as Entry,
        );
        return;
      case "recv": {
        if (this.closed[end]) throw closedError("receive");
        const timeout = args[0] as number | undefined;
        return this.inbox[end].get(
          timeout,
          call.signal,
          () =>
            new DOMException(
              `Cannot receive: nothing arrived within ${timeout} ms`,
              "TimeoutError",
            ),
          (entry) =>
            call.link === null
              ? entry
              : new Delivery(entry, () => this.inbox[end].unget(entry)),
        );
      }
      case "poll":
        if (this.closed[end]) throw closedError("poll");
        return this.inbox[end].poll(args[0] as number | undefined, call.signal);
      case "close":
        this.#drop(end, call.origin);
        return;
      case "export":
        this.pending[end]++;
        return;
      case "adopt":
        this.adopt(end, call.origin);
        return;
      case "unsent":
        // Said by a forwarder for the runtime behind it that it sent the
        // end to (see Broker: it may speak only for those).
        this.unsent(end, call.origin);
        return;
      case "peerClosed":
        if (this.closed[peer]) return;
        return new Promise<void>((resolve) => {
          this.#peerWatchers[end].push(resolve);
          call.signal.addEventListener("abort", () => resolve(), {
            once: true,
          });
        });
      default:
        throw new TypeError(
          `Cannot run ${op} on a connection: unknown operation`,
        );
    }
  }
}

function closedError(action: string): Error {
  return new Error(`Cannot ${action}: this connection is closed`);
}

/** Set while a proxy is being built: the constructor takes it instead. */
let reviving: { id: string; meta: ConnectionMeta } | null = null;

interface ConnectionMeta {
  readable: boolean;
  writable: boolean;
}

/** The options of {@linkcode Connection.recv}. */
export type RecvOptions = WaitOptions;

/**
 * One end of a {@linkcode Pipe}. Pass it to a `Process` or a `Thread` to
 * talk to it; values travel by structured clone, bytes as bytes.
 *
 * @typeParam T The type of the values sent.
 *
 * @example Usage
 * ```ts
 * import { Pipe } from "@parallel/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const [a, b] = Pipe<string>();
 * await a.send("ping");
 * assertEquals(await b.recv(), "ping");
 * ```
 */
export class Connection<T = unknown> {
  #state: PipeState | null = null;
  #end: 0 | 1 = 0;
  #id: string | null = null;
  #readable: boolean;
  #writable: boolean;
  #closed = false;
  #peerClosed = false;

  /**
   * Not for direct use: {@linkcode Pipe} makes connections.
   *
   * @param state The pipe's state, from `Pipe()`.
   * @param end Which end this is.
   * @param meta Whether this end reads and writes.
   */
  constructor(state: unknown, end: 0 | 1, meta: ConnectionMeta) {
    if (reviving) {
      const id = this.#id = reviving.id;
      broker().adopt(this, id);
      ({ readable: this.#readable, writable: this.#writable } = reviving.meta);
      // This runtime now holds the end; the owner counts it.
      broker().post(id, "adopt", []);
      // Learn when the peer end closes, so that send() can say so. The
      // watch does not keep this process alive.
      broker().request(id, "peerClosed", [], undefined, undefined, false).then(
        () => this.#peerClosed = true,
        () => {},
      );
      return;
    }
    if (!(state instanceof PipeState)) {
      throw new TypeError(
        "Cannot create a connection directly: call Pipe() for a pair",
      );
    }
    this.#state = state;
    this.#end = end;
    ({ readable: this.#readable, writable: this.#writable } = meta);
  }

  /** Whether this end can receive. */
  get readable(): boolean {
    return this.#readable;
  }

  /** Whether this end can send. */
  get writable(): boolean {
    return this.#writable;
  }

  /** Whether `close()` was called on this end here. */
  get closed(): boolean {
    return this.#closed;
  }

  #call(op: string, args: unknown[], signal?: AbortSignal): Promise<unknown> {
    if (this.#closed) return Promise.reject(closedError(op));
    try {
      if (this.#state) {
        const state = this.#state;
        const end = this.#end;
        return serveLocally(
          (call) => state.handle(end, op, args, call),
          signal,
        );
      }
      return broker().request(this.#id!, op, args, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #check(can: boolean, action: string): void {
    if (!can) {
      throw new Error(
        `Cannot ${action}: this end of a one-way pipe is ${
          action === "send" ? "read-only" : "write-only"
        }`,
      );
    }
  }

  #send(entry: Entry): Promise<void> {
    try {
      this.#check(this.#writable, "send");
      if (this.#state || this.#closed) {
        return this.#call("send", [entry]) as Promise<void>;
      }
      if (this.#peerClosed) {
        throw new BrokenPipeError("Cannot send: the other end is closed");
      }
      // Sending never waits for the reader, as a pipe write into a buffer
      // (no async function here: a send is the hot path of a producer).
      broker().post(this.#id!, "send", [entry]);
      return broker().flushed(this.#id!);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends a value to the other end.
   *
   * @param value Anything structured clone copies.
   * @returns A promise that resolves once the value is on its way.
   * @throws {BrokenPipeError} If the other end is closed.
   */
  send(value: T): Promise<void> {
    return this.#send([false, value]);
  }

  /**
   * Sends bytes (all of `buffer`, or `size` bytes from `offset`).
   *
   * @param buffer The bytes.
   * @param offset Where to start in `buffer`.
   * @param size How many bytes to send.
   * @returns A promise that resolves once the bytes are on their way.
   * @throws {RangeError} If `offset` and `size` fall outside `buffer`.
   */
  sendBytes(buffer: Uint8Array, offset = 0, size?: number): Promise<void> {
    if (!(buffer instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(
          `Cannot send bytes: expected a Uint8Array, received ${
            describe(buffer)
          }`,
        ),
      );
    }
    const end = size === undefined ? buffer.length : offset + size;
    if (offset < 0 || end > buffer.length || end < offset) {
      return Promise.reject(
        new RangeError(
          `Cannot send bytes: offset ${offset} and size ${size} fall outside a buffer of ${buffer.length} bytes`,
        ),
      );
    }
    // Sent to another process, the bytes are serialized (copied) at once, so
    // a view is enough; kept here, they are copied.
    const bytes = this.#state
      ? buffer.slice(offset, end)
      : buffer.subarray(offset, end);
    return this.#send([true, bytes]);
  }

  /**
   * Receives the next value, waiting for one.
   *
   * @param options A timeout in milliseconds, or `{ timeout, signal }`.
   * @returns The value (bytes sent with `sendBytes` come as a Uint8Array).
   * @throws {EOFError} If the other end is closed and nothing is left.
   */
  async recv(options?: number | RecvOptions): Promise<T> {
    const [, value] = await this.#recv(options, "receive");
    return value as T;
  }

  /**
   * Receives the next message, which must be bytes.
   *
   * @param maxlength The longest message accepted.
   * @returns The bytes.
   * @throws {TypeError} If the message was sent with `send`, not bytes.
   * @throws {RangeError} If it is longer than `maxlength`.
   * @throws {EOFError} If the other end is closed and nothing is left.
   */
  async recvBytes(maxlength?: number): Promise<Uint8Array> {
    const [bytes, value] = await this.#recv(undefined, "receive bytes");
    if (!bytes) {
      throw new TypeError(
        `Cannot receive bytes: the message was a value sent with send(), received ${
          describe(value)
        }`,
      );
    }
    const data = value as Uint8Array;
    if (maxlength !== undefined && data.length > maxlength) {
      throw new RangeError(
        `Cannot receive bytes: the message has ${data.length} bytes, more than maxlength ${maxlength}`,
      );
    }
    return data;
  }

  async #recv(
    options: number | RecvOptions | undefined,
    action: string,
  ): Promise<Entry> {
    const { timeout, signal } = waitOptions(options, action);
    this.#check(this.#readable, action);
    signal?.throwIfAborted();
    return await this.#call("recv", [timeout], signal) as Entry;
  }

  /**
   * Whether there is something to receive, waiting up to `timeout` ms.
   * An end whose peer is closed polls `true`: `recv()` then throws.
   *
   * @param timeout How long to wait; `0` (the default) does not wait,
   * `Infinity` or `null` waits for ever.
   * @returns `true` when `recv()` would not wait.
   */
  async poll(timeout: number | null = 0): Promise<boolean> {
    const { timeout: wait } = waitOptions(timeout ?? undefined, "poll", "now");
    this.#check(this.#readable, "poll");
    return await this.#call("poll", [wait]) as boolean;
  }

  /** Closes this end: the other end's `recv()` then throws EOFError. */
  close(): void {
    if (this.#closed) return;
    if (this.#state) this.#call("close", []).catch(() => {});
    else {
      try {
        broker().post(this.#id!, "close", []);
      } catch {
        // The owner is gone: nothing to tell.
      }
    }
    this.#closed = true;
  }

  /**
   * Arrived here again (or back at its owner): the owner counted one more
   * in flight, which this takes. A handle closed here is open again, as a
   * new descriptor would be in Python.
   */
  [ARRIVED](): void {
    this.#closed = false;
    if (this.#state) this.#state.adopt(this.#end, broker().origin);
    else broker().post(this.#id!, "adopt", []);
  }

  /**
   * The child `origin` it was sent to has ended; if that child never took
   * it, the owner stops counting it as in flight.
   *
   * @param origin The child's runtime.
   */
  [UNSENT](origin: string): void {
    if (this.#state) this.#state.unsent(this.#end, origin);
    else {
      try {
        broker().post(this.#id!, "unsent", [], origin);
      } catch {
        // The owner is gone: nothing to tell.
      }
    }
  }

  /**
   * Receives until the other end is closed and nothing is left, for
   * `for await (const message of connection)`: the `EOFError` that
   * `recv()` would throw ends the loop instead.
   *
   * @returns The messages, in order.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    while (true) {
      try {
        yield await this.recv();
      } catch (error) {
        if (error instanceof EOFError) return;
        throw error;
      }
    }
  }

  /** Closes this end, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** The connection's form in transit to another process. */
  [toRemoteForm](): { kind: string; id: string; meta: unknown } {
    const state = this.#state;
    const end = this.#end;
    if (this.#closed) {
      throw new Error("Cannot send a closed connection to another process");
    }
    // In flight until it arrives: the end stays open meanwhile, even if
    // this runtime closes its own hold at once (Python's usual idiom).
    if (state) state.pending[end]++;
    else broker().post(this.#id!, "export", []);
    return broker().export(
      this,
      "Connection",
      () => ({
        handle: (op, args, call) => state!.handle(end, op, args, call),
        originsGone: (origins) => state!.originsGone(origins),
      }),
      { readable: this.#readable, writable: this.#writable },
    );
  }
}

/**
 * Makes a pair of connected ends (Python's `multiprocessing.Pipe`).
 *
 * @typeParam T The type of the values sent.
 * @param duplex Both ends send and receive (the default); when `false`,
 * the first end only receives and the second only sends.
 * @returns The two ends.
 * @throws {TypeError} If `duplex` is not a boolean.
 *
 * @example One-way pipe
 * ```ts
 * import { Pipe } from "@parallel/multiprocessing";
 * import { assertEquals } from "@std/assert";
 *
 * const [reader, writer] = Pipe<number>(false);
 * await writer.send(42);
 * assertEquals(await reader.recv(), 42);
 * ```
 */
export function Pipe<T = unknown>(
  duplex = true,
): [Connection<T>, Connection<T>] {
  checkBoolean("duplex", duplex);
  const state = new PipeState(broker().origin);
  return [
    new Connection<T>(state, 0, { readable: true, writable: duplex }),
    new Connection<T>(state, 1, { readable: duplex, writable: true }),
  ];
}

registerRemoteKind("Connection", (id, meta) => {
  reviving = { id, meta: meta as ConnectionMeta };
  try {
    return new Connection(null, 0, meta as ConnectionMeta);
  } finally {
    reviving = null;
  }
});
