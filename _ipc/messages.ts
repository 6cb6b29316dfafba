// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The messages runtimes exchange over a link, declared once: each kind, its
// fields, and the batch forms the link folds them into. A message that
// arrives is untrusted: the broker checks every field before it acts.

/** Asks the owner of an object to run an op: answered by a RESPONSE. */
export const REQUEST = 0;
/** The answer to a REQUEST; with `delivery` set, the caller ACKs it. */
export const RESPONSE = 1;
/** Runs an op that nobody answers. */
export const POST = 2;
/** The caller no longer waits: the owner answers at once. */
export const CANCEL = 3;
/** The child ends cleanly. */
export const BYE = 4;
/** Runtimes behind the link ended. */
export const GONE = 5;
/** A delivery arrived. */
export const ACK = 6;
/** A delivery never will: the owner takes it back. */
export const NACK = 7;
/** A process group behind the link started, or ended. */
export const GROUP = 8;
/** A run of flat messages as one: `[BATCH, ...frames or messages]`. */
export const BATCH = -1;
/**
 * Within a batch, posts to one object, of one op, from one origin, with the
 * id and strings once: `[POSTS, objectId, op, origin, argsOfEach]`.
 */
export const POSTS = -2;

/** An object's form in transit to another process or thread. */
export interface RemoteForm {
  kind: string;
  id: string;
  meta: unknown;
}

/** A REQUEST. */
export type RequestMessage = [
  kind: typeof REQUEST,
  requestId: number,
  objectId: string,
  op: string,
  args: unknown,
  origin: string,
  keepAlive: boolean,
];
/** A RESPONSE. */
export type ResponseMessage =
  | [kind: typeof RESPONSE, requestId: number, ok: boolean, value: unknown]
  | [
    kind: typeof RESPONSE,
    requestId: number,
    ok: boolean,
    value: unknown,
    delivery: 1,
  ];
/** A POST. */
export type PostMessage = [
  kind: typeof POST,
  objectId: string,
  op: string,
  args: unknown,
  origin: string,
];
/** A CANCEL. */
export type CancelMessage = [kind: typeof CANCEL, requestId: number];
/** A BYE. */
export type ByeMessage = [kind: typeof BYE, origin: string];
/** A GONE. */
export type GoneMessage = [
  kind: typeof GONE,
  origins: string[],
  graceful: boolean,
];
/** An ACK or a NACK. */
export type AckMessage = [kind: typeof ACK | typeof NACK, requestId: number];
/** A GROUP. */
export type GroupMessage = [kind: typeof GROUP, pgid: number, alive: boolean];
/** Posts folded within a batch. */
export type PostsMessage = [
  kind: typeof POSTS,
  objectId: string,
  op: string,
  origin: string,
  argsOfEach: unknown[],
];

/** Every message one runtime sends another. */
export type Message =
  | RequestMessage
  | ResponseMessage
  | PostMessage
  | CancelMessage
  | ByeMessage
  | GoneMessage
  | AckMessage
  | GroupMessage;

/** A run of messages sent as one (flat ones, or their frames). */
export type BatchMessage = [kind: typeof BATCH, ...items: unknown[]];

/** A message as it arrives: any array, checked field by field. */
export type Incoming = readonly unknown[];
