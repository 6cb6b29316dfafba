// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async";
import { allocateIdent, identCounter } from "../_runtime/ident.ts";
import { encodeShared } from "../_ipc/crossing.ts";
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  Condition,
  Event,
  Lock,
  RawArray,
  RLock,
  Semaphore,
  SharedArray,
  Value,
} from "../sync.ts";
import { broker } from "../_ipc/broker.ts";

const NONE = {} as const;
const READ = { read: true } as const;
const WORKER = new URL("./fixtures/sync_worker.ts", import.meta.url);

/** Starts `n` raw Web Workers on the fixture and terminates them after. */
async function withWorkers(
  n: number,
  fn: (workers: Worker[]) => Promise<void>,
): Promise<void> {
  const workers = Array.from(
    { length: n },
    () => new Worker(WORKER, { type: "module" }),
  );
  try {
    await fn(workers);
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

/**
 * Runs a job of the fixture in a worker, with a fresh thread ident, and
 * returns its result.
 */
function run(
  worker: Worker,
  job: string,
  args: Record<string, unknown>,
): Promise<unknown> {
  const { promise, resolve, reject } = Promise.withResolvers<unknown>();
  const onMessage = (event: MessageEvent) => {
    const reply = event.data;
    if (reply.ok) resolve(reply.value);
    else reject(Object.assign(new Error(reply.message), { name: reply.name }));
  };
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    reject(new Error(`Worker failed: ${event.message}`));
  };
  worker.addEventListener("message", onMessage);
  worker.addEventListener("error", onError);
  worker.postMessage({
    job,
    args: structuredClone(encodeShared(args)),
    ident: allocateIdent(),
    counter: identCounter(),
  });
  return promise.finally(() => {
    worker.removeEventListener("message", onMessage);
    worker.removeEventListener("error", onError);
  });
}

/** Polls `check` until it holds; a bound for failing tests only. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 5_000) throw new Error(`Timed out waiting until ${what}`);
    await delay(1);
  }
}

// ---------------------------------------------------------------------------
// Lock

Deno.test({
  name: "Lock.acquire() lets one task at a time into the critical section",
  permissions: NONE,
  async fn() {
    const lock = new Lock();
    let inside = 0;
    let most = 0;
    let total = 0;
    async function task(): Promise<void> {
      for (let i = 0; i < 5; i++) {
        assertEquals(await lock.acquire(), true);
        inside++;
        most = Math.max(most, inside);
        await delay(1);
        total++;
        inside--;
        lock.release();
      }
    }
    await Promise.all([task(), task(), task()]);
    assertEquals(most, 1);
    assertEquals(total, 15);
    assertEquals(lock.locked(), false);
  },
});

Deno.test({
  name:
    "Lock.acquire() returns false when the timeout passes or blocking is false",
  permissions: NONE,
  async fn() {
    const lock = new Lock();
    assertEquals(await lock.acquire(), true);
    assertEquals(lock.locked(), true);
    assertEquals(await lock.acquire(20), false);
    assertEquals(await lock.acquire({ timeout: 0 }), false);
    assertEquals(await lock.acquire({ blocking: false }), false);
    assertEquals(lock.tryAcquire(), false);
    const waiter = lock.acquire({ timeout: 10_000 });
    lock.release();
    assertEquals(await waiter, true);
    lock.release();
    assertEquals(lock.tryAcquire(), true);
    lock.release();
    assertEquals(await lock.acquire(Infinity), true);
    lock.release();
  },
});

Deno.test({
  name: "Lock.acquire() rejects with the signal's reason when aborted",
  permissions: NONE,
  async fn(t) {
    const lock = new Lock();
    const reason = new Error("stop");
    await t.step("an aborted signal rejects even on a free lock", async () => {
      const error = await assertRejects(() =>
        lock.acquire({ signal: AbortSignal.abort(reason) })
      );
      assertStrictEquals(error, reason);
      assertEquals(lock.locked(), false);
    });
    await t.step("an abort during the wait rejects", async () => {
      await lock.acquire();
      const controller = new AbortController();
      const waiting = lock.acquire({ signal: controller.signal });
      const other = lock.acquire(10_000);
      controller.abort(reason);
      assertStrictEquals(await assertRejects(() => waiting), reason);
      // The aborted waiter took nothing: the other one gets the lock.
      lock.release();
      assertEquals(await other, true);
      lock.release();
      assertEquals(lock.locked(), false);
    });
  },
});

Deno.test({
  name: "Lock.release() throws when the lock is not held",
  permissions: NONE,
  fn() {
    const lock = new Lock();
    assertThrows(
      () => lock.release(),
      Error,
      "Cannot release a lock that is not held",
    );
  },
});

Deno.test({
  name: "Lock.hold() releases when the hold is disposed",
  permissions: NONE,
  async fn() {
    const lock = new Lock();
    {
      using _held = await lock.hold();
      assertEquals(lock.locked(), true);
      const error = await assertRejects(() => lock.hold(10), DOMException);
      assertEquals(error.name, "TimeoutError");
      assertStringIncludes(error.message, "timed out after 10 ms");
      const busy = await assertRejects(
        () => lock.hold({ blocking: false }),
        DOMException,
      );
      assertEquals(busy.name, "TimeoutError");
    }
    assertEquals(lock.locked(), false);
    const hold = await lock.hold();
    hold[Symbol.dispose]();
    hold[Symbol.dispose]();
    assertEquals(lock.locked(), false);
  },
});

Deno.test({
  name: "Lock.acquire() rejects malformed timeouts and options",
  permissions: NONE,
  async fn() {
    const lock = new Lock();
    const cases: [unknown, typeof TypeError | typeof RangeError, string][] = [
      ["5", TypeError, 'received the string "5"'],
      [NaN, TypeError, "expected timeout to be a number"],
      [null, TypeError, "received null"],
      [
        -2,
        RangeError,
        "expected timeout to be a number >= 0, or -1 for no limit, received -2",
      ],
      [{ timeout: -5 }, RangeError, "received -5"],
      [{ timeout: "x" }, TypeError, "expected timeout to be a number"],
      [{ signal: {} }, TypeError, "expected signal to be an AbortSignal"],
      [{ blocking: "no" }, TypeError, "expected blocking to be a boolean"],
      [{ blocking: false, timeout: 5 }, TypeError, "non-blocking"],
    ];
    for (const [options, ErrorClass, message] of cases) {
      const error = await assertRejects(
        () => lock.acquire(options as number),
        ErrorClass,
        message,
      );
      assertStringIncludes(error.message, "Cannot acquire the lock: expected");
    }
    assertEquals(lock.locked(), false);
  },
});

// ---------------------------------------------------------------------------
// RLock

Deno.test({
  name: "RLock.acquire() reenters in its thread and counts the levels",
  permissions: NONE,
  async fn() {
    const lock = new RLock();
    assertEquals(await lock.acquire(), true);
    assertEquals(await lock.acquire(10), true);
    assertEquals(lock.tryAcquire(), true);
    lock.release();
    lock.release();
    assertEquals(lock.locked(), true);
    lock.release();
    assertEquals(lock.locked(), false);
    assertThrows(
      () => lock.release(),
      Error,
      "Cannot release an RLock that is not held",
    );
    {
      using _outer = await lock.hold();
      using _inner = await lock.hold({ blocking: false });
      assertEquals(lock.locked(), true);
    }
    assertEquals(lock.locked(), false);
  },
});

Deno.test({
  name: "RLock.acquire() rejects malformed options",
  permissions: NONE,
  async fn() {
    const lock = new RLock();
    await assertRejects(
      () => lock.acquire(-2),
      RangeError,
      "Cannot acquire the RLock",
    );
    await assertRejects(() => lock.acquire("1" as never), TypeError);
    assertEquals(lock.locked(), false);
  },
});

// ---------------------------------------------------------------------------
// Condition

Deno.test({
  name: "Condition.notify() wakes one waiter and notifyAll() the others",
  permissions: NONE,
  async fn() {
    const cond = new Condition(new Lock());
    let entered = 0;
    let woken = 0;
    const first = Promise.withResolvers<void>();
    async function waiter(): Promise<boolean> {
      using _held = await cond.hold();
      entered++;
      const notified = await cond.wait(10_000);
      woken++;
      first.resolve();
      return notified;
    }
    const waiters = [waiter(), waiter(), waiter()];
    await cond.acquire();
    while (entered < 3) {
      cond.release();
      await delay(1);
      await cond.acquire();
    }
    cond.notify();
    cond.release();
    await first.promise;
    await delay(30);
    assertEquals(woken, 1);
    {
      using _held = await cond.hold();
      cond.notifyAll();
    }
    assertEquals(await Promise.all(waiters), [true, true, true]);
    assertEquals(woken, 3);
  },
});

Deno.test({
  name: "Condition.notify() does not wake a task that starts waiting after it",
  permissions: NONE,
  async fn() {
    const cond = new Condition(new Lock());
    await cond.acquire();
    cond.notify();
    assertEquals(await cond.wait(20), false);
    cond.release();
  },
});

Deno.test({
  name: "Condition.wait() returns false on timeout with the lock held again",
  permissions: NONE,
  async fn() {
    const lock = new RLock();
    await lock.acquire();
    await lock.acquire();
    const cond = new Condition(lock);
    assertEquals(await cond.wait({ timeout: 20 }), false);
    // Both levels are restored.
    lock.release();
    assertEquals(lock.locked(), true);
    lock.release();
    assertEquals(lock.locked(), false);
  },
});

Deno.test({
  name: "Condition.wait() and notify() throw when the lock is not held",
  permissions: NONE,
  async fn() {
    for (const cond of [new Condition(), new Condition(new Lock())]) {
      await assertRejects(
        () => cond.wait(10),
        Error,
        "Cannot wait on a condition whose lock is not held",
      );
      assertThrows(
        () => cond.notify(),
        Error,
        "Cannot notify on a condition whose lock is not held",
      );
      assertThrows(() => cond.notifyAll(), Error, "lock is not held");
    }
    assertThrows(
      () => new Condition({} as Lock),
      TypeError,
      "Cannot create a condition: expected a Lock or an RLock, received an object",
    );
    const cond = new Condition();
    await cond.acquire();
    assertThrows(() => cond.notify(1.5), TypeError, "expected n");
    assertThrows(() => cond.notify(-1), RangeError, "expected n");
    assertStrictEquals(await cond.wait(-1), false);
    await assertRejects(() => cond.waitFor(true as never), TypeError);
    cond.release();
  },
});

Deno.test({
  name: "Condition.wait() rejects with the signal's reason, lock held again",
  permissions: NONE,
  async fn() {
    const lock = new Lock();
    const cond = new Condition(lock);
    const reason = new Error("stop");
    await cond.acquire();
    await assertRejects(
      () => cond.wait({ signal: AbortSignal.abort(reason) }),
      Error,
      "stop",
    );
    assertEquals(lock.locked(), true);
    const controller = new AbortController();
    const waiting = cond.wait({ signal: controller.signal });
    assertEquals(lock.locked(), false);
    controller.abort(reason);
    assertStrictEquals(await assertRejects(() => waiting), reason);
    assertEquals(lock.locked(), true);
    cond.release();
  },
});

Deno.test({
  name: "Condition.waitFor() returns once the predicate holds, or false",
  permissions: NONE,
  async fn() {
    const cond = new Condition(new Lock());
    let count = 0;
    const consumer = (async () => {
      using _held = await cond.hold();
      const result = await cond.waitFor(() => count >= 3, 10_000);
      return { result, count };
    })();
    for (let i = 0; i < 3; i++) {
      await delay(1);
      using _held = await cond.hold();
      count++;
      cond.notifyAll();
    }
    assertEquals(await consumer, { result: true, count: 3 });
    using _held = await cond.hold();
    assertEquals(await cond.waitFor(() => false, 20), false);
    assertEquals(await cond.waitFor(() => true, 0), true);
  },
});

// ---------------------------------------------------------------------------
// Semaphore and BoundedSemaphore

Deno.test({
  name: "Semaphore(2) lets two tasks in at a time",
  permissions: NONE,
  async fn() {
    const sem = new Semaphore(2);
    let inside = 0;
    let most = 0;
    async function task(): Promise<void> {
      for (let i = 0; i < 4; i++) {
        using _held = await sem.hold();
        inside++;
        most = Math.max(most, inside);
        await delay(1);
        inside--;
      }
    }
    await Promise.all([task(), task(), task(), task()]);
    assertEquals(most, 2);
    assertEquals(sem.getValue(), 2);
  },
});

Deno.test({
  name: "Semaphore.acquire() times out at 0 and release(n) lets n waiters in",
  permissions: NONE,
  async fn() {
    const sem = new Semaphore(0);
    assertEquals(await sem.acquire(10), false);
    assertEquals(await sem.acquire({ blocking: false }), false);
    assertEquals(sem.tryAcquire(), false);
    const waiters = [sem.acquire(300), sem.acquire(300), sem.acquire(300)];
    sem.release(2);
    const results = await Promise.all(waiters);
    assertEquals(results.filter(Boolean).length, 2);
    assertEquals(sem.getValue(), 0);
    const error = await assertRejects(() => sem.hold(10), DOMException);
    assertEquals(error.name, "TimeoutError");
    const reason = new Error("stop");
    const controller = new AbortController();
    const waiting = sem.acquire({ signal: controller.signal });
    controller.abort(reason);
    assertStrictEquals(await assertRejects(() => waiting), reason);
    sem.release();
    assertEquals(sem.getValue(), 1);
  },
});

Deno.test({
  name: "Semaphore rejects bad values and counts",
  permissions: NONE,
  fn() {
    assertThrows(() => new Semaphore(-1), RangeError, "received -1");
    assertThrows(() => new Semaphore(1.5), TypeError, "integer");
    assertThrows(() => new Semaphore("2" as never), TypeError, "integer");
    assertThrows(() => new Semaphore(2 ** 31), RangeError);
    assertThrows(() => new BoundedSemaphore(-1), RangeError, "bounded");
    const sem = new Semaphore(0);
    assertThrows(() => sem.release(0), RangeError, "1 or more");
    assertThrows(() => sem.release(1.5), TypeError, "integer");
    sem.release(2 ** 31 - 1);
    assertThrows(() => sem.release(), RangeError, "at most 2147483647");
    assertEquals(new Semaphore().getValue(), 1);
  },
});

Deno.test({
  name: "BoundedSemaphore.release() throws above the initial value",
  permissions: NONE,
  async fn() {
    const sem = new BoundedSemaphore(2);
    assertThrows(
      () => sem.release(),
      Error,
      "Cannot release a bounded semaphore above its initial value 2",
    );
    await sem.acquire();
    await sem.acquire();
    assertThrows(() => sem.release(3), Error, "initial value 2");
    sem.release(2);
    assertEquals(sem.getValue(), 2);
    assertInstanceOf(sem, Semaphore);
  },
});

// ---------------------------------------------------------------------------
// Event

Deno.test({
  name: "Event.set() wakes every waiter, and wait() times out to false",
  permissions: NONE,
  async fn() {
    const event = new Event();
    assertEquals(event.isSet(), false);
    assertEquals(await event.wait(10), false);
    assertEquals(await event.wait(0), false);
    const waiters = [event.wait(), event.wait(10_000), event.wait(Infinity)];
    event.set();
    assertEquals(await Promise.all(waiters), [true, true, true]);
    assertEquals(await event.wait(0), true);
    event.clear();
    assertEquals(event.isSet(), false);
    assertEquals(await event.wait({ timeout: 10 }), false);
  },
});

Deno.test({
  name: "Event.wait() rejects with the signal's reason and bad timeouts",
  permissions: NONE,
  async fn() {
    const event = new Event();
    const reason = new Error("stop");
    const controller = new AbortController();
    const waiting = event.wait({ signal: controller.signal });
    controller.abort(reason);
    assertStrictEquals(await assertRejects(() => waiting), reason);
    await assertRejects(
      () => event.wait({ signal: AbortSignal.abort(reason) }),
      Error,
      "stop",
    );
    await assertRejects(
      () => event.wait(NaN),
      TypeError,
      "Cannot wait on the event",
    );
    await assertRejects(() => event.wait("1" as never), TypeError);
  },
});

// ---------------------------------------------------------------------------
// Barrier

Deno.test({
  name: "Barrier.wait() gives each party a distinct index, round after round",
  permissions: NONE,
  async fn() {
    const barrier = new Barrier(3);
    assertEquals(barrier.parties, 3);
    for (let round = 0; round < 3; round++) {
      const first = barrier.wait();
      await delay(1);
      assertEquals(barrier.nWaiting, 1);
      const second = barrier.wait();
      assertEquals(barrier.nWaiting, 2);
      const last = await barrier.wait();
      assertEquals(last, 2);
      assertEquals([await first, await second], [0, 1]);
    }
    assertEquals(barrier.nWaiting, 0);
    assertEquals(barrier.broken, false);
  },
});

Deno.test({
  name: "Barrier.wait() breaks the barrier for all on timeout until reset()",
  permissions: NONE,
  async fn() {
    const barrier = new Barrier(3);
    const patient = barrier.wait(10_000);
    await assertRejects(() => barrier.wait(20), BrokenBarrierError);
    const error = await assertRejects(() => patient, BrokenBarrierError);
    assertEquals(error.name, "BrokenBarrierError");
    assertEquals(barrier.broken, true);
    await assertRejects(() => barrier.wait(), BrokenBarrierError);
    barrier.reset();
    assertEquals(barrier.broken, false);
    assertEquals(barrier.nWaiting, 0);
    const indices = await Promise.all([
      barrier.wait(),
      barrier.wait(),
      barrier.wait(),
    ]);
    assertEquals(indices.toSorted(), [0, 1, 2]);
  },
});

Deno.test({
  name: "Barrier.abort() and reset() reject the waiting parties",
  permissions: NONE,
  async fn() {
    const barrier = new Barrier(2);
    const aborted = barrier.wait();
    barrier.abort();
    await assertRejects(() => aborted, BrokenBarrierError);
    assertEquals(barrier.broken, true);
    barrier.reset();
    const reset = barrier.wait();
    barrier.reset();
    await assertRejects(() => reset, BrokenBarrierError);
    assertEquals(barrier.broken, false);
    assertEquals(await Promise.all([barrier.wait(), barrier.wait()]), [0, 1]);
  },
});

Deno.test({
  name:
    "Barrier.wait() rejects with the signal's reason and breaks the barrier",
  permissions: NONE,
  async fn() {
    const barrier = new Barrier(2);
    const reason = new Error("stop");
    await assertRejects(
      () => barrier.wait({ signal: AbortSignal.abort(reason) }),
      Error,
      "stop",
    );
    assertEquals(barrier.broken, false);
    const controller = new AbortController();
    const waiting = barrier.wait({ signal: controller.signal });
    controller.abort(reason);
    assertStrictEquals(await assertRejects(() => waiting), reason);
    assertEquals(barrier.broken, true);
  },
});

Deno.test({
  name: "Barrier rejects parties that are not an integer of 1 or more",
  permissions: NONE,
  async fn() {
    assertThrows(() => new Barrier(0), RangeError, "received 0");
    assertThrows(() => new Barrier(1.5), TypeError, "integer");
    assertThrows(() => new Barrier("2" as never), TypeError);
    assertThrows(() => new (Barrier as new () => Barrier)(), TypeError);
    assertEquals(await new Barrier(1).wait(-1), 0);
    assertEquals(await new Barrier(1).wait(), 0);
  },
});

// ---------------------------------------------------------------------------
// Value, RawArray, SharedArray

Deno.test({
  name: "Value holds each typecode's type and range",
  permissions: NONE,
  fn() {
    const cases = [
      ["b", -128, 127, 128],
      ["B", 0, 255, 256],
      ["h", -32768, 32767, 32768],
      ["H", 0, 65535, -1],
      ["i", -(2 ** 31), 2 ** 31 - 1, 2 ** 31],
      ["I", 0, 2 ** 32 - 1, -1],
    ] as const;
    for (const [typecode, min, max, outside] of cases) {
      const v = new Value(typecode);
      assertEquals(v.value, 0);
      assertEquals(v.typecode, typecode);
      v.value = min;
      assertEquals(v.value, min);
      v.value = max;
      assertEquals(v.value, max);
      assertThrows(() => (v.value = outside), RangeError, `"${typecode}"`);
      assertThrows(() => (v.value = 1.5), TypeError, "integer");
      assertThrows(() => (v.value = 1n as never), TypeError, "a number");
      assertEquals(v.value, max);
    }
    const q = new Value("q", -(2n ** 63n));
    assertEquals(q.value, -(2n ** 63n));
    assertThrows(() => (q.value = 2n ** 63n), RangeError);
    assertThrows(() => (q.value = 1 as never), TypeError, "a bigint");
    const unsigned = new Value("Q");
    assertEquals(unsigned.value, 0n);
    unsigned.value = 2n ** 64n - 1n;
    assertEquals(unsigned.value, 2n ** 64n - 1n);
    assertThrows(() => (unsigned.value = -1n), RangeError);
    const f = new Value("f", 0.1);
    assertEquals(f.value, Math.fround(0.1));
    const d = new Value("d", 0.1);
    assertEquals(d.value, 0.1);
    d.value = NaN;
    assert(Number.isNaN(d.value));
    assertThrows(() => (d.value = "1" as never), TypeError);
  },
});

Deno.test({
  name: "Value rejects unknown typecodes, bad initial values and options",
  permissions: NONE,
  fn() {
    assertThrows(
      () => new Value("x" as never),
      TypeError,
      'Cannot create a Value: expected a typecode, one of "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "f", "d", "c", "u", received the string "x"',
    );
    assertThrows(() => new Value(3 as never), TypeError, "received number 3");
    assertThrows(() => new Value("hasOwnProperty" as never), TypeError);
    assertThrows(() => new Value("b", 200), RangeError, "from -128 to 127");
    assertThrows(() => new Value("q", 1 as never), TypeError, "a bigint");
    assertThrows(
      () => new Value("i", 0, { lock: "yes" as never }),
      TypeError,
      "expected lock to be a boolean",
    );
    assertThrows(() => new Value("i", 0, null as never), TypeError);
  },
});

Deno.test({
  name: "Value.getLock() returns a shared RLock unless lock is false",
  permissions: NONE,
  async fn() {
    const v = new Value("i", 5);
    const lock = v.getLock();
    assertInstanceOf(lock, RLock);
    assertStrictEquals(v.getLock(), lock);
    {
      using _held = await lock.hold();
      v.value += 1;
    }
    assertEquals(v.value, 6);
    const bare = new Value("i", 5, { lock: false });
    assertThrows(
      () => bare.getLock(),
      Error,
      "Cannot get the lock of a Value created with lock false",
    );
  },
});

Deno.test({
  name: "RawArray() returns a typed array over new shared memory",
  permissions: NONE,
  fn() {
    const zeros = RawArray("i", 4);
    assertInstanceOf(zeros, Int32Array);
    assertInstanceOf(zeros.buffer, SharedArrayBuffer);
    assertEquals([...zeros], [0, 0, 0, 0]);
    assertEquals([...RawArray("B", new Set([1, 2]))], [1, 2]);
    assertEquals([...RawArray("Q", [1n, 2n ** 64n - 1n])], [
      1n,
      2n ** 64n - 1n,
    ]);
    assertEquals(RawArray("d", 0).length, 0);
    assertThrows(() => RawArray("i", -1), RangeError, "0 or more");
    assertThrows(() => RawArray("i", 1.5), TypeError, "integer");
    assertThrows(() => RawArray("i", "3" as never), TypeError, "iterable");
    assertThrows(() => RawArray("z" as never, 1), TypeError, "typecode");
    assertThrows(
      () => RawArray("b", [1, 300]),
      RangeError,
      "Cannot create a RawArray item 1: expected an integer from -128 to 127",
    );
    assertThrows(() => RawArray("q", [1 as never]), TypeError, "a bigint");
    // A structured clone shares the memory.
    const copy = structuredClone(zeros);
    copy[0] = 7;
    assertEquals(zeros[0], 7);
  },
});

Deno.test({
  name: "SharedArray reads and writes items, Python's negative indices too",
  permissions: NONE,
  async fn() {
    const items = new SharedArray("i", [1, 2, 3]);
    assertEquals(items.length, 3);
    assertEquals(items.typecode, "i");
    assertEquals(items.get(0), 1);
    assertEquals(items.get(-1), 3);
    items.set(-3, 10);
    assertEquals([...items.array], [10, 2, 3]);
    assertThrows(
      () => items.get(3),
      RangeError,
      "Cannot get an item: expected an index from -3 to 2, received 3",
    );
    assertThrows(() => items.get(-4), RangeError);
    assertThrows(() => items.set(0.5, 1), TypeError, "integer index");
    assertThrows(() => items.set(0, 2 ** 40), RangeError, "set item 0");
    assertEquals(items.get(0), 10);
    {
      using _held = await items.getLock().hold();
      items.set(1, items.get(1) + 1);
    }
    assertEquals(items.get(1), 3);
    assertEquals([...new SharedArray("f", 2).array], [0, 0]);
    assertThrows(
      () => new SharedArray("i", 2, { lock: false }).getLock(),
      Error,
      "SharedArray created with lock false",
    );
  },
});

// ---------------------------------------------------------------------------
// Memory forms

Deno.test({
  name: "Memory forms rebuild every primitive on the same memory",
  permissions: NONE,
  async fn() {
    const lock = new Lock();
    const rlock = new RLock();
    const cond = new Condition(lock);
    const sem = new Semaphore(3);
    const bounded = new BoundedSemaphore(1);
    const event = new Event();
    const barrier = new Barrier(2);
    const value = new Value("q", 5n);
    const items = new SharedArray("d", [1.5]);
    const copy = broker().fromParent(structuredClone(encodeShared({
      lock,
      rlock,
      cond,
      sem,
      bounded,
      event,
      barrier,
      value,
      items,
    }))) as {
      lock: Lock;
      rlock: RLock;
      cond: Condition;
      sem: Semaphore;
      bounded: BoundedSemaphore;
      event: Event;
      barrier: Barrier;
      value: Value<"q">;
      items: SharedArray<"d">;
    };
    assert(copy.lock !== lock);
    assertInstanceOf(copy.lock, Lock);
    await copy.lock.acquire();
    assertEquals(lock.locked(), true);
    // The condition's lock is the same lock.
    copy.cond.release();
    assertEquals(lock.locked(), false);
    await rlock.acquire();
    assertEquals(copy.rlock.locked(), true);
    rlock.release();
    await copy.sem.acquire();
    assertEquals(sem.getValue(), 2);
    assertInstanceOf(copy.bounded, BoundedSemaphore);
    assertThrows(() => copy.bounded.release(), Error, "initial value 1");
    event.set();
    assertEquals(copy.event.isSet(), true);
    assertEquals(copy.barrier.parties, 2);
    const [a, b] = await Promise.all([barrier.wait(), copy.barrier.wait()]);
    assertEquals([a, b], [0, 1]);
    copy.value.value = 7n;
    assertEquals(value.value, 7n);
    await copy.value.getLock().acquire();
    assertEquals(value.getLock().locked(), true);
    copy.value.getLock().release();
    copy.items.set(0, 2.5);
    assertEquals(items.get(0), 2.5);
    assertEquals(copy.items.getLock().locked(), false);
  },
});

// ---------------------------------------------------------------------------
// Across threads

Deno.test({
  name: "Lock guards a Value across 4 workers: 400,000 increments, none lost",
  permissions: READ,
  async fn() {
    await withWorkers(4, async (workers) => {
      const lock = new Lock();
      const value = new Value("i", 0, { lock: false });
      const idents = await Promise.all(
        workers.map((worker) =>
          run(worker, "lockedIncrements", { lock, value, times: 100_000 })
        ),
      );
      assertEquals(value.value, 400_000);
      assertEquals(lock.locked(), false);
      assertEquals(new Set(idents).size, 4);
    });
  },
});

Deno.test({
  name: "A Value's RLock excludes other workers and reenters in its own",
  permissions: READ,
  async fn() {
    await withWorkers(3, async (workers) => {
      const value = new Value("q", 0n);
      await Promise.all(
        workers.map((worker) =>
          run(worker, "rlockedIncrements", { value, times: 2_000 })
        ),
      );
      assertEquals(value.value, 6_000n);
      assertEquals(value.getLock().locked(), false);
    });
  },
});

Deno.test({
  name: "RLock.release() from a thread that does not own it throws",
  permissions: READ,
  async fn() {
    await withWorkers(1, async ([worker]) => {
      const lock = new RLock();
      await lock.acquire();
      const result = await run(worker, "rlockFromOtherThread", { lock }) as {
        taken: boolean;
        timedOut: boolean;
        message: string;
        ident: number;
      };
      assertEquals(result.taken, false);
      assertEquals(result.timedOut, true);
      assertEquals(
        result.message,
        `Cannot release an RLock owned by thread 1 from thread ${result.ident}`,
      );
      assertEquals(lock.locked(), true);
      lock.release();
    });
  },
});

Deno.test({
  name: "Event.set() in the main thread wakes a waiting worker",
  permissions: READ,
  async fn() {
    await withWorkers(1, async ([worker]) => {
      const event = new Event();
      const ready = new Event();
      const woken = run(worker, "waitEvent", { event, ready, timeout: 10_000 });
      assertEquals(await ready.wait(10_000), true);
      event.set();
      assertEquals(await woken, true);
      ready.clear();
      event.clear();
      assertEquals(
        await run(worker, "waitEvent", { event, ready, timeout: 20 }),
        false,
      );
    });
  },
});

Deno.test({
  name: "Semaphore(2) never has more than two holders across workers",
  permissions: READ,
  async fn() {
    await withWorkers(4, async (workers) => {
      const sem = new Semaphore(2);
      const lock = new Lock();
      const current = new Value("i", 0);
      const most = new Value("i", 0);
      await Promise.all(
        workers.map((worker) =>
          run(worker, "semaphoreHolders", {
            sem,
            lock,
            current,
            most,
            rounds: 20,
          })
        ),
      );
      assert(most.value >= 1 && most.value <= 2, `most was ${most.value}`);
      assertEquals(current.value, 0);
      assertEquals(sem.getValue(), 2);
    });
  },
});

Deno.test({
  name: "Barrier lets workers and the main thread through together",
  permissions: READ,
  async fn() {
    await withWorkers(3, async (workers) => {
      const parties = 4;
      const rounds = 3;
      const barrier = new Barrier(parties);
      const indices = new SharedArray("i", parties * rounds);
      indices.array.fill(-1);
      const done = workers.map((worker, slot) =>
        run(worker, "barrierRounds", { barrier, indices, slot })
      );
      for (let round = 0; round < rounds; round++) {
        indices.set(round * parties + 3, await barrier.wait(10_000));
      }
      await Promise.all(done);
      for (let round = 0; round < rounds; round++) {
        const row = [
          ...indices.array.slice(round * parties, (round + 1) * parties),
        ];
        assertEquals(row.toSorted(), [0, 1, 2, 3], `round ${round}`);
      }
    });
  },
});

Deno.test({
  name: "Barrier.abort() in the main thread breaks a worker's wait",
  permissions: READ,
  async fn() {
    await withWorkers(1, async ([worker]) => {
      const barrier = new Barrier(2);
      const ready = new Event();
      const outcome = run(worker, "barrierAlone", { barrier, ready });
      await ready.wait(10_000);
      await until(() => barrier.nWaiting === 1, "the worker waits");
      barrier.abort();
      assertEquals(await outcome, "BrokenBarrierError");
      assertEquals(barrier.broken, true);
    });
  },
});

Deno.test({
  name: "BoundedSemaphore over-release throws in a worker too",
  permissions: READ,
  async fn() {
    await withWorkers(1, async ([worker]) => {
      const sem = new BoundedSemaphore(1);
      await assertRejects(
        () => run(worker, "overRelease", { sem }),
        Error,
        "Cannot release a bounded semaphore above its initial value 1",
      );
      assertEquals(sem.getValue(), 1);
    });
  },
});

Deno.test({
  name: "Condition.notifyAll() in the main thread wakes a worker's waitFor()",
  permissions: READ,
  async fn() {
    await withWorkers(1, async ([worker]) => {
      const cond = new Condition();
      const value = new Value("i", 0);
      const ready = new Event();
      const seen = run(worker, "conditionWaitFor", {
        cond,
        value,
        target: 3,
        ready,
      });
      await ready.wait(10_000);
      for (let i = 0; i < 3; i++) {
        using _held = await cond.hold();
        value.value += 1;
        cond.notifyAll();
      }
      assertEquals(await seen, 3);
    });
  },
});
