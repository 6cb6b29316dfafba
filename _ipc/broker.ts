// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The broker: servants for the objects this runtime owns, proxies for those
// it uses, requests and forwarding between links, and who may name what on
// each link. See ARCHITECTURE.md, "Shared objects across processes".

import type { Link } from "./link.ts";
import {
  ACK,
  BYE,
  CANCEL,
  GONE,
  GROUP,
  type Incoming,
  NACK,
  POST,
  type RemoteForm,
  REQUEST,
  RESPONSE,
} from "./messages.ts";
import { getIdent } from "../_runtime/ident.ts";
import { unrefSignals } from "../_util/wait_options.ts";
import { BrokenPipeError } from "../errors.ts";
import {
  type Codec,
  crossingCodec,
  decodeShared,
  hasUnknownKind,
  registerRemoteKind,
  remoteReviver,
} from "./crossing.ts";
import { kindsLoaded, loadKinds } from "./kinds.ts";

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

/**
 * What a servant returns for an answer that may not travel (a pool's batch
 * holding a value structured clone refuses): if it cannot be sent,
 * `instead` learns why and gives the answer to send in its place, so the
 * servant deals with the failure rather than the requester.
 */
export class WithFallback {
  /**
   * Wraps an answer.
   *
   * @param value The answer.
   * @param instead The answer to send if `value` cannot be.
   */
  constructor(
    readonly value: unknown,
    readonly instead: (error: unknown) => unknown,
  ) {}
}

export type { RemoteForm };

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

/** What this runtime knows of one of its links. */
interface LinkRecord {
  /**
   * The runtime at the other end, for a link to a child (whose every claim
   * is confined to itself and the runtimes behind it); null for the link to
   * this runtime's parent, which is trusted.
   */
  peer: string | null;
  /** The objects handed to the peer, by the id it names them with. */
  granted: Map<string, object>;
  /** The proxies built from the peer's forms, by the peer's id. */
  imported: Map<string, object>;
  /**
   * Told of the process groups started behind the link (see `_runtime/reaper.ts`),
   * for a child trusted with them; else their reports are dropped.
   */
  groups?: (pgid: number, alive: boolean) => void;
}

/** Where a proxy's object lives: the link towards it, and its id there. */
interface Route {
  link: Link;
  id: string;
}

let nextObject = 1;
export { registerRemoteKind };

/** The value a message carries to be decoded, if any. */
function carried(message: Incoming): unknown {
  if (!Array.isArray(message)) return undefined;
  switch (message[0]) {
    case REQUEST:
      return message[4];
    case RESPONSE:
    case POST:
      return message[3];
    default:
      return undefined;
  }
}

/** The broker of this runtime (one per process main thread and worker). */
export class Broker {
  /** How values cross this runtime's links (`crossing.ts`). */
  #codec: Codec = crossingCodec(this);
  #servants = new Map<string, Servant>();
  /** The local id of each object this runtime owns or holds a proxy for. */
  #ids = new WeakMap<object, string>();
  /** Where each proxy's object lives, by the proxy's local id. */
  #routes = new Map<string, Route>();
  #pending = new Map<number, Pending>();
  #serving = new Map<Link, Map<number, AbortController>>();
  /** Deliveries sent on each link and not acknowledged yet. */
  #unacknowledged = new Map<Link, Map<number, Delivery>>();
  #links = new Map<Link, LinkRecord>();
  /** The runtimes whose requests came in on each link. */
  #originsVia = new Map<Link, Set<string>>();
  /** The links each runtime's requests were forwarded up to. */
  #forwardedTo = new Map<string, Set<Link>>();
  #nextRequest = 1;
  #waits = 0;
  /** Messages waiting for their kinds' modules, with the closes among them. */
  #held: [Link, Incoming | null][] | null = null;
  #kindsLoading: Promise<void> = Promise.resolve();
  #upstream: Link | null = null;
  /** Opens the link to the parent on first use; set by the child runtimes. */
  openUpstream: (() => Link) | null = null;
  /** This runtime, as `pid:ident` (read late: a worker adopts its ident). */
  get origin(): string {
    return `${Deno.pid}:${getIdent()}`;
  }

  /**
   * Loads the modules of the kinds `value` holds, as it arrived, if any is
   * unknown here: what {@linkcode fromParent} needs first.
   */
  async ready(value: unknown): Promise<void> {
    if (!kindsLoaded() && hasUnknownKind(value)) await loadKinds();
  }

  /**
   * Rebuilds a value that came from this runtime's parent (a start frame's
   * payload), once {@linkcode ready}: its remote forms become proxies over
   * the upstream link.
   */
  fromParent(value: unknown): unknown {
    return decodeShared(value, this, () => this.upstream());
  }

  /**
   * Rebuilds a value that arrived beside `link` rather than in a message on
   * it (a thread's uncaught error): its remote forms reach over `link`.
   */
  fromLink(value: unknown, link: Link): unknown {
    return decodeShared(value, this, () => link);
  }

  /** The link towards this runtime's parent. */
  upstream(): Link {
    if (this.#upstream && !this.#upstream.closed) return this.#upstream;
    if (!this.openUpstream) {
      throw new BrokenPipeError(
        "Cannot reach a parent: this is the main process",
      );
    }
    this.#upstream = this.attach(this.openUpstream(), null);
    return this.#upstream;
  }

  /**
   * Starts serving a link: requests, responses and its closing.
   *
   * @param link The link.
   * @param peer The runtime (`pid:ident`) of the child at its other end, or
   * null for the link to this runtime's parent.
   */
  attach(link: Link, peer: string | null): Link {
    this.#links.set(link, { peer, granted: new Map(), imported: new Map() });
    if (this.#waits > 0) link.hold();
    link.onmessage = (message) => {
      try {
        this.#receive(link, message);
      } catch {
        // A malformed message from a peer is dropped; it must not end the
        // link's reader.
      }
    };
    link.onclose = () => this.#closed(link);
    return link;
  }

  /**
   * Hears of the process groups started behind a link to a child: give it
   * only a child that may signal any process itself (full `run`), since
   * what it reports is killed with it.
   */
  watchGroups(
    link: Link,
    groups: (pgid: number, alive: boolean) => void,
  ): void {
    const record = this.#links.get(link);
    if (record && record.peer !== null) record.groups = groups;
  }

  /**
   * Tells this runtime's parent, if it has one, that a process group behind
   * it started or ended, at once (it may be about to run a long loop).
   */
  reportGroup(pgid: number, alive: boolean): void {
    if (!this.openUpstream) return;
    try {
      const link = this.upstream();
      link.send([GROUP, pgid, alive]);
      link.flushNow();
    } catch {
      // The parent is gone: nothing to tell.
    }
  }

  /**
   * Keeps the event loop alive while the owner waits for what only another
   * process or thread can provide (an item, a release).
   */
  async whileWaiting<T>(waiting: Promise<T>): Promise<T> {
    if (this.#waits++ === 0) {
      for (const link of this.#links.keys()) link.hold();
    }
    try {
      return await waiting;
    } finally {
      if (--this.#waits === 0) {
        for (const link of this.#links.keys()) link.release();
      }
    }
  }

  /**
   * The remote form of an object this runtime owns or holds a proxy for,
   * under its local id. Before it goes on a link it passes through
   * {@linkcode Broker.handOver}.
   */
  export(
    object: object,
    kind: string,
    servant: () => Servant,
    meta: unknown,
  ): RemoteForm {
    let id = this.#ids.get(object);
    if (id === undefined) {
      id = `${this.origin}:${nextObject++}`;
      this.#ids.set(object, id);
      this.#servants.set(id, servant());
    }
    return { kind, id, meta };
  }

  /** Records that `object` is the proxy with local `id`. */
  adopt(object: object, id: string): void {
    this.#ids.set(object, id);
  }

  /**
   * The form to write on `link` for `form`: a proxy going back towards its
   * object's owner takes the id the owner gave it; anything else is granted
   * to the link's peer under its local id, which the peer may then name.
   */
  handOver(link: Link, object: object, form: RemoteForm): RemoteForm {
    const route = this.#routes.get(form.id);
    if (route?.link === link) return { ...form, id: route.id };
    this.#links.get(link)?.granted.set(form.id, object);
    return form;
  }

  /**
   * The object for a remote form that arrived on `link`: what this runtime
   * handed over that link under the form's id, or the proxy built for it
   * before, or a new proxy whose requests go back over the link.
   */
  revive(form: RemoteForm, link: Link | (() => Link)): object {
    if (typeof link === "function") link = link();
    const record = this.#links.get(link);
    const known = (record?.granted.get(form.id) ??
      record?.imported.get(form.id)) as { [ARRIVED]?(): void } | undefined;
    if (known) {
      // Sent here again (or back to its owner): it may count that (a pipe
      // end does).
      known[ARRIVED]?.();
      return known;
    }
    const revive = remoteReviver(form.kind);
    if (!revive) {
      throw new TypeError(`Cannot rebuild a shared ${form.kind}: unknown kind`);
    }
    const id = `${this.origin}:${nextObject++}`;
    this.#routes.set(id, { link, id: form.id });
    const proxy = revive(id, form.meta, link);
    record?.imported.set(form.id, proxy);
    this.#ids.set(proxy, id);
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
      const route = this.#route(id);
      link = route.link;
      this.#forwarding(origin, link);
      link.send([
        REQUEST,
        requestId,
        route.id,
        op,
        this.#codec.pack(args, link),
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
    // A forwarded request may come with its signal aborted already: its
    // CANCEL arrived in the same batch. It goes on at once, or the owner
    // would never answer.
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
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
    const { link, id: remote } = this.#route(id);
    this.#forwarding(origin, link);
    link.send([POST, remote, op, this.#codec.pack(args, link), origin]);
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
      return this.#route(id).link.drained();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Writes out now what every link has batched (see `Link.flushNow`). */
  flushNowAll(): void {
    for (const link of this.#links.keys()) link.flushNow();
  }

  /** Writes out now what was sent towards `id` (see `Link.flushNow`). */
  flushNow(id: string): void {
    if (!this.#servants.has(id)) this.#routes.get(id)?.link.flushNow();
  }

  /** Resolves when every link has written out what it was sent. */
  async flushAll(): Promise<void> {
    await Promise.all([...this.#links.keys()].map((link) => link.flushed()));
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

  #route(id: string): Route {
    const route = this.#routes.get(id);
    if (!route || route.link.closed) {
      throw new BrokenPipeError(
        `Cannot reach the owner of shared object ${id}: its process or thread is gone`,
      );
    }
    return route;
  }

  /**
   * Takes a message from a link, in order: one that holds an object of a
   * kind whose module is not loaded yet waits, with every message after it
   * from any link, until the kinds are loaded (`kinds.ts`).
   */
  #receive(link: Link, message: Incoming): void {
    if (this.#held !== null) {
      this.#held.push([link, message]);
      return;
    }
    if (!kindsLoaded() && hasUnknownKind(carried(message))) {
      const held: [Link, Incoming | null][] = [[link, message]];
      this.#held = held;
      this.#kindsLoading = loadKinds().then(() => {
        this.#held = null;
        for (const [from, each] of held) {
          try {
            if (each === null) this.#closed(from);
            else this.#dispatch(from, each);
          } catch {
            // Dropped, as a malformed message is (see attach()).
          }
        }
      });
      return;
    }
    this.#dispatch(link, message);
  }

  /**
   * Resolves once `link` is done (`Link.finish()`) and what it delivered
   * has been handled, including messages that waited for their kinds'
   * modules.
   */
  async finished(link: Link): Promise<void> {
    await link.finish();
    if (this.#held !== null) await this.#kindsLoading;
  }

  #dispatch(link: Link, message: Incoming): void {
    const record = this.#links.get(link);
    // Whatever a peer sends, nothing it names reaches beyond its link, and
    // nothing malformed reaches a servant.
    if (!record || !Array.isArray(message)) return;
    switch (message[0]) {
      case REQUEST:
        return this.#onRequest(link, record, message);
      case RESPONSE:
        return this.#onResponse(link, message);
      case POST:
        return this.#onPost(link, record, message);
      case CANCEL:
        this.#serving.get(link)?.get(message[1] as number)?.abort();
        return;
      case BYE:
        return this.#onBye(link, record, message);
      case ACK:
      case NACK:
        return this.#onAck(link, message);
      case GROUP:
        return this.#onGroup(record, message);
      case GONE:
        return this.#onGone(record, message);
    }
  }

  /** A REQUEST: serve it, for the runtime it speaks for. */
  #onRequest(link: Link, record: LinkRecord, message: Incoming): void {
    const [, requestId, id, op, args, claimed, keepAlive] = message;
    const origin = this.#speaksFor(record, claimed);
    if (
      typeof requestId !== "number" || typeof id !== "string" ||
      typeof op !== "string" || origin === null
    ) return;
    this.#seen(link, origin);
    this.#serve(
      link,
      requestId,
      id,
      op,
      args as unknown[],
      origin,
      keepAlive !== false,
    );
  }

  /** A RESPONSE: settle the request it answers, on its own link only. */
  #onResponse(link: Link, message: Incoming): void {
    const [, requestId, ok, value] = message as [
      number,
      number,
      boolean,
      unknown,
    ];
    const pending = this.#pending.get(requestId);
    // Only the link a request went out on answers it.
    if (pending && pending.link !== link) return;
    if (message[4]) {
      // A delivery: acknowledge it, or, for a runtime behind this one,
      // once that runtime acknowledges it (it may die first).
      if (!pending?.forwarded) link.send([ACK, requestId]);
      else {
        const value = this.#codec.unpack(message[3], link);
        this.#pending.delete(requestId);
        pending.resolve(
          new Delivery(
            value,
            () => link.send([NACK, requestId]),
            () => link.send([ACK, requestId]),
          ),
        );
        return;
      }
    }
    if (!pending) return;
    this.#pending.delete(requestId);
    let decoded: unknown;
    try {
      decoded = this.#codec.unpack(value, link);
    } catch (error) {
      pending.reject(error);
      return;
    }
    if (ok) pending.resolve(decoded);
    // Cancelled: the caller's own reason, not the owner's AbortError.
    else if (pending.signal?.aborted) pending.reject(pending.signal.reason);
    else pending.reject(decoded);
  }

  /** A POST: run it, if its object was handed over this link. */
  #onPost(link: Link, record: LinkRecord, message: Incoming): void {
    const [, id, op, args, claimed] = message;
    const origin = this.#speaksFor(record, claimed);
    if (typeof id !== "string" || typeof op !== "string" || !origin) return;
    // Posts have no one to answer: one naming an object this link was
    // not handed is dropped.
    if (!record.granted.has(id)) return;
    this.#seen(link, origin);
    try {
      const values = this.#codec.unpack(args, link) as unknown[];
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
  }

  /** A BYE: the child says goodbye, for itself only. */
  #onBye(link: Link, record: LinkRecord, message: Incoming): void {
    const origin = this.#speaksFor(record, message[1]);
    if (origin !== null && origin === (record.peer ?? origin)) {
      link.markBye(origin);
    }
  }

  /** An ACK or a NACK: a delivery arrived, or never will. */
  #onAck(link: Link, message: Incoming): void {
    const waiting = this.#unacknowledged.get(link);
    const delivery = waiting?.get(message[1] as number);
    if (!delivery) return;
    waiting!.delete(message[1] as number);
    if (message[0] === ACK) delivery.onArrived();
    else delivery.onLost();
  }

  /** A GROUP: a process group behind the link started or ended. */
  #onGroup(record: LinkRecord, message: Incoming): void {
    const [, pgid, alive] = message;
    if (Number.isInteger(pgid) && (pgid as number) > 1) {
      record.groups?.(pgid as number, alive === true);
    }
  }

  /** A GONE: runtimes behind the link ended; a child reports its own only. */
  #onGone(record: LinkRecord, message: Incoming): void {
    const claimed = Array.isArray(message[1]) ? message[1] : [];
    const origins = new Set<string>();
    for (const each of claimed) {
      const origin = this.#speaksFor(record, each);
      if (origin !== null) origins.add(origin);
    }
    if (origins.size > 0) this.#gone(origins, message[2] === true);
  }

  /**
   * The runtime a message on a link speaks for, as this runtime names it:
   * from the parent, the origin it names; from a child, the child itself,
   * or a runtime behind it (`peer/origin`), whatever origin it names. Null
   * for a malformed one.
   */
  #speaksFor(record: LinkRecord, claimed: unknown): string | null {
    if (typeof claimed !== "string" || claimed === "") return null;
    if (record.peer === null || claimed === record.peer) return claimed;
    return `${record.peer}/${claimed}`;
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
      if (value instanceof WithFallback) {
        try {
          link.send([
            RESPONSE,
            requestId,
            ok,
            this.#codec.pack(value.value, link),
          ]);
          return;
        } catch (error) {
          value = value.instead(error);
        }
      }
      try {
        if (value instanceof Delivery) {
          link.send([
            RESPONSE,
            requestId,
            ok,
            this.#codec.pack(value.value, link),
            1,
          ]);
          let waiting = this.#unacknowledged.get(link);
          if (!waiting) this.#unacknowledged.set(link, waiting = new Map());
          waiting.set(requestId, value);
          return;
        }
        link.send([RESPONSE, requestId, ok, this.#codec.pack(value, link)]);
      } catch (error) {
        // The value cannot travel: the caller gets why instead, and an
        // item handed over goes back where it was.
        if (value instanceof Delivery) value.onLost();
        link.send([RESPONSE, requestId, false, this.#codec.pack(error, link)]);
      }
    };
    Promise.resolve().then(() => {
      // A link names only what was handed over it.
      if (!this.#links.get(link)?.granted.has(id)) {
        throw new Deno.errors.NotCapable(
          `Cannot reach shared object ${id}: it was not handed to the ${
            link.sameProcess ? "thread" : "process"
          } that asks`,
        );
      }
      const args = this.#codec.unpack(packed, link) as unknown[];
      const servant = this.#servants.get(id);
      if (servant) {
        return servant.handle(op, args, {
          link,
          origin,
          signal: controller.signal,
        });
      }
      return this.request(id, op, args, controller.signal, origin, keepAlive);
    }).then(
      (value) => answer(true, value),
      (error) => answer(false, error),
    );
  }

  #closed(link: Link): void {
    // Messages that came before the close are handled first.
    if (this.#held !== null) {
      this.#held.push([link, null]);
      return;
    }
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
