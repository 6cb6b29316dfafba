// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// What the primitives' proxies in other processes share: the mirror of an
// owner's state, copies of values refreshed at sync points, remote acquire
// and release, and the hooks a servant needs. See ARCHITECTURE.md,
// "Synchronisation across processes".

import {
  broker,
  type Call,
  type RemoteForm,
  type Servant,
} from "../_ipc/broker.ts";
import { toMemoryForm } from "../_ipc/crossing.ts";
import { type AcquireOptions, parseWait } from "./_wait.ts";

/** Operations a servant needs beyond the public API. */
export interface RemoteHooks {
  /** Lock: how many times it has been acquired. */
  generation?(): number;
  /** Releases a lock whose holder died, and marks it abandoned. */
  forceRelease?(ident?: number): void;
  /** RLock: acquires as the given ident (one per remote holder). */
  acquireAs?(
    ident: number,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    blocking: boolean,
  ): Promise<boolean>;
  /** RLock: releases as the given ident. */
  releaseAs?(ident: number): void;
  /** Resolves when the watched state is no longer `known`. */
  changed?(known: number, signal: AbortSignal): Promise<number>;
  /** The watched state now. */
  snapshot?(): number;
}

/** The hooks of each object that has them. */
export const remoteHooks: WeakMap<object, RemoteHooks> = new WeakMap();

// ---------------------------------------------------------------------------
// The owner's side

export interface AcquireArgs {
  timeout: number | undefined;
  blocking: boolean;
}

export function acquireOptions(args: unknown[], call: Call): AcquireOptions {
  const { timeout, blocking } = args[0] as AcquireArgs;
  return blocking ? { timeout, signal: call.signal } : { blocking: false };
}

/** Ops every watched object serves: the mirror's long poll. */
export function watch(
  object: object,
  op: string,
  args: unknown[],
  call: Call,
): unknown {
  const hooks = remoteHooks.get(object)!;
  if (op === "watch") return hooks.changed!(args[0] as number, call.signal);
  throw new TypeError(`Cannot run ${op} on a shared object: unknown operation`);
}

/** Exports `object` through this runtime's broker: its remote form. */
export function exportAs(
  kind: string,
  object: object,
  servant: () => Servant,
  meta: unknown = null,
): RemoteForm {
  return broker().export(object, kind, servant, meta);
}

export function mirrorMeta(object: object): number {
  return remoteHooks.get(object)?.snapshot?.() ?? 0;
}

/** A Value's lock, which crosses in its metadata as a shared object. */
export function lockOf<L>(get: () => L): L | null {
  try {
    return get();
  } catch {
    return null;
  }
}

/** Value and SharedArray copies in this runtime, refreshed at sync points. */
export const copies = new Set<WeakRef<Copy>>();

export interface Copy {
  refresh(): Promise<void>;
  publish(): void;
}

export async function refreshCopies(): Promise<void> {
  const live: Copy[] = [];
  for (const ref of copies) {
    const copy = ref.deref();
    if (copy) live.push(copy);
    else copies.delete(ref);
  }
  await Promise.all(live.map((copy) => copy.refresh().catch(() => {})));
}

export function publishCopies(): void {
  for (const ref of copies) ref.deref()?.publish();
}

/** Builds a proxy: an object of `Class` whose own members do the work. */
export function proxy<T extends object>(
  Class: { prototype: T },
  id: string,
  members: Record<string, unknown>,
  getters: Record<string, () => unknown> = {},
): T {
  const self = Object.create(Class.prototype) as T;
  for (const [name, value] of Object.entries(members)) {
    Object.defineProperty(self, name, {
      value,
      configurable: true,
      writable: true,
    });
  }
  for (const [name, get] of Object.entries(getters)) {
    Object.defineProperty(self, name, { get, configurable: true });
  }
  Object.defineProperty(self, toMemoryForm, { value: () => null });
  broker().adopt(self, id);
  return self;
}

/** Asks the owner of object `id` to run `op`. */
export function request(
  id: string,
  op: string,
  args: unknown[],
  signal?: AbortSignal,
): Promise<unknown> {
  return broker().request(id, op, args, signal);
}

/**
 * A mirror of state the owner holds (a lock's held flag, an event's flag):
 * a watch request is always pending, answered when the state changes. The
 * pending watch does not keep the process alive.
 */
export function mirror(
  id: string,
  initial: number,
): { get(): number; set(value: number): void } {
  let state = initial;
  let watching = false;
  const start = () => {
    if (watching) return;
    watching = true;
    const loop = (known: number) => {
      broker().request(id, "watch", [known], undefined, undefined, false).then(
        (value) => {
          state = value as number;
          loop(state);
        },
        () => {
          watching = false;
        },
      );
    };
    loop(state);
  };
  // Watch from the start: the first read is as fresh as a round trip allows.
  start();
  return {
    get() {
      start();
      return state;
    },
    set(value) {
      state = value;
    },
  };
}

export function notAcross(what: string, instead: string): never {
  throw new Error(
    `Cannot call ${what} on an object shared from another process: ${instead}`,
  );
}

/**
 * Acquires in the owner: the answer is `[acquired, abandoned]`. Once
 * acquired, this runtime's copies of values are brought up to date.
 */
export async function remoteAcquire(
  id: string,
  options: number | AcquireOptions | undefined,
  what: string,
): Promise<[boolean, boolean]> {
  const { timeout, signal, blocking } = parseWait(
    options,
    `acquire the ${what}`,
    true,
  );
  signal?.throwIfAborted();
  const answer = await request(id, "acquire", [{
    timeout: timeout === Infinity ? undefined : timeout,
    blocking,
  }], signal) as [boolean, boolean];
  if (answer[0]) await refreshCopies();
  return answer;
}

/**
 * Releases in the owner, after writing back changed copies. A release has
 * nobody to answer to: an error (over-release) surfaces as an uncaught one,
 * as a raise would in Python.
 */
export function remoteRelease(id: string, args: unknown[]): void {
  publishCopies();
  request(id, "release", args).catch((error) => {
    queueMicrotask(() => {
      throw error;
    });
  });
}

/**
 * How many times this runtime holds each lock proxy now (an RLock's
 * depth): what a Condition's proxy releases and restores around a wait.
 */
export const heldHere: WeakMap<object, () => number> = new WeakMap();

export function lockProxy<T extends object>(
  Class: { prototype: T },
  id: string,
  meta: unknown,
): T {
  const held = mirror(id, meta as number);
  let abandoned = false;
  let depth = 0;
  const self = proxy(Class, id, {
    async acquire(options?: number | AcquireOptions): Promise<boolean> {
      const [ok, wasAbandoned] = await remoteAcquire(id, options, "lock");
      if (ok) {
        abandoned = wasAbandoned;
        depth++;
        held.set(1);
      }
      return ok;
    },
    tryAcquire(): boolean {
      return notAcross(
        "tryAcquire()",
        "use `await lock.acquire({ blocking: false })`",
      );
    },
    release(): void {
      // This process's own holds; the watch corrects the rest.
      depth = Math.max(0, depth - 1);
      held.set(depth > 0 ? 1 : 0);
      remoteRelease(id, []);
    },
    locked(): boolean {
      return held.get() !== 0;
    },
  }, { abandoned: () => abandoned });
  heldHere.set(self, () => depth);
  return self;
}

export const COPY = Symbol("copy");

/** Writes back changed copies; the child runtime calls it before exit. */
export function publishAll(): void {
  publishCopies();
}
