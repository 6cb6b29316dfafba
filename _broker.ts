// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Objects that live in one process (or thread) and are used from others.
// See ARCHITECTURE.md, "Shared objects across processes".
//
// The runtime that creates a queue, a pipe or a lock owns it: a *servant*
// there holds its state. Sent to a child, it crosses as a *remote form*
// (kind, id, a little metadata); the child builds a *proxy* whose methods
// are requests over the link towards the owner. A runtime that holds a
// proxy and passes it on to its own child forwards that child's requests
// upstream, so any mix of parents, children and threads reaches the owner.
//
// Messages on a link:
//   [REQUEST, requestId, objectId, op, args, origin, keepAlive]
//   [RESPONSE, requestId, ok, value, ack?]    (ack: a Delivery, to ACK)
//   [POST, objectId, op, args, origin]        (no response)
//   [CANCEL, requestId]                       (the owner answers the request)
//   [BYE, origin]                             (the child ends cleanly)
//   [GONE, origins, graceful]                 (runtimes behind a link ended)
//   [ACK, requestId]                          (a Delivery arrived)
//   [NACK, requestId]                         (it never will: take it back)

import type { Link, Message } from "./_channel.ts";
import { getIdent } from "./_ident.ts";
import { unrefSignals } from "./_sync_internals.ts";

const REQUEST = 0;
const RESPONSE = 1;
const POST = 2;
const CANCEL = 3;
const BYE = 4;
const GONE = 5;
const ACK = 6;
const NACK = 7;

/**
 * Thrown when the link to the process or thread that owns a shared object
 * is gone: the owner exited, or this side was closed.
 *
 * @example Usage
 * ```ts
 * import { BrokenPipeError } from "@parallel/multiprocessing";
 *
 * const error = new BrokenPipeError("Cannot reach the owner of Queue 1");
 * console.log(error.name); // "BrokenPipeError"
 * ```
 */
export class BrokenPipeError extends Error {
  /**
   * Creates the error.
   *
   * @param message What could not be reached.
   * @param options The underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BrokenPipeError";
  }
}

/** Who made a request, as a servant sees it. */
export interface Call {
  /** The link the request came in on; null when made in the owner itself. */
  link: Link | null;
  /** The runtime the request started in (`pid:ident`), kept by forwarders. */
  origin: string;
  /** Aborted when the caller cancels or its link closes. */
  signal: AbortSignal;
}

/** The owner's side of a shared object. */
export interface Servant {
  /** Runs one operation; the value or error goes back to the caller. */
  handle(op: string, args: unknown[], call: Call): unknown;
  /**
   * Called when runtimes (`origin`s) have ended: `graceful` when each ended
   * its run cleanly, else it died (killed, crashed) or its link broke.
   */
  originsGone?(origins: Set<string>, graceful: boolean): void;
}

/**
 * What a servant returns for a value it hands over (a queue item): the
 * requester acknowledges it, and if the link closes first (the requester
 * died), `onLost` gets it back, so nothing is lost with a dead consumer.
 */
export class Delivery {
  /**
   * Wraps a value.
   *
   * @param value What is handed over.
   * @param onLost Takes it back if it never arrives.
   */
  constructor(
    readonly value: unknown,
    readonly onLost: () => void,
    readonly onArrived: () => void = () => {},
  ) {}
}

/** A shared object's form in transit to another process or thread. */
export interface RemoteForm {
  kind: string;
  id: string;
  meta: unknown;
}

type Revive = (id: string, meta: unknown, link: Link) => object;

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  link: Link;
  signal: AbortSignal | undefined;
  /** Made for a runtime behind this one: deliveries are passed on. */
  forwarded: boolean;
}

/** A proxy's method called each time its object arrives here again. */
export const ARRIVED: unique symbol = Symbol.for(
  "@parallel/multiprocessing/arrived",
) as never;

/**
 * A method of objects that count where they were sent (pipe ends): the
 * child `origin` they were sent to has ended; if it never took them, stop
 * counting them as in flight.
 */
export const UNSENT: unique symbol = Symbol.for(
  "@parallel/multiprocessing/unsent",
) as never;

/** The signal of a call that cannot be cancelled. */
const NEVER = new AbortController().signal;

let nextObject = 1;
const revivers = new Map<string, Revive>();

/** Registers how to build a proxy for a kind of shared object. */
export function registerRemote(kind: string, revive: Revive): void {
  revivers.set(kind, revive);
}

/** Packs a value for a link; set by `_shared.ts` to avoid an import cycle. */
export const codec: {
  pack(value: unknown, link: Link): unknown;
  unpack(value: unknown, link: Link): unknown;
} = {
  pack: (value) => value,
  unpack: (value) => value,
};

/** The broker of this runtime (one per process main thread and worker). */
export class Broker {
  #servants = new Map<string, Servant>();
  #exported = new WeakMap<object, string>();
  #routes = new Map<string, Link>();
  #proxies = new Map<string, object>();
  #pending = new Map<number, Pending>();
  #serving = new Map<Link, Map<number, AbortController>>();
  /** Deliveries sent on each link and not acknowledged yet. */
  #unacknowledged = new Map<Link, Map<number, Delivery>>();
  #links = new Set<Link>();
  /** The runtimes whose requests came in on each link. */
  #originsVia = new Map<Link, Set<string>>();
  /** The links each runtime's requests were forwarded up to. */
  #forwardedTo = new Map<string, Set<Link>>();
  #nextRequest = 1;
  #waits = 0;
  #upstream: Link | null = null;
  /** Opens the link to the parent on first use; set by the child runtimes. */
  openUpstream: (() => Link) | null = null;
  /** This runtime, as `pid:ident` (read late: a worker adopts its ident). */
  get origin(): string {
    return `${Deno.pid}:${getIdent()}`;
  }

  /** The link towards this runtime's parent. */
  upstream(): Link {
    if (this.#upstream && !this.#upstream.closed) return this.#upstream;
    if (!this.openUpstream) {
      throw new BrokenPipeError(
        "Cannot reach a parent: this is the main process",
      );
    }
    this.#upstream = this.attach(this.openUpstream());
    return this.#upstream;
  }

  /** Starts serving a link: requests, responses and its closing. */
  attach(link: Link): Link {
    this.#links.add(link);
    if (this.#waits > 0) link.hold();
    link.onmessage = (message) => this.#receive(link, message);
    link.onclose = () => this.#closed(link);
    return link;
  }

  /**
   * Keeps the event loop alive while the owner waits for what only another
   * process or thread can provide (an item, a release).
   */
  async whileWaiting<T>(waiting: Promise<T>): Promise<T> {
    if (this.#waits++ === 0) { for (const link of this.#links) link.hold(); }
    try {
      return await waiting;
    } finally {
      if (--this.#waits === 0) {
        for (const link of this.#links) link.release();
      }
    }
  }

  /** The remote form of an object this runtime owns or holds a proxy for. */
  export(
    object: object,
    kind: string,
    servant: () => Servant,
    meta: unknown,
  ): RemoteForm {
    let id = this.#exported.get(object);
    if (id === undefined) {
      id = `${this.origin}:${nextObject++}`;
      this.#exported.set(object, id);
      this.#servants.set(id, servant());
      this.#proxies.set(id, object);
    }
    return { kind, id, meta };
  }

  /** Records that `object` is the proxy for `id` (so it re-exports as is). */
  adopt(object: object, id: string): void {
    this.#exported.set(object, id);
  }

  /** The object for a remote form that arrived on `link`: a proxy, or ours. */
  revive(form: RemoteForm, link: Link | (() => Link)): object {
    const known = this.#proxies.get(form.id) as
      | { [ARRIVED]?(): void }
      | undefined;
    if (known) {
      // Sent here again (or back to its owner): it may count that (a pipe
      // end does).
      known[ARRIVED]?.();
      return known;
    }
    if (typeof link === "function") link = link();
    const revive = revivers.get(form.kind);
    if (!revive) {
      throw new TypeError(`Cannot rebuild a shared ${form.kind}: unknown kind`);
    }
    if (!this.#routes.has(form.id)) this.#routes.set(form.id, link);
    const proxy = revive(form.id, form.meta, link);
    this.#proxies.set(form.id, proxy);
    this.#exported.set(proxy, form.id);
    return proxy;
  }

  /**
   * Runs `op` on the object with `id`, wherever it lives. With a signal,
   * aborting asks the owner to cancel; the owner's answer settles the
   * promise, so an item taken just before the cancel is not lost.
   */
  request(
    id: string,
    op: string,
    args: unknown[],
    signal?: AbortSignal,
    origin: string = this.origin,
    keepAlive = true,
  ): Promise<unknown> {
    const servant = this.#servants.get(id);
    if (servant) {
      const running = Promise.resolve().then(() =>
        servant.handle(op, args, {
          link: null,
          origin,
          signal: signal ?? new AbortController().signal,
        })
      ).then((value) => value instanceof Delivery ? value.value : value);
      return keepAlive ? this.whileWaiting(running) : running;
    }
    let link: Link;
    const requestId = this.#nextRequest++;
    try {
      link = this.#route(id);
      this.#forwarding(origin, link);
      link.send([
        REQUEST,
        requestId,
        id,
        op,
        codec.pack(args, link),
        origin,
        keepAlive,
      ]);
    } catch (error) {
      return Promise.reject(error);
    }
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#pending.set(requestId, {
      resolve,
      reject,
      link,
      signal,
      forwarded: origin !== this.origin,
    });
    if (keepAlive) link.hold();
    const onAbort = () => link.send([CANCEL, requestId]);
    signal?.addEventListener("abort", onAbort, { once: true });
    return promise.finally(() => {
      signal?.removeEventListener("abort", onAbort);
      if (keepAlive) link.release();
    });
  }

  /** Runs `op` on the object with `id` without waiting for an answer. */
  post(
    id: string,
    op: string,
    args: unknown[],
    origin: string = this.origin,
  ): void {
    const servant = this.#servants.get(id);
    if (servant) {
      servant.handle(op, args, {
        link: null,
        origin,
        signal: NEVER,
      });
      return;
    }
    const link = this.#route(id);
    this.#forwarding(origin, link);
    link.send([POST, id, op, codec.pack(args, link), origin]);
  }

  /** Notes that a runtime behind us reaches an owner over `link`. */
  #forwarding(origin: string, link: Link): void {
    if (origin === this.origin) return;
    let links = this.#forwardedTo.get(origin);
    if (!links) this.#forwardedTo.set(origin, links = new Set());
    links.add(link);
  }

  /** Resolves when what was posted towards `id` has been written out. */
  flushed(id: string): Promise<void> {
    if (this.#servants.has(id)) return Promise.resolve();
    try {
      return this.#route(id).drained();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Writes out now what every link has batched (see `Link.flushNow`). */
  flushNowAll(): void {
    for (const link of this.#links) link.flushNow();
  }

  /** Writes out now what was sent towards `id` (see `Link.flushNow`). */
  flushNow(id: string): void {
    if (!this.#servants.has(id)) this.#routes.get(id)?.flushNow();
  }

  /** Resolves when every link has written out what it was sent. */
  async flushAll(): Promise<void> {
    await Promise.all([...this.#links].map((link) => link.flushed()));
  }

  /**
   * Tells the parent this runtime ends cleanly (locks it still holds stay
   * held, as in Python), then flushes. Called by the child runtimes last.
   */
  async goodbye(): Promise<void> {
    if (this.#upstream && !this.#upstream.closed) {
      this.#upstream.send([BYE, this.origin]);
    }
    await this.flushAll();
  }

  #route(id: string): Link {
    const link = this.#routes.get(id);
    if (!link || link.closed) {
      throw new BrokenPipeError(
        `Cannot reach the owner of shared object ${id}: its process or thread is gone`,
      );
    }
    return link;
  }

  #receive(link: Link, message: Message): void {
    switch (message[0]) {
      case REQUEST: {
        const [, requestId, id, op, args, origin, keepAlive] = message as [
          number,
          number,
          string,
          string,
          unknown[],
          string,
          boolean,
        ];
        this.#seen(link, origin);
        this.#serve(link, requestId, id, op, args, origin, keepAlive !== false);
        break;
      }
      case RESPONSE: {
        const [, requestId, ok, value] = message as [
          number,
          number,
          boolean,
          unknown,
        ];
        const pending = this.#pending.get(requestId);
        if (message[4]) {
          // A delivery: acknowledge it, or, for a runtime behind this one,
          // once that runtime acknowledges it (it may die first).
          if (!pending?.forwarded) link.send([ACK, requestId]);
          else {
            const value = codec.unpack(message[3], link);
            this.#pending.delete(requestId);
            pending.resolve(
              new Delivery(
                value,
                () => link.send([NACK, requestId]),
                () => link.send([ACK, requestId]),
              ),
            );
            break;
          }
        }
        if (!pending) break;
        this.#pending.delete(requestId);
        let decoded: unknown;
        try {
          decoded = codec.unpack(value, link);
        } catch (error) {
          pending.reject(error);
          break;
        }
        if (ok) pending.resolve(decoded);
        // Cancelled: the caller's own reason, not the owner's AbortError.
        else if (pending.signal?.aborted) pending.reject(pending.signal.reason);
        else pending.reject(decoded);
        break;
      }
      case POST: {
        const [, id, op, args, origin] = message as [
          number,
          string,
          string,
          unknown[],
          string,
        ];
        this.#seen(link, origin);
        try {
          const values = codec.unpack(args, link) as unknown[];
          if (this.#servants.has(id)) {
            this.#servants.get(id)!.handle(op, values, {
              link,
              origin,
              signal: NEVER,
            });
          } else {
            this.post(id, op, values, origin);
          }
        } catch {
          // A post has no one to answer; the owner is gone or the op failed.
        }
        break;
      }
      case CANCEL:
        this.#serving.get(link)?.get(message[1] as number)?.abort();
        break;
      case BYE:
        link.markBye(message[1] as string);
        break;
      case ACK:
      case NACK: {
        const waiting = this.#unacknowledged.get(link);
        const delivery = waiting?.get(message[1] as number);
        if (!delivery) break;
        waiting!.delete(message[1] as number);
        if (message[0] === ACK) delivery.onArrived();
        else delivery.onLost();
        break;
      }
      case GONE:
        this.#gone(new Set(message[1] as string[]), message[2] as boolean);
        break;
    }
  }

  #seen(link: Link, origin: string): void {
    let origins = this.#originsVia.get(link);
    if (!origins) this.#originsVia.set(link, origins = new Set());
    origins.add(origin);
  }

  /**
   * Runtimes have ended: servants here forget what they held, and owners
   * further up that served them through this runtime are told in turn.
   */
  #gone(origins: Set<string>, graceful: boolean): void {
    for (const servant of this.#servants.values()) {
      try {
        servant.originsGone?.(origins, graceful);
      } catch {
        // One servant's failure must not keep the others from cleaning up.
      }
    }
    const tell = new Map<Link, string[]>();
    for (const origin of origins) {
      for (const up of this.#forwardedTo.get(origin) ?? []) {
        if (!tell.has(up)) tell.set(up, []);
        tell.get(up)!.push(origin);
      }
      this.#forwardedTo.delete(origin);
    }
    for (const [up, list] of tell) {
      if (!up.closed) up.send([GONE, list, graceful]);
    }
  }

  #serve(
    link: Link,
    requestId: number,
    id: string,
    op: string,
    packed: unknown[],
    origin: string,
    keepAlive: boolean,
  ): void {
    const controller = new AbortController();
    // Serving another process keeps nothing alive here by itself.
    unrefSignals.add(controller.signal);
    let serving = this.#serving.get(link);
    if (!serving) this.#serving.set(link, serving = new Map());
    serving.set(requestId, controller);
    const answer = (ok: boolean, value: unknown) => {
      serving.delete(requestId);
      if (link.closed) {
        if (value instanceof Delivery) value.onLost();
        return;
      }
      try {
        if (value instanceof Delivery) {
          link.send([
            RESPONSE,
            requestId,
            ok,
            codec.pack(value.value, link),
            1,
          ]);
          let waiting = this.#unacknowledged.get(link);
          if (!waiting) this.#unacknowledged.set(link, waiting = new Map());
          waiting.set(requestId, value);
          return;
        }
        link.send([RESPONSE, requestId, ok, codec.pack(value, link)]);
      } catch (error) {
        // The value cannot travel: the caller gets why instead.
        link.send([RESPONSE, requestId, false, codec.pack(error, link)]);
      }
    };
    Promise.resolve().then(() => {
      const args = codec.unpack(packed, link) as unknown[];
      const servant = this.#servants.get(id);
      if (servant) {
        return servant.handle(op, args, {
          link,
          origin,
          signal: controller.signal,
        });
      }
      if (!this.#routes.has(id)) {
        throw new BrokenPipeError(
          `Cannot find shared object ${id}: it is not known here`,
        );
      }
      return this.request(id, op, args, controller.signal, origin, keepAlive);
    }).then(
      (value) => answer(true, value),
      (error) => answer(false, error),
    );
  }

  #closed(link: Link): void {
    this.#links.delete(link);
    if (this.#waits > 0) link.release();
    if (this.#upstream === link) this.#upstream = null;
    for (const [requestId, pending] of this.#pending) {
      if (pending.link !== link) continue;
      this.#pending.delete(requestId);
      pending.reject(
        new BrokenPipeError(
          "Cannot finish the request: the process or thread that owns the object is gone",
        ),
      );
    }
    const serving = this.#serving.get(link);
    this.#serving.delete(link);
    for (const controller of serving?.values() ?? []) controller.abort();
    // Handed over but never acknowledged: back to their owners.
    const lost = this.#unacknowledged.get(link);
    this.#unacknowledged.delete(link);
    for (const delivery of lost?.values() ?? []) delivery.onLost();
    // Only the runtime that said goodbye ended cleanly; any other that
    // reached us over this link and was not reported gone, died with it.
    const origins = this.#originsVia.get(link) ?? new Set();
    this.#originsVia.delete(link);
    const clean = link.graceful;
    if (clean && origins.has(clean)) {
      origins.delete(clean);
      this.#gone(new Set([clean]), true);
    }
    this.#gone(origins, false);
  }
}

/**
 * Runs an operation on an object this runtime owns, for this runtime:
 * synchronously, so an answer at hand costs no wait; only a wait (an empty
 * queue) keeps the links alive meanwhile.
 */
export function serveLocally(
  run: (call: Call) => unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  const here = broker();
  let result: unknown;
  try {
    result = run({ link: null, origin: here.origin, signal: signal ?? NEVER });
  } catch (error) {
    return Promise.reject(error);
  }
  return result instanceof Promise
    ? here.whileWaiting(result)
    : Promise.resolve(result);
}

const KEY = Symbol.for("@parallel/multiprocessing/broker");

/** This runtime's broker. */
export function broker(): Broker {
  const g = globalThis as unknown as Record<symbol, Broker | undefined>;
  return g[KEY] ??= new Broker();
}
