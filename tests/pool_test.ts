// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Every test runs twice, once for Pool (worker processes) and once for
// ThreadPool (worker threads): the two share one API and one contract.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async";
import {
  AsyncResult,
  type BasePoolOptions,
  BrokenWorkerError,
  MaybeEncodingError,
  Pool,
  ThreadPool,
} from "../mod.ts";
import {
  add,
  count,
  exitIf,
  exitOnThree,
  failWith,
  forever,
  init,
  initialized,
  logThenExitOn,
  mixed,
  napThen,
  pid,
  sleepThen,
  spin,
  square,
  TARGETS,
  token,
} from "./fixtures/pool_targets.ts";
import { denoBefore } from "../_util/deno.ts";
import { chunkRanges } from "../pool/_worker_loop.ts";
import { deno, isRunning, waitGone } from "./_helpers.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

type AnyPool = Pool | ThreadPool;

interface Kind {
  /** The class name, which starts every test name. */
  name: "Pool" | "ThreadPool";
  /** The size option's name. */
  option: "processes" | "threads";
  /** The worker names' pattern. */
  worker: RegExp;
  /** Makes a pool of `size` (default 2) workers on the fixture module. */
  make(options?: BasePoolOptions & { size?: number }): AnyPool;
  /** A task giving a value that differs between any two workers. */
  ident: () => number | string;
  permissions: Deno.PermissionOptionsObject;
}

const KINDS: Kind[] = [
  {
    name: "Pool",
    option: "processes",
    worker: /^PoolWorker-\d+$/,
    make: ({ size = 2, ...options } = {}) =>
      new Pool({ processes: size, module: TARGETS, ...options }),
    ident: pid,
    // Worker processes: run to spawn them, read to find deno.json.
    permissions: { run: true, read: true },
  },
  {
    name: "ThreadPool",
    option: "threads",
    worker: /^ThreadPoolWorker-\d+$/,
    make: ({ size = 2, ...options } = {}) =>
      new ThreadPool({ threads: size, module: TARGETS, ...options }),
    // Threads share Deno.pid; the token is made at each module load.
    ident: token,
    permissions: { read: true },
  },
];

/**
 * Registers one test per kind. `name` follows the class name: ".map() ..."
 * gives "Pool.map() ..." and "ThreadPool.map() ...".
 */
function poolTest(name: string, fn: (kind: Kind) => Promise<void>): void {
  for (const kind of KINDS) {
    Deno.test({
      name: `${kind.name}${name}`,
      permissions: kind.permissions,
      fn: () => fn(kind),
    });
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Collects an async iterator; a synchronous throw becomes a rejection. */
async function drain<T>(make: () => AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of make()) values.push(value);
  return values;
}

/** What `fn` throws or its promise rejects with. */
async function thrownOrRejected(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("Expected a throw or a rejection");
}

/** The reason `promise` rejects with; handled from the start. */
function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`Expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error) => error,
  );
}

async function* countTo(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    await delay(0);
    yield i;
  }
}

/** Asserts that an error is the fixture's TaskError, sent back whole. */
function assertTaskError(error: unknown, kind: string): void {
  assertInstanceOf(error, Error);
  assertStrictEquals(error.name, "TaskError");
  assertStrictEquals(error.message, `The task failed: ${kind}`);
  assertEquals(error.cause, { kind, details: [1, "two", { three: 3 }] });
  assertStrictEquals((error as Error & { code: unknown }).code, 42);
  assertMatch(error.stack ?? "", /at failWith \(.*pool_targets\.ts:\d+:\d+\)/);
}

// ---------------------------------------------------------------------------
// Results

poolTest(".map() keeps input order for every chunk size", async (kind) => {
  await using pool = kind.make();
  const items = range(1000);
  const expected = items.map((x) => x * x);
  for (const chunksize of [undefined, 1, 7, 250, 1000, 5000]) {
    assertEquals(
      await pool.map(square, items, { chunksize }),
      expected,
      `chunksize ${chunksize}`,
    );
  }
  assertEquals(await pool.map(square, []), []);
  assertEquals(await pool.map(square, new Set([3, 4])), [9, 16]);
});

poolTest(
  ".starmap() and .apply() spread each array of arguments",
  async (kind) => {
    await using pool = kind.make();
    const pairs = range(50).map((i) => [i, 1000 * i] as [number, number]);
    assertEquals(
      await pool.starmap(add, pairs),
      pairs.map(([a, b]) => a + b),
    );
    assertEquals(await pool.starmap(add, pairs, { chunksize: 3 }), [
      ...pairs.map(([a, b]) => a + b),
    ]);
    assertStrictEquals(await pool.apply(add, [2, 3]), 5);
    assertStrictEquals(await pool.apply(sleepThen, [1, "slept"]), "slept");
    // args defaults to [].
    const ident = await pool.apply(kind.ident);
    assert(typeof ident === "number" || typeof ident === "string");
    assertNotEquals(ident, kind.ident(), "the task ran in this worker");
  },
);

poolTest(
  ".applyAsync() returns an AsyncResult: ready(), successful(), get(), wait() and callbacks",
  async (kind) => {
    await using pool = kind.make();
    const seen: unknown[] = [];
    const result: AsyncResult<string> = pool.applyAsync(
      sleepThen<string>,
      [100, "late"],
      { callback: (value) => seen.push(value) },
    );
    assertStrictEquals(result.ready(), false);
    assertThrows(() => result.successful(), Error, "it is not done");
    assertStrictEquals(await result.get(), "late");
    assertStrictEquals(await result, "late");
    assertStrictEquals(result.ready(), true);
    assertStrictEquals(result.successful(), true);
    assertEquals(seen, ["late"]);

    const errors: unknown[] = [];
    const failed = pool.applyAsync(failWith, ["async"], {
      callback: (value) => seen.push(value),
      errorCallback: (error) => errors.push(error),
    });
    await failed.wait();
    assertStrictEquals(failed.ready(), true);
    assertStrictEquals(failed.successful(), false);
    assertStrictEquals(errors.length, 1);
    assertTaskError(errors[0], "async");
    assertTaskError(await failed.get().catch((error) => error), "async");
    assertEquals(seen, ["late"]);

    // get(timeout) and wait(timeout) give up on a task that never ends.
    const stuck = pool.applyAsync(forever);
    const error = await assertRejects(() => stuck.get(10), DOMException);
    assertStrictEquals(error.name, "TimeoutError");
    await stuck.wait(10);
    assertStrictEquals(stuck.ready(), false);
  },
);

Deno.test({
  name: "AsyncResult.get() and wait() reject a bad timeout instead of throwing",
  permissions: "none",
  async fn() {
    const result = new AsyncResult(new Promise<number>(() => {}));
    for (
      const wait of [
        (t: number) => result.get(t),
        (t: number) => result.wait(t),
      ]
    ) {
      const nan = await thrownOrRejected(() => wait(NaN));
      assertInstanceOf(nan, TypeError);
      assertStringIncludes(nan.message, "received number NaN");
      // What a promise-returning method must do: reject, never throw.
      let promise: Promise<unknown> | undefined;
      try {
        promise = wait("1" as unknown as number);
      } catch {
        // left undefined
      }
      assert(
        promise instanceof Promise,
        "threw synchronously instead of rejecting",
      );
      await assertRejects(() => promise, TypeError);
    }
  },
});

poolTest(
  ".mapAsync() and .starmapAsync() resolve in input order and call back",
  async (kind) => {
    await using pool = kind.make();
    const seen: unknown[] = [];
    const squares = pool.mapAsync(square, range(20), {
      callback: (value) => seen.push(value),
    });
    const sums = pool.starmapAsync(add, [[1, 2], [3, 4], [5, 6]], {
      chunksize: 2,
      callback: (value) => seen.push(value),
    });
    assertEquals(await squares.get(), range(20).map((x) => x * x));
    assertEquals(await sums.get(), [3, 7, 11]);
    assert(squares.successful() && sums.successful());
    assertEquals(seen.length, 2);
    assert(seen.some((value) => JSON.stringify(value) === "[3,7,11]"));

    const errors: unknown[] = [];
    const failed = pool.mapAsync(failWith, ["a", "b"], {
      errorCallback: (error) => errors.push(error),
    });
    await failed.wait();
    assertStrictEquals(failed.successful(), false);
    assertStrictEquals(errors.length, 1);
    assertStrictEquals((errors[0] as Error).name, "TaskError");
  },
);

poolTest(
  ".imap() yields in input order; .imapUnordered() yields each result once",
  async (kind) => {
    await using pool = kind.make();
    // Sleeps of different lengths finish out of input order.
    const items: [number, number][] = [
      [150, 0],
      [5, 1],
      [60, 2],
      [1, 3],
      [30, 4],
      [1, 5],
    ];
    assertEquals(await drain(() => pool.imap(napThen, items)), range(6));
    const unordered = await drain(() => pool.imapUnordered(napThen, items));
    assertEquals(unordered.length, 6);
    assertEquals(unordered.toSorted((a, b) => a - b), range(6));

    const many = range(100);
    assertEquals(
      await drain(() => pool.imap(square, many, { chunksize: 7 })),
      many.map((x) => x * x),
    );
    const all = await drain(() =>
      pool.imapUnordered(square, many, { chunksize: 7 })
    );
    assertEquals(all.toSorted((a, b) => a - b), many.map((x) => x * x));
    assertEquals(await drain(() => pool.imap(square, [])), []);
  },
);

poolTest(
  " takes async iterables in map(), starmap() and imap()",
  async (kind) => {
    await using pool = kind.make();
    const expected = range(30).map((x) => x * x);
    assertEquals(await pool.map(square, countTo(30)), expected);
    assertEquals(await drain(() => pool.imap(square, countTo(30))), expected);
    assertEquals(
      (await drain(() => pool.imapUnordered(square, countTo(30))))
        .toSorted((a, b) => a - b),
      expected,
    );
    async function* pairs() {
      for await (const i of countTo(5)) yield [i, i] as [number, number];
    }
    assertEquals(await pool.starmap(add, pairs()), [0, 2, 4, 6, 8]);
  },
);

// ---------------------------------------------------------------------------
// Failures

poolTest(
  " rejects with the task's error: its name, message, cause, fields and stack",
  async (kind) => {
    await using pool = kind.make();
    assertTaskError(
      await pool.apply(failWith, ["apply"]).catch((error) => error),
      "apply",
    );
    assertTaskError(
      await pool.map(failWith, ["map"]).catch((error) => error),
      "map",
    );
    assertTaskError(
      await drain(() => pool.imap(failWith, ["imap"])).catch((error) => error),
      "imap",
    );
    assertTaskError(
      await drain(() => pool.imapUnordered(failWith, ["imapUnordered"]))
        .catch((error) => error),
      "imapUnordered",
    );
    // The workers survive a task's error.
    assertEquals(
      await pool.map(square, range(10)),
      range(10).map((x) => x * x),
    );
  },
);

poolTest(
  " rejects with BrokenWorkerError when a worker exits mid-task, then works on",
  async (kind) => {
    await using pool = kind.make();
    const error = await assertRejects(
      () => pool.starmap(exitIf, [[1, 7], [2, 7], [7, 7], [4, 7]]),
      BrokenWorkerError,
    );
    assertStrictEquals(error.name, "BrokenWorkerError");
    // Deno before 2.7 loses the code a worker passes to Deno.exit() (its
    // unload reads Deno.exitCode as 0; see ARCHITECTURE.md, "Supported Deno
    // releases"): a thread's is 0 there.
    const code = kind.name === "ThreadPool" && denoBefore(2, 7) ? 0 : 7;
    assertStrictEquals(error.exitCode, code);
    assertStrictEquals(error.task, 2);
    assertMatch(error.worker, kind.worker);
    assert(typeof error.pid === "number");
    assertStringIncludes(error.message, `exited with code ${code}`);
    assertEquals(
      await pool.map(square, range(40)),
      range(40).map((x) => x * x),
    );
    const again = await assertRejects(
      () => pool.apply(exitIf, [7, 7]),
      BrokenWorkerError,
    );
    assertStrictEquals(again.task, 0);
    assertEquals(await pool.starmap(exitIf, [[1, 7], [2, 7]]), [1, 2]);
  },
);

poolTest(
  " rejects a task over its timeout with a TimeoutError and replaces its worker",
  async (kind) => {
    await using pool = kind.make({ size: 1 });
    const before = await pool.apply(kind.ident);
    const error = await assertRejects(
      () => pool.apply(sleepThen, [60_000, "late"], { timeout: 100 }),
      DOMException,
    );
    assertStrictEquals(error.name, "TimeoutError");
    assertStringIncludes(error.message, "timeout of 100 ms");
    if (kind.name === "Pool") await waitGone(before as number);
    const after = await pool.apply(kind.ident);
    assertNotEquals(after, before);
    if (kind.name === "Pool") assert(isRunning(after as number));
    // Tasks within the timeout are not affected, nor are later calls.
    assertEquals(
      await pool.map(napThen<string>, [[1, "a"], [1, "b"]], {
        timeout: 10_000,
      }),
      ["a", "b"],
    );
    const mapped = await assertRejects(
      () =>
        pool.map(napThen<string>, [[1, "a"], [60_000, "b"]], { timeout: 100 }),
      DOMException,
    );
    assertStrictEquals(mapped.name, "TimeoutError");
    assertEquals(
      await pool.map(square, range(10)),
      range(10).map((x) => x * x),
    );
  },
);

poolTest(
  " cancels running work with the signal's reason, then works on",
  async (kind) => {
    await using pool = kind.make();
    await pool.map(square, [1, 2]); // the workers are up
    const controller = new AbortController();
    const reason = new Error("no longer wanted");
    const running = pool.map(forever, range(4), {
      chunksize: 1,
      signal: controller.signal,
    });
    const iterating = drain(() =>
      pool.imap(forever, range(2), { signal: controller.signal })
    );
    await delay(50); // long enough for the tasks to reach the workers
    controller.abort(reason);
    assertStrictEquals(await running.catch((error) => error), reason);
    assertStrictEquals(await iterating.catch((error) => error), reason);
    // An aborted signal rejects at once.
    assertStrictEquals(
      await pool.apply(square, [2], { signal: controller.signal })
        .catch((error) => error),
      reason,
    );
    assertStrictEquals(
      await pool.map(square, [2], { signal: controller.signal })
        .catch((error) => error),
      reason,
    );
    assertEquals(
      await pool.map(square, range(10)),
      range(10).map((x) => x * x),
    );
  },
);

/** An AbortSignal that tracks the listeners added to it and not removed. */
function watchedSignal(): { signal: AbortSignal; listeners: Set<unknown> } {
  const signal = new AbortController().signal;
  const listeners = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  type Args = [string, EventListenerOrEventListenerObject, unknown?];
  Object.assign(signal, {
    addEventListener(...[type, listener, options]: Args) {
      listeners.add(listener);
      add(type, listener, options as AddEventListenerOptions);
    },
    removeEventListener(...[type, listener, options]: Args) {
      listeners.delete(listener);
      remove(type, listener, options as EventListenerOptions);
    },
  });
  return { signal, listeners };
}

poolTest(
  " removes its abort listener from the signal once a call is done",
  async (kind) => {
    await using pool = kind.make();
    const calls: Record<string, (signal: AbortSignal) => Promise<unknown>> = {
      "apply()": (signal) => pool.apply(square, [2], { signal }),
      "map()": (signal) => pool.map(square, [1, 2, 3], { signal }),
      "map() that fails": (signal) =>
        pool.map(failWith, ["x"], { signal }).catch(() => {}),
      "imap()": (signal) => drain(() => pool.imap(square, [1, 2], { signal })),
      "imapUnordered()": (signal) =>
        drain(() => pool.imapUnordered(square, [1, 2], { signal })),
    };
    const left: string[] = [];
    for (const [name, call] of Object.entries(calls)) {
      const { signal, listeners } = watchedSignal();
      await call(signal);
      if (listeners.size > 0) left.push(name);
    }
    assertEquals(left, [], "calls that left a listener on their signal");
  },
);

poolTest(
  " with maxTasksPerChild replaces each worker after that many chunks",
  async (kind) => {
    await using pool = kind.make({ maxTasksPerChild: 1 });
    const idents = await pool.map(kind.ident, range(6), { chunksize: 1 });
    assertEquals(new Set(idents).size, 6, `got ${idents}`);
    // A chunk counts as one task, as in Python.
    const chunked = await pool.map(kind.ident, range(6), { chunksize: 3 });
    assertEquals(new Set(chunked.slice(0, 3)).size, 1);
    assertEquals(new Set(chunked.slice(3)).size, 1);
    assertNotEquals(chunked[0], chunked[3]);
    assert(!idents.includes(chunked[0]) && !idents.includes(chunked[3]));
  },
);

poolTest(
  " runs the initializer with initargs in each worker before its tasks",
  async (kind) => {
    const value = { answer: 42, list: ["a", "b"] };
    {
      await using pool = kind.make({ initializer: init, initargs: [value] });
      assertEquals(
        await pool.map(initialized, range(8), { chunksize: 1 }),
        range(8).map(() => value),
      );
    }
    // Fresh workers run it too.
    await using pool = kind.make({
      initializer: init,
      initargs: [value],
      maxTasksPerChild: 1,
    });
    assertEquals(
      await pool.map(initialized, range(4), { chunksize: 1 }),
      range(4).map(() => value),
    );
  },
);

poolTest(
  " rejects work with BrokenWorkerError when the initializer fails, instead of hanging",
  async (kind) => {
    // The workers print the initializer's error: expected in the test output.
    await using pool = kind.make({ initializer: failWith, initargs: ["init"] });
    const error = await assertRejects(
      () => pool.map(square, [1, 2, 3]),
      BrokenWorkerError,
      "before they were ready",
    );
    assertMatch(error.worker, kind.worker);
    assertStrictEquals(error.exitCode, 1);
    assertStrictEquals(error.task, null);
  },
);

// ---------------------------------------------------------------------------
// Life cycle

poolTest(
  ".join() rejects while running; after close() new work is refused and join() resolves",
  async (kind) => {
    const pool = kind.make();
    try {
      await assertRejects(() => pool.join(), Error, "still running");
      const idents = await pool.map(kind.ident, range(8), { chunksize: 1 });
      pool.close();
      pool.close(); // a no-op
      await assertRejects(
        () => pool.map(square, [1]),
        Error,
        `the ${kind.name === "Pool" ? "pool" : "thread pool"} is closed`,
      );
      await assertRejects(() => pool.apply(square, [1]), Error, "closed");
      await assertRejects(() => pool.starmap(add, [[1, 2]]), Error, "closed");
      await assertRejects(() => drain(() => pool.imap(square, [1])), Error);
      await pool.join();
      await pool.join(); // again, at once
      if (kind.name === "Pool") {
        for (const pid of new Set(idents)) assert(!isRunning(pid as number));
      }
    } finally {
      await pool.terminate();
    }
  },
);

poolTest(
  " runs the work submitted before close() to the end, then join() resolves",
  async (kind) => {
    const pool = kind.make();
    try {
      // Python's `r = pool.map_async(...); pool.close(); pool.join()`.
      const submitted = Promise.allSettled([
        pool.apply(sleepThen, [50, "apply"]),
        pool.starmap(sleepThen, [[50, "a"], [50, "b"], [50, "c"]]),
        pool.map(square, [1, 2, 3]),
        pool.mapAsync(square, [6, 7]).get(),
        drain(() => pool.imap(square, [4, 5])),
      ]);
      pool.close();
      await pool.join();
      assertEquals(
        (await submitted).map((outcome) =>
          outcome.status === "fulfilled"
            ? outcome.value
            : String(outcome.reason)
        ),
        ["apply", ["a", "b", "c"], [1, 4, 9], [36, 49], [16, 25]],
      );
    } finally {
      await pool.terminate();
    }
  },
);

poolTest(
  ".terminate() rejects queued and running work, and every later call",
  async (kind) => {
    const pool = kind.make();
    let idents: (number | string)[] = [];
    try {
      idents = await pool.map(kind.ident, range(8), { chunksize: 1 });
      const running = rejection(pool.map(forever, range(4), { chunksize: 1 }));
      const iterating = rejection(drain(() => pool.imap(forever, range(2))));
      await delay(20);
      // Both workers are busy for ever: this one waits in the queue.
      const queued = pool.applyAsync(square, [3]);
      await pool.terminate();
      for (const error of [await running, await iterating]) {
        assertInstanceOf(error, Error);
        assertStringIncludes(error.message, "was terminated");
      }
      await assertRejects(() => queued.get(), Error, "was terminated");
      assertStrictEquals(queued.successful(), false);
    } finally {
      await pool.terminate();
    }
    await pool.terminate(); // a no-op
    await pool.join();
    pool.close(); // a no-op
    if (kind.name === "Pool") {
      for (const pid of new Set(idents)) assert(!isRunning(pid as number));
    }
    await assertRejects(() => pool.map(square, [1]), Error, "terminated");
    await assertRejects(() => pool.starmap(add, [[1, 2]]), Error, "terminated");
    await assertRejects(() => pool.apply(square, [1]), Error, "terminated");
    await assertRejects(() => pool.applyAsync(square, [1]).get(), Error);
    await assertRejects(() => drain(() => pool.imap(square, [1])), Error);
  },
);

poolTest(
  " ends its workers when leaving an await using block",
  async (kind) => {
    let escaped: AnyPool;
    let idents: (number | string)[];
    {
      await using pool = kind.make();
      escaped = pool;
      idents = await pool.map(kind.ident, range(4), { chunksize: 1 });
    }
    await escaped.join();
    await assertRejects(() => escaped.map(square, [1]), Error, "terminated");
    if (kind.name === "Pool") {
      for (const pid of new Set(idents)) assert(!isRunning(pid as number));
    }
  },
);

// ---------------------------------------------------------------------------
// Bad input

poolTest(
  " rejects bad options, saying what it expected and what it received",
  async (kind) => {
    const { option } = kind;
    assertThrows(
      () => kind.make({ size: 0 }),
      RangeError,
      `expected ${option} to be >= 1, received 0`,
    );
    assertThrows(
      () => kind.make({ size: 1.5 }),
      TypeError,
      `expected ${option} to be an integer, received number 1.5`,
    );
    assertThrows(
      () => kind.make({ maxTasksPerChild: 0 }),
      RangeError,
      "expected maxTasksPerChild to be >= 1, received 0",
    );
    assertThrows(
      () => kind.make({ initargs: "x" as unknown as unknown[] }),
      TypeError,
      'expected initargs to be an array, received the string "x"',
    );

    await using pool = kind.make();
    await assertRejects(
      () => pool.map(square, [1], { chunksize: 0 }),
      RangeError,
      "expected chunksize to be >= 1, received 0",
    );
    await assertRejects(
      () => pool.map(square, [1], { chunksize: 2.5 }),
      TypeError,
      "expected chunksize to be an integer, received number 2.5",
    );
    await assertRejects(
      () => drain(() => pool.imap(square, [1], { chunksize: 0 })),
      RangeError,
      "expected chunksize to be >= 1, received 0",
    );
    await assertRejects(
      () => pool.map(square, [1], { timeout: -1 }),
      RangeError,
      "expected timeout to be a number >= 0, received -1",
    );
    await assertRejects(
      () => pool.apply(square, [1], { timeout: -1 }),
      RangeError,
      "expected timeout to be a number >= 0, received -1",
    );
    await assertRejects(
      () => pool.apply(square, [1], { timeout: NaN }),
      TypeError,
      "expected timeout to be a number of milliseconds, received number NaN",
    );
    class NotAFunction {}
    await assertRejects(
      () => pool.map(NotAFunction as unknown as typeof square, [1]),
      TypeError,
      "expected a function, received class NotAFunction",
    );
    await assertRejects(
      () => pool.apply(5 as unknown as typeof square, [1]),
      TypeError,
      "expected a function, received number 5",
    );
    await assertRejects(
      () => drain(() => pool.imap(5 as unknown as typeof square, [1])),
      TypeError,
      "expected a function, received number 5",
    );
    await assertRejects(
      () => pool.applyAsync(5 as unknown as typeof square, [1]).get(),
      TypeError,
      "expected a function, received number 5",
    );
    await assertRejects(
      () => pool.map(square, 5 as unknown as number[]),
      TypeError,
      "expected an iterable or async iterable, received number 5",
    );
    await assertRejects(
      () => drain(() => pool.imap(square, 5 as unknown as number[])),
      TypeError,
      "expected an iterable or async iterable, received number 5",
    );
    await assertRejects(
      () => pool.starmap(add, [[1, 2], 2 as unknown as [number, number]]),
      TypeError,
      "expected item 1 to be an array of arguments, received number 2",
    );
    await assertRejects(
      () => pool.apply(square, 3 as unknown as [number]),
      TypeError,
      "expected args to be an array, received number 3",
    );
    // Bad input leaves the pool working.
    assertEquals(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
  },
);

poolTest(
  " refuses a callback that is not a function before sending any work",
  async (kind) => {
    await using pool = kind.make({ size: 1 });
    const bad = 5 as unknown as () => void;
    const refused = [
      await thrownOrRejected(() =>
        pool.applyAsync(count, [], { callback: bad }).get()
      ),
      await thrownOrRejected(() =>
        pool.mapAsync(count, [1], { errorCallback: bad }).get()
      ),
    ];
    for (const error of refused) {
      assertInstanceOf(error, TypeError);
      assertMatch(
        error.message,
        /expected (callback|errorCallback) to be a function, received number 5/,
      );
    }
    // One worker runs the tasks in order: had a refused task run, it would
    // have counted first.
    assertStrictEquals(await pool.apply(count), 1, "a refused task ran");
  },
);

Deno.test({
  name:
    "A pool never closed does not keep its program alive: its workers are daemons",
  permissions: { run: true, read: true },
  async fn(t) {
    for (const scenario of ["unclosed-pool", "unclosed-thread-pool"]) {
      await t.step(scenario, async () => {
        const { code, stdout, stderr } = await deno([
          "run",
          "-A",
          "tests/fixtures/exit_program.ts",
          scenario,
        ]);
        assertEquals(code, 0, stderr);
        assertEquals(stdout, "[ 1, 4, 9 ]\ndone\n");
      });
    }
  },
});

Deno.test({
  name: "Pool times each task of a batch of synchronous tasks on its own",
  permissions: { run: true, read: true },
  async fn() {
    await using pool = new Pool({ processes: 1, module: TARGETS });
    // Four tasks of 150 ms in one batch, each well under its 600 ms: the
    // results leave as they come, so no task is timed from the batch start.
    assertEquals(
      await pool.map(spin, [150, 150, 150, 150], {
        chunksize: 4,
        timeout: 600,
      }),
      [150, 150, 150, 150],
    );
  },
});

Deno.test({
  name: "Pool blames only the task that ended its worker, even inside a batch",
  permissions: { run: true, read: true },
  async fn() {
    await using pool = new Pool({ processes: 1, module: TARGETS });
    const got: number[] = [];
    const error = await assertRejects(async () => {
      for await (
        const value of pool.imapUnordered(exitOnThree, [0, 1, 2, 3, 4, 5], {
          chunksize: 6,
        })
      ) got.push(value as number);
    }, BrokenWorkerError);
    assertEquals((error as BrokenWorkerError).task, 3);
    assertEquals((error as BrokenWorkerError).exitCode, 5);
    assertEquals(got.sort(), [0, 1, 2]);
  },
});

poolTest(
  ".map() gives results of every kind in order, plain ones batched among the others",
  async (kind) => {
    await using pool = kind.make();
    const n = 600;
    // Numbers and strings wait in the worker and leave together; objects
    // leave at once. Results come back in order all the same.
    const plainOrObject = range(n).filter((i) => i % 6 <= 2 || i % 6 === 5);
    const results = await pool.map(mixed, plainOrObject);
    assertEquals(
      results,
      plainOrObject.map((i) =>
        i % 6 === 0
          ? i
          : i % 6 === 1
          ? { i }
          : i % 6 === 2
          ? `s${i}`
          : undefined
      ),
    );
    // A result that cannot be cloned fails its call with a clear error,
    // after a plain one waiting in the worker.
    const error = await thrownOrRejected(() => pool.map(mixed, [6, 3, 12]));
    assertInstanceOf(error, MaybeEncodingError);
    assertStringIncludes(String(error), "Error sending result: the result");
    assertStringIncludes(String(error), "could not be cloned");
  },
);

Deno.test({
  name:
    "map's default chunks start at Python's size and shrink as the work runs out",
  permissions: {},
  fn() {
    const ranges = [...chunkRanges(20_000, null, 2)];
    // Python's first chunk: ceil(n / (4 × workers)).
    assertEquals(ranges[0], [0, 2500]);
    // Contiguous, in order, covering every task once.
    assertEquals(ranges[ranges.length - 1][1], 20_000);
    ranges.forEach(([start], i) => {
      if (i > 0) assertEquals(start, ranges[i - 1][1]);
    });
    const sizes = ranges.map(([start, end]) => end - start);
    // Never growing, and small at the end: a quarter of what is left per
    // worker, down to a floor of ceil(20,000 / 512) = 40.
    sizes.forEach((size, i) => {
      if (i > 0) assertEquals(size <= sizes[i - 1], true, `${sizes}`);
    });
    assertEquals(sizes[1], Math.ceil(17_500 / 8));
    assertEquals(sizes[sizes.length - 1] <= 40, true, `${sizes}`);
    assertEquals(ranges.length < 100, true, `${ranges.length} chunks`);
    // A chunksize given is kept, as Python keeps it.
    assertEquals([...chunkRanges(10, 3, 2)], [[0, 3], [3, 6], [6, 9], [9, 10]]);
    assertEquals([...chunkRanges(0, null, 2)], []);
    assertEquals([...chunkRanges(3, null, 8)], [[0, 1], [1, 2], [2, 3]]);
  },
});

Deno.test({
  name:
    "Pool: results a worker held back leave before a task's Deno.exit(), so no finished task runs again",
  permissions: { run: true, read: true, write: true },
  async fn() {
    const path = await Deno.makeTempFile();
    try {
      await using pool = new Pool({ processes: 1, module: TARGETS });
      const tasks = range(8).map((i): [string, number, number] => [path, i, 5]);
      const error = await thrownOrRejected(() =>
        pool.starmap(logThenExitOn, tasks, { chunksize: 8 })
      );
      assertEquals(error instanceof BrokenWorkerError, true, String(error));
      const ran = (await Deno.readTextFile(path)).trim().split("\n");
      // Tasks 0 to 4 reported before the exit: each ran once. (Task 5 may
      // run again, alone, to find which task ended the worker.)
      assertEquals(ran.slice(0, 6), ["0", "1", "2", "3", "4", "5"]);
      assertEquals(ran.slice(6).every((i) => i === "5"), true, `${ran}`);
    } finally {
      await Deno.remove(path);
    }
  },
});

poolTest(
  ": a task that cannot be sent fails its call and the workers live on (_test_multiprocessing: Python's task handler sets the pickling error on its job)",
  async (kind) => {
    await using pool = kind.make({ size: 1 });
    const before = await pool.apply(kind.ident);
    const unsendable = (() => 2) as unknown as number;
    const error = await assertRejects(
      () => pool.map(square, [1, unsendable, 3], { chunksize: 1 }),
      TypeError,
      "Cannot send task 1 to a worker of the pool",
    );
    assertStringIncludes(String(error.cause), "could not be cloned");
    // imap: the results before it arrive, then the error, in order.
    const seen: unknown[] = [];
    await assertRejects(
      async () => {
        for await (
          const value of pool.imap(square, [2, unsendable], { chunksize: 1 })
        ) seen.push(value);
      },
      TypeError,
      "Cannot send task 1",
    );
    assertEquals(seen, [4]);
    assertEquals(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
    // The same worker: none died.
    assertEquals(await pool.apply(kind.ident), before);
  },
);

poolTest(
  ".imap() reads its items as it goes: an endless iterable yields, and a slow consumer bounds the reading (_test_multiprocessing _TestPool.test_imap_handle_iterable_exception)",
  async (kind) => {
    await using pool = kind.make();
    let read = 0;
    let closed = false;
    function* naturals() {
      try {
        for (let i = 0;; i++) {
          read++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const first: number[] = [];
    for await (const value of pool.imap(square, naturals())) {
      first.push(value);
      if (first.length === 5) break;
    }
    assertEquals(first, [0, 1, 4, 9, 16]);
    // The reading ends on its own turn of the event loop.
    for (let i = 0; i < 100 && !closed; i++) await delay(5);
    assert(closed, "the iterator was not closed");
    // A consumer that takes one result and pauses: reading stops ahead.
    read = 0;
    const paused = pool.imap(square, naturals());
    assertEquals((await paused.next()).value, 0);
    await delay(100);
    assert(read <= 1 + 64 + 1, `read ${read} items ahead of the consumer`);
    await paused.return?.(undefined);
    // An iterable that throws at item 3: results 0, 1, 2, then the error.
    async function* failing() {
      yield* [0, 1, 2];
      throw new RangeError("the input broke");
    }
    for (const ordered of [true, false]) {
      const seen: number[] = [];
      const call = ordered
        ? pool.imap(square, failing())
        : pool.imapUnordered(square, failing());
      await assertRejects(
        async () => {
          for await (const value of call) seen.push(value);
        },
        RangeError,
        "the input broke",
      );
      if (ordered) assertEquals(seen, [0, 1, 4]);
      else assert(seen.every((value) => [0, 1, 4].includes(value)));
    }
    // The pool goes on.
    assertEquals(await pool.map(square, [3]), [9]);
  },
);
