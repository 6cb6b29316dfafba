// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Locks, semaphores, events, barriers and values across processes. See
// ARCHITECTURE.md, "Synchronisation across processes".
//
// The objects of `sync.ts` live in shared memory, which only the threads of
// one process share. Sent to another process, one crosses as a remote form:
// a servant in the owner runs each operation on the real object for the
// caller, and the other process gets a proxy: an object of the same class
// (instanceof works) whose methods are requests to the owner.
//
// - A servant knows which runtime (`origin`) holds a lock. When that runtime
//   dies (its link closes without a goodbye, or a forwarder reports it gone),
//   the servant releases the lock: no deadlock after a crash. A lock released
//   so is marked, and its next acquirer sees `abandoned`. A runtime that ends
//   cleanly keeps what it holds, as in Python.
// - An RLock's holders in other processes are told apart by an ident the
//   servant allocates for each (the owner's own threads have theirs).
// - State read synchronously (`locked()`, `isSet()`) is a mirror the proxy
//   keeps: the servant answers a watch request whenever the state changes.
// - A Value or SharedArray proxy keeps a copy in this process. Acquiring
//   any lock or semaphore from another process, and every event or barrier
//   wait, refreshes the copies; writes go to the owner as they happen
//   (`value = x`, `set(i, x)`), and the items of `array` that changed are
//   written back before each release. Under a lock, that is what Python's
//   shared memory gives a correct program.

import {
  broker,
  type Call,
  registerRemote,
  type Servant,
} from "../_ipc/broker.ts";
import { allocateIdent } from "../_runtime/ident.ts";
import { toRemote, toShared } from "../_ipc/crossing.ts";
import { remoteHooks, syncHelpers } from "./_hooks.ts";
import {
  type AcquireOptions,
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
  SharedArray,
  type Typecode,
  Value,
  type WaitOptions,
} from "../sync.ts";

type Form = { kind: string; id: string; meta: unknown };

// ---------------------------------------------------------------------------
// The owner's side

interface AcquireArgs {
  timeout: number | undefined;
  blocking: boolean;
}

function acquireOptions(args: unknown[], call: Call): AcquireOptions {
  const { timeout, blocking } = args[0] as AcquireArgs;
  return blocking ? { timeout, signal: call.signal } : { blocking: false };
}

/** Ops every watched object serves: the mirror's long poll. */
function watch(
  object: object,
  op: string,
  args: unknown[],
  call: Call,
): unknown {
  const hooks = remoteHooks.get(object)!;
  if (op === "watch") return hooks.changed!(args[0] as number, call.signal);
  throw new TypeError(`Cannot run ${op} on a shared object: unknown operation`);
}

/**
 * A Lock has no owner: whoever acquired it last holds it, until anyone
 * releases it. The servant remembers which runtime that was, and the lock's
 * generation then: if that runtime dies before a release and nobody has
 * acquired the lock since, the servant releases it.
 */
function lockServant(lock: Lock): Servant {
  const hooks = remoteHooks.get(lock)!;
  let holder: { origin: string; generation: number } | null = null;
  return {
    async handle(op, args, call) {
      switch (op) {
        case "acquire": {
          const ok = await lock.acquire(acquireOptions(args, call));
          if (!ok) return [false, false];
          if (call.signal.aborted) {
            // The caller went away while it waited: nobody holds this.
            lock.release();
            return [false, false];
          }
          holder = { origin: call.origin, generation: hooks.generation!() };
          return [true, lock.abandoned];
        }
        case "release":
          lock.release();
          holder = null;
          return;
        default:
          return watch(lock, op, args, call);
      }
    },
    originsGone(origins, graceful) {
      if (!holder || !origins.has(holder.origin)) return;
      const { generation } = holder;
      holder = null;
      // A clean exit leaves the lock held, as Python's would stay.
      if (graceful || !lock.locked()) return;
      if (hooks.generation!() === generation) hooks.forceRelease!();
    },
  };
}

/**
 * An RLock is owned by an ident: each runtime in another process gets one
 * of its own here, so reentrancy and ownership hold across processes.
 */
function rlockServant(lock: RLock): Servant {
  const hooks = remoteHooks.get(lock)!;
  const idents = new Map<string, number>();
  const identOf = (origin: string) => {
    let ident = idents.get(origin);
    if (ident === undefined) idents.set(origin, ident = allocateIdent());
    return ident;
  };
  return {
    async handle(op, args, call) {
      switch (op) {
        case "acquire": {
          const { timeout, blocking } = args[0] as AcquireArgs;
          const ident = identOf(call.origin);
          const ok = await hooks.acquireAs!(
            ident,
            timeout,
            call.signal,
            blocking,
          );
          if (ok && call.signal.aborted) {
            hooks.releaseAs!(ident);
            return [false, false];
          }
          return [ok, ok && lock.abandoned];
        }
        case "release":
          hooks.releaseAs!(identOf(call.origin));
          return;
        default:
          return watch(lock, op, args, call);
      }
    },
    originsGone(origins, graceful) {
      for (const origin of origins) {
        const ident = idents.get(origin);
        if (ident === undefined) continue;
        idents.delete(origin);
        if (!graceful) hooks.forceRelease!(ident);
      }
    },
  };
}

/**
 * A semaphore is a counter: permits acquired by a process that dies are not
 * given back, as in Python (one process may acquire what another releases).
 */
function semaphoreServant(semaphore: Semaphore): Servant {
  return {
    async handle(op, args, call) {
      switch (op) {
        case "acquire": {
          const ok = await semaphore.acquire(acquireOptions(args, call));
          if (ok && call.signal.aborted) {
            semaphore.release();
            return [false, false];
          }
          return [ok, false];
        }
        case "release":
          semaphore.release(args[0] as number);
          return;
        default:
          throw new TypeError(
            `Cannot run ${op} on a semaphore: unknown operation`,
          );
      }
    },
  };
}

function eventServant(event: Event): Servant {
  return {
    handle(op, args, call) {
      switch (op) {
        case "set":
          return event.set();
        case "clear":
          return event.clear();
        case "wait":
          return event.wait({
            timeout: args[0] as number | undefined,
            signal: call.signal,
          });
        default:
          return watch(event, op, args, call);
      }
    },
  };
}

function barrierServant(barrier: Barrier): Servant {
  return {
    handle(op, args, call) {
      switch (op) {
        case "wait":
          return barrier.wait({
            timeout: args[0] as number | undefined,
            signal: call.signal,
          });
        case "abort":
          return barrier.abort();
        case "reset":
          return barrier.reset();
        default:
          throw new TypeError(
            `Cannot run ${op} on a barrier: unknown operation`,
          );
      }
    },
  };
}

function valueServant(value: Value): Servant {
  return {
    handle(op, args) {
      switch (op) {
        case "get":
          return value.value;
        case "set":
          value.value = args[0] as never;
          return;
        default:
          throw new TypeError(`Cannot run ${op} on a Value: unknown operation`);
      }
    },
  };
}

function arrayServant(array: SharedArray): Servant {
  return {
    handle(op, args) {
      switch (op) {
        case "get":
          return array.array.slice();
        case "set":
          array.set(args[0] as number, args[1] as never);
          return;
        case "patch": {
          // Only the items this copy changed: others' writes stay.
          const [indices, values] = args as [number[], never[]];
          indices.forEach((index, i) => array.array[index] = values[i]);
          return;
        }
        default:
          throw new TypeError(
            `Cannot run ${op} on a SharedArray: unknown operation`,
          );
      }
    },
  };
}

// ---------------------------------------------------------------------------
// Exporting: what each class sends another process

function define(
  Class: { prototype: object },
  toForm: (self: never) => Form,
): void {
  Object.defineProperty(Class.prototype, toRemote, {
    value: function (this: never): Form {
      return toForm(this);
    },
    configurable: true,
    writable: true,
  });
}

const exportAs = (
  kind: string,
  object: object,
  servant: () => Servant,
  meta: unknown = null,
) => broker().export(object, kind, servant, meta);

define(
  Lock,
  (lock: Lock) =>
    exportAs("Lock", lock, () => lockServant(lock), mirrorMeta(lock)),
);
define(
  RLock,
  (lock: RLock) =>
    exportAs("RLock", lock, () => rlockServant(lock), mirrorMeta(lock)),
);
define(Semaphore, (semaphore: Semaphore) =>
  exportAs(
    semaphore instanceof BoundedSemaphore ? "BoundedSemaphore" : "Semaphore",
    semaphore,
    () => semaphoreServant(semaphore),
  ));
define(
  Event,
  (event: Event) =>
    exportAs("Event", event, () => eventServant(event), mirrorMeta(event)),
);
define(
  Barrier,
  (barrier: Barrier) =>
    exportAs(
      "Barrier",
      barrier,
      () => barrierServant(barrier),
      barrier.parties,
    ),
);
define(
  Value,
  (value: Value) =>
    exportAs("Value", value, () => valueServant(value), {
      typecode: value.typecode,
      value: value.value,
      lock: lockOf(() => value.getLock()),
    }),
);
define(
  SharedArray,
  (array: SharedArray) =>
    exportAs("SharedArray", array, () => arrayServant(array), {
      typecode: array.typecode,
      array: array.array.slice(),
      lock: lockOf(() => array.getLock()),
    }),
);
define(Condition, (condition: Condition) => {
  throw new TypeError(
    `Cannot send a ${condition.constructor.name} to another process: a Condition works between the threads of one process only; use an Event, a Queue or a Semaphore to signal between processes`,
  );
});

function mirrorMeta(object: object): number {
  return remoteHooks.get(object)?.snapshot?.() ?? 0;
}

/** A Value's lock, which crosses in its metadata as a shared object. */
function lockOf(get: () => RLock): RLock | null {
  try {
    return get();
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// The proxies in other processes

/** Value and SharedArray copies in this runtime, refreshed at sync points. */
const copies = new Set<WeakRef<Copy>>();

interface Copy {
  refresh(): Promise<void>;
  publish(): void;
}

async function refreshCopies(): Promise<void> {
  const live: Copy[] = [];
  for (const ref of copies) {
    const copy = ref.deref();
    if (copy) live.push(copy);
    else copies.delete(ref);
  }
  await Promise.all(live.map((copy) => copy.refresh().catch(() => {})));
}

function publishCopies(): void {
  for (const ref of copies) ref.deref()?.publish();
}

/** Builds a proxy: an object of `Class` whose own members do the work. */
function proxy<T extends object>(
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
  Object.defineProperty(self, toShared, { value: () => null });
  broker().adopt(self, id);
  return self;
}

const request = (
  id: string,
  op: string,
  args: unknown[],
  signal?: AbortSignal,
) => broker().request(id, op, args, signal);

/**
 * A mirror of state the owner holds (a lock's held flag, an event's flag):
 * a watch request is always pending, answered when the state changes. The
 * pending watch does not keep the process alive.
 */
function mirror(
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

function notAcross(what: string, instead: string): never {
  throw new Error(
    `Cannot call ${what} on an object shared from another process: ${instead}`,
  );
}

/**
 * Acquires in the owner: the answer is `[acquired, abandoned]`. Once
 * acquired, this runtime's copies of values are brought up to date.
 */
async function remoteAcquire(
  id: string,
  options: number | AcquireOptions | undefined,
  what: string,
): Promise<[boolean, boolean]> {
  const { timeout, signal, blocking } = syncHelpers.parseWait!(
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
function remoteRelease(id: string, args: unknown[]): void {
  publishCopies();
  request(id, "release", args).catch((error) => {
    queueMicrotask(() => {
      throw error;
    });
  });
}

function lockProxy<T extends Lock | RLock>(
  Class: { prototype: T },
  id: string,
  meta: unknown,
): T {
  const held = mirror(id, meta as number);
  let abandoned = false;
  let depth = 0;
  return proxy(Class, id, {
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
}

function semaphoreProxy<T extends Semaphore>(
  Class: { prototype: T },
  id: string,
): T {
  return proxy(Class, id, {
    async acquire(options?: number | AcquireOptions): Promise<boolean> {
      const [ok] = await remoteAcquire(id, options, "semaphore");
      return ok;
    },
    tryAcquire(): boolean {
      return notAcross(
        "tryAcquire()",
        "use `await semaphore.acquire({ blocking: false })`",
      );
    },
    release(n = 1): void {
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
        throw new RangeError(
          `Cannot release the semaphore: expected n to be an integer >= 1, received ${n}`,
        );
      }
      remoteRelease(id, [n]);
    },
    getValue(): number {
      return notAcross(
        "getValue()",
        "the count lives in the process that created the semaphore",
      );
    },
  });
}

registerRemote("Lock", (id, meta) => lockProxy(Lock, id, meta));
registerRemote("RLock", (id, meta) => lockProxy(RLock, id, meta));
registerRemote("Semaphore", (id) => semaphoreProxy(Semaphore, id));
registerRemote(
  "BoundedSemaphore",
  (id) => semaphoreProxy(BoundedSemaphore, id),
);

registerRemote("Event", (id, meta) => {
  const flag = mirror(id, meta as number);
  const parse = syncHelpers.parseWait!;
  return proxy(Event, id, {
    isSet(): boolean {
      return flag.get() === 1;
    },
    set(): void {
      flag.set(1);
      publishCopies();
      broker().post(id, "set", []);
    },
    clear(): void {
      flag.set(0);
      broker().post(id, "clear", []);
    },
    async wait(options?: number | WaitOptions): Promise<boolean> {
      const { timeout, signal } = parse(options, "wait on the event");
      signal?.throwIfAborted();
      const ok = await request(id, "wait", [
        timeout === Infinity ? undefined : timeout,
      ], signal);
      if (ok) {
        flag.set(1);
        await refreshCopies();
      }
      return ok as boolean;
    },
  });
});

registerRemote("Barrier", (id, meta) => {
  const parse = syncHelpers.parseWait!;
  return proxy(Barrier, id, {
    async wait(options?: number | WaitOptions): Promise<number> {
      const { timeout, signal } = parse(options, "wait at the barrier");
      signal?.throwIfAborted();
      publishCopies();
      const index = await request(id, "wait", [
        timeout === Infinity ? undefined : timeout,
      ], signal);
      await refreshCopies();
      return index as number;
    },
    abort(): void {
      broker().post(id, "abort", []);
    },
    reset(): void {
      broker().post(id, "reset", []);
    },
  }, {
    parties: () => meta as number,
    nWaiting: () =>
      notAcross("nWaiting", "it lives in the process that created the barrier"),
    broken: () =>
      notAcross("broken", "it lives in the process that created the barrier"),
  });
});

interface ValueMeta {
  typecode: Typecode;
  value: never;
  /** Its lock's proxy, revived with the metadata. */
  lock: RLock | null;
}

registerRemote("Value", (id, meta) => {
  const { typecode, value, lock: remoteLock } = meta as ValueMeta;
  // This process's copy: a Value of its own, without a lock.
  const copy = new Value(typecode, value, { lock: false });
  const self = proxy(Value, id, {
    getLock(): RLock {
      if (!remoteLock) {
        throw new Error(
          "Cannot get the lock of a Value created with lock: false",
        );
      }
      return remoteLock;
    },
  }, { typecode: () => typecode });
  Object.defineProperty(self, "value", {
    get: () => copy.value,
    set: (next: never) => {
      copy.value = next;
      broker().post(id, "set", [copy.value]);
    },
    configurable: true,
  });
  const entry: Copy = {
    async refresh() {
      copy.value = await request(id, "get", []) as never;
    },
    publish() {},
  };
  copies.add(new WeakRef(entry));
  (self as unknown as Record<symbol, unknown>)[COPY] = entry;
  return self;
});

interface ArrayMeta {
  typecode: Typecode;
  array: ArrayLike<number> & Iterable<never>;
  /** Its lock's proxy, revived with the metadata. */
  lock: RLock | null;
}

const COPY = Symbol("copy");

registerRemote("SharedArray", (id, meta) => {
  const { typecode, array, lock: remoteLock } = meta as ArrayMeta;
  const copy = new SharedArray(typecode, [...array], { lock: false });
  // What the owner had at the last refresh or write: a change to `array`
  // since then is written back at the next release.
  let seen = copy.array.slice();
  const self = proxy(SharedArray, id, {
    getLock(): RLock {
      if (!remoteLock) {
        throw new Error(
          "Cannot get the lock of a SharedArray created with lock: false",
        );
      }
      return remoteLock;
    },
    get(index: number) {
      return copy.get(index);
    },
    set(index: number, value: never) {
      copy.set(index, value);
      seen[index] = copy.array[index] as never;
      broker().post(id, "set", [index, copy.get(index)]);
    },
  }, {
    typecode: () => typecode,
    array: () => copy.array,
    length: () => copy.length,
  });
  const entry: Copy = {
    async refresh() {
      const fresh = await request(id, "get", []) as ArrayLike<number>;
      copy.array.set(fresh as never, 0);
      seen = copy.array.slice();
    },
    publish() {
      const now = copy.array;
      const indices: number[] = [];
      const values: unknown[] = [];
      for (let i = 0; i < now.length; i++) {
        if (now[i] === seen[i]) continue;
        indices.push(i);
        values.push(now[i]);
        seen[i] = now[i] as never;
      }
      if (indices.length > 0) broker().post(id, "patch", [indices, values]);
    },
  };
  copies.add(new WeakRef(entry));
  (self as unknown as Record<symbol, unknown>)[COPY] = entry;
  return self;
});

/** Writes back changed copies; the child runtime calls it before exit. */
export function publishAll(): void {
  publishCopies();
}
