// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Cases from CPython's own suites (Lib/test/lock_tests.py,
// _test_multiprocessing.py, test_threading.py), ported to this API: each
// test names the case it follows.
import {
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async";
import {
  AsyncResult,
  Barrier,
  BrokenBarrierError,
  Condition,
  Event,
  type ExceptHookArgs,
  getAllStartMethods,
  JoinableQueue,
  local,
  Lock,
  Pipe,
  Pool,
  Process,
  Queue,
  RawArray,
  RawValue,
  RLock,
  Semaphore,
  SharedArray,
  Thread,
  Timer,
  Value,
} from "../mod.ts";
import {
  actionsRun,
  bumpTypecodes,
  CASE_TARGETS,
  countAction,
  doubleEach,
  notifyCondition,
  poolsOfTwo,
  putOne,
  sendThree,
  sleepLong,
  square,
  tryGet,
  useLocal,
  waitAtBarrier,
  waitOnCondition,
  watchBarrier,
  watchSemaphore,
} from "./fixtures/case_targets.ts";
import { exitWith, sleepFor, TARGETS } from "./fixtures/targets.ts";
import { deno } from "./_helpers.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

/** Runs a target of case_targets.ts in a thread or a process; its exit code. */
async function runToEnd<A extends unknown[]>(
  Runner: typeof Thread | typeof Process,
  target: (...args: A) => unknown,
  args: A,
): Promise<number | null> {
  const runner = new Runner({ target, args, module: CASE_TARGETS });
  runner.start();
  await runner.join();
  return runner.exitCode;
}
import {
  failHidden,
  failWithCause,
  THREAD_TARGETS,
} from "./fixtures/thread_targets.ts";

Deno.test({
  name:
    "Event: every waiter woken by set() returns true, even after an immediate clear() (lock_tests EventTests.test_set_and_clear)",
  permissions: {},
  async fn() {
    const event = new Event();
    const waiters = Array.from({ length: 5 }, () => event.wait(5_000));
    event.set();
    event.clear();
    assertEquals(await Promise.all(waiters), [true, true, true, true, true]);
    assertEquals(event.isSet(), false);
    // A wait that starts after the clear() waits for the next set().
    assertEquals(await event.wait(20), false);
  },
});

Deno.test({
  name:
    "An empty name gives the default name; the setter takes any string (test_threading ThreadTests.test_various_ops, Python's `name or default`)",
  permissions: {},
  fn() {
    const thread = new Thread({ name: "" });
    assertMatch(thread.name, /^Thread-\d+$/);
    const process = new Process({ name: "" });
    assertMatch(process.name, /^Process-\d+$/);
    thread.name = "";
    process.name = "";
    assertEquals([thread.name, process.name], ["", ""]);
  },
});

Deno.test({
  name:
    "A negative timeout does not wait in join(), poll(), Event.wait(), Condition.wait() and AsyncResult.get() (Python's meaning)",
  permissions: { read: true },
  async fn() {
    const thread = new Thread({
      target: sleepFor,
      args: [60_000],
      module: TARGETS,
    });
    thread.start();
    await thread.join(-1);
    assertEquals(thread.isAlive(), true);
    await thread.terminate();
    const [reader] = Pipe(false);
    assertEquals(await reader.poll(-1), false);
    reader.close();
    assertEquals(await new Event().wait(-1), false);
    const cond = new Condition();
    await cond.acquire();
    assertEquals(await cond.wait(-5), false);
    cond.release();
    const never = new AsyncResult(new Promise<number>(() => {}));
    const error = await assertRejects(() => never.get(-1), DOMException);
    assertEquals(error.name, "TimeoutError");
    await never.wait(-1);
    // Queue.get() and put() keep Python's ValueError.
    await assertRejects(() => new Queue().get(-1), RangeError, ">= 0");
  },
});

Deno.test({
  name:
    "acquire({ timeout: -1 }) waits with no limit; other negative timeouts are refused (lock_tests BaseLockTests.test_timeout)",
  permissions: {},
  async fn() {
    for (const lock of [new Lock(), new RLock(), new Semaphore(1)]) {
      assertEquals(await lock.acquire({ timeout: -1 }), true);
      if (!(lock instanceof RLock)) {
        // Held: a second acquire waits until the release.
        let done = false;
        const waiter = lock.acquire({ timeout: -1 }).then((ok) => {
          done = true;
          return ok;
        });
        await delay(20);
        assertEquals(done, false);
        lock.release();
        assertEquals(await waiter, true);
      }
      lock.release();
      await assertRejects(
        () => lock.acquire({ timeout: -2 }),
        RangeError,
        "or -1 for no limit, received -2",
      );
      // Python: a non-blocking acquire with timeout -1 is allowed.
      assertEquals(await lock.acquire({ blocking: false, timeout: -1 }), true);
      lock.release();
    }
  },
});

Deno.test({
  name:
    "After close(), isAlive(), join() and terminate() throw and close() may be repeated (_test_multiprocessing _TestProcess.test_close)",
  permissions: { read: true, run: true },
  async fn() {
    const process = new Process({
      target: exitWith,
      args: [0],
      module: TARGETS,
    });
    process.start();
    await process.join();
    process.close();
    assertThrows(
      () => process.isAlive(),
      Error,
      "the process object is closed",
    );
    await assertRejects(() => process.join(), Error, "is closed");
    assertThrows(() => process.terminate(), Error, "is closed");
    process.close();
    // What identifies it stays readable, as its repr shows.
    assertEquals(process.exitCode, 0);
  },
});

Deno.test({
  name:
    "Thread.excepthook receives the error's class as excType and an instance of it, with its cause (test_threading ExceptHookTests.test_excepthook)",
  permissions: { read: true },
  async fn() {
    const seen: ExceptHookArgs[] = [];
    const saved = Thread.excepthook;
    Thread.excepthook = (args) => seen.push(args);
    try {
      for (const target of [failWithCause, failHidden]) {
        const thread = new Thread({ target, module: THREAD_TARGETS });
        thread.start();
        await thread.join();
      }
    } finally {
      Thread.excepthook = saved;
    }
    const [typed, hidden] = seen;
    assertEquals(typed.excType, TypeError);
    assertInstanceOf(typed.excValue, TypeError);
    assertEquals(typed.excValue.message, "the error");
    assertInstanceOf(typed.excValue.cause, RangeError);
    assertEquals((typed.excValue.cause as unknown as { code: number }).code, 7);
    // A class no module exports cannot be found here: an Error keeps its name.
    assertEquals(hidden.excType, Error);
    assertEquals([hidden.excValue.name, hidden.excValue.message], [
      "HiddenError",
      "hidden",
    ]);
  },
});

Deno.test({
  name:
    "mainThread().join() in a thread, and in its thread, waits for the main thread to end (test_threading ThreadTests.test_main_thread_during_shutdown)",
  permissions: { read: true, run: true },
  async fn() {
    const { code, stdout, stderr } = await deno([
      "run",
      "--allow-read",
      "tests/fixtures/thread_program.ts",
      "join-main",
    ]);
    assertEquals(code, 0, stderr);
    const lines = stdout.trim().split("\n");
    assertEquals(lines.slice(0, 3), [
      "depth 0: alive after a timed join: true",
      "depth 1: alive after a timed join: true",
      "main done",
    ]);
    assertEquals(lines.slice(3).sort(), [
      "depth 0: joined, alive: false",
      "depth 1: joined, alive: false",
    ]);
  },
});

Deno.test({
  name:
    "SharedArray takes arr[i] and arr[-1] and iterates, in this thread, a thread and a process (_test_multiprocessing _TestArray.test_array)",
  permissions: { read: true, run: true },
  async fn() {
    const items = new SharedArray("i", [1, 2, 3, 0]);
    items[0] = 5;
    assertEquals([items[0], items[-1], items.get(0)], [5, 0, 5]);
    assertEquals([...items], [5, 2, 3, 0]);
    assertEquals([0 in items, (-4) in items, 4 in items], [true, true, false]);
    // As Python's IndexError and TypeError: nothing is set silently.
    assertThrows(() => items[4] = 1, RangeError, "expected an index");
    assertThrows(() => items[1.5] = 1, TypeError, "integer index");
    assertThrows(() => items[0] = "x" as never, TypeError);
    assertEquals(items.get(0), 5);
    // The methods are the array's own, and stay the same functions.
    assertEquals(items.get === items.get, true);
    assertInstanceOf(items, SharedArray);
    items[0] = 1;
    assertEquals(await runToEnd(Thread, doubleEach, [items]), 0);
    assertEquals(await runToEnd(Process, doubleEach, [items]), 0);
    // Doubled twice; the sum written at -1 by the last one.
    assertEquals([...items], [4, 8, 12, 24]);
  },
});

Deno.test({
  name:
    "Queue.close() ends this process's use: put() and get() reject, qsize() and full() answer, other processes go on (_test_multiprocessing test_closed_queue_put_get_exceptions)",
  permissions: { read: true, run: true },
  async fn() {
    for (const queue of [new Queue<number>(2), new JoinableQueue<number>(2)]) {
      await queue.put(1);
      queue.close();
      await assertRejects(() => queue.put(2), Error, "is closed");
      await assertRejects(() => queue.get(), Error, "is closed");
      await assertRejects(() => queue.empty(), Error, "is closed");
      assertEquals(await queue.qsize(), 1);
      assertEquals(await queue.full(), false);
      if (queue instanceof JoinableQueue) await queue.taskDone();
    }
    // Closed here, unused: a child still puts on it.
    const queue = new Queue<string>();
    queue.close();
    assertEquals(await runToEnd(Process, putOne, [queue]), 0);
    assertEquals(await queue.qsize(), 1);
  },
});

Deno.test({
  name:
    "Barrier.nWaiting and broken work in a child process, as in every Python process (lock_tests BarrierTests.test_abort)",
  permissions: { read: true, run: true },
  async fn() {
    const barrier = new Barrier(2);
    const out = new Queue<unknown>();
    const child = new Process({
      target: watchBarrier,
      args: [barrier, out],
      module: CASE_TARGETS,
    });
    const mine = barrier.wait();
    child.start();
    // The child saw this one waiting, then passed the barrier with it.
    assertEquals(await out.get(), [2, 1]);
    const indices = [await mine, await out.get()].sort();
    assertEquals(indices, [0, 1]);
    barrier.abort();
    assertEquals(await out.get(), true);
    await child.join();
    assertEquals(child.exitCode, 0);
  },
});

Deno.test({
  name:
    "A Condition goes to a process: it waits and is notified there, notifies from there, and a waiter that dies takes no wake with it (_test_multiprocessing _TestCondition.test_notify)",
  permissions: { read: true, run: true },
  async fn() {
    for (const cond of [new Condition(), new Condition(new Lock())]) {
      const state = new Value("i", 0);
      const out = new Queue<unknown>();
      // A child waits; this process changes the state and notifies.
      const waiter = new Process({
        target: waitOnCondition,
        args: [cond, state, out],
        module: CASE_TARGETS,
      });
      waiter.start();
      assertEquals(await out.get(), "waiting");
      {
        // Acquired only once the child's wait has let go of the lock.
        using _held = await cond.hold();
        state.value = 1;
        cond.notify();
      }
      assertEquals(await out.get(), true);
      await waiter.join();
      assertEquals(waiter.exitCode, 0);
      // This process waits; a child notifies.
      {
        using _held = await cond.hold();
        const waiting = cond.wait(20_000);
        assertEquals(await runToEnd(Process, notifyCondition, [cond]), 0);
        assertEquals(await waiting, true);
      }
      // A child killed while it waits: the next notify reaches this one.
      state.value = 0;
      const doomed = new Process({
        target: waitOnCondition,
        args: [cond, state, out],
        module: CASE_TARGETS,
      });
      doomed.start();
      assertEquals(await out.get(), "waiting");
      (await cond.hold())[Symbol.dispose]();
      doomed.kill();
      await doomed.join();
      using _held = await cond.hold();
      const mine = cond.wait(20_000);
      await notifyLater(cond);
      assertEquals(await mine, true);
    }
  },
});

/** Notifies once, from another task of this thread, with the lock held. */
async function notifyLater(cond: Condition): Promise<void> {
  await delay(0);
  using _held = await cond.hold();
  cond.notify();
}

Deno.test({
  name:
    "getAllStartMethods(), Timer.function and args, Pool(2) and ThreadPool(2) as Python spells them",
  permissions: { read: true, run: true },
  async fn() {
    assertEquals(getAllStartMethods(), ["spawn", "warm"]);
    const timer = new Timer(10, square, [3]);
    assertEquals([timer.function, timer.args], [square, [3]]);
    for (const pool of poolsOfTwo()) {
      await using _pool = pool;
      assertEquals(pool.size, 2);
      assertEquals(await pool.map(square, [1, 2]), [1, 4]);
    }
    assertThrows(() => new Pool(0), RangeError, ">= 1");
  },
});

Deno.test({
  name:
    "for await reads a Queue until closed here and a Connection until its peer closes; await using closes a Queue",
  permissions: { read: true, run: true },
  async fn() {
    const [reader, writer] = Pipe<number>(false);
    const child = new Process({
      target: sendThree,
      args: [writer],
      module: CASE_TARGETS,
    });
    child.start();
    writer.close();
    const received: number[] = [];
    for await (const n of reader) received.push(n);
    assertEquals(received, [1, 2, 3]);
    await child.join();
    const taken: number[] = [];
    {
      await using queue = new Queue<number>();
      for (const n of [1, 2, 3]) await queue.put(n);
      for await (const n of queue) {
        taken.push(n);
        if (taken.length === 2) queue.close();
      }
      assertEquals(await queue.qsize(), 1);
    }
    assertEquals(taken, [1, 2]);
  },
});

Deno.test({
  name: "A Thread's signal terminates it, as a Process's does",
  permissions: { read: true },
  async fn() {
    const controller = new AbortController();
    const thread = new Thread({
      target: sleepLong,
      module: CASE_TARGETS,
      signal: controller.signal,
    });
    thread.start();
    controller.abort();
    await thread.join();
    assertEquals(thread.exitCode, -15);
    const late = new Thread({ target: sleepLong, signal: controller.signal });
    assertThrows(() => late.start(), DOMException);
    assertThrows(
      () => new Thread({ signal: {} as AbortSignal }),
      TypeError,
      "expected signal to be an AbortSignal",
    );
  },
});

Deno.test({
  name:
    "Typecodes c, u, l and L and RawValue, here, in a thread and in a process (_test_multiprocessing _TestValue.test_value)",
  permissions: { read: true, run: true },
  async fn() {
    const letter = RawValue("c", "a");
    const wide = new SharedArray("u", ["é", "ω"]);
    const long = new Value("l", -(2n ** 62n));
    const unsigned = RawValue("L", 2n ** 63n);
    assertEquals(wide.array.BYTES_PER_ELEMENT, 4);
    assertThrows(() => letter.getLock(), Error, "lock false");
    assertThrows(() => letter.value = "ab", TypeError, "one-character");
    assertThrows(() => letter.value = "\u0100", RangeError, "typecode");
    assertThrows(() => new Value("l", 1 as never), TypeError, "a bigint");
    assertEquals(new Value("c").value, "\0");
    const args = [letter, wide, long, unsigned] as const;
    assertEquals(await runToEnd(Thread, bumpTypecodes, [...args]), 0);
    assertEquals(await runToEnd(Process, bumpTypecodes, [...args]), 0);
    assertEquals(
      [letter.value, wide[0], wide[1], long.value, unsigned.value],
      ["c", "ë", "ω", -(2n ** 62n) + 2n, 2n ** 63n + 2n],
    );
  },
});

Deno.test({
  name:
    "threading.local: a thread gets its own, empty; a process cannot have one (test_threading_local)",
  permissions: { read: true, run: true },
  async fn() {
    const data = new local({ user: "main" });
    const out = new Queue<unknown>();
    assertEquals(await runToEnd(Thread, useLocal, [data, out]), 0);
    assertEquals([await out.get(), await out.get()], [[], "thread"]);
    assertEquals(data.user, "main");
    const child = new Process({
      target: useLocal,
      args: [data, out],
      module: CASE_TARGETS,
    });
    assertThrows(() => child.start(), TypeError, "only between threads");
  },
});

Deno.test({
  name:
    "getNativeId() and nativeId: the pid for the main thread, the worker's own id under -A, else null (test_threading ThreadTests.test_native_id)",
  permissions: { read: true, run: true },
  async fn() {
    const run = async (flag: string) => {
      const { code, stdout, stderr } = await deno([
        "run",
        flag,
        "tests/fixtures/native_id_program.ts",
      ]);
      assertEquals(code, 0, stderr);
      return JSON.parse(stdout) as {
        pid: number;
        main: number[];
        thread: (number | null)[];
      };
    };
    const all = await run("-A");
    assertEquals(all.main, [all.pid, all.pid]);
    const [inside, seen] = all.thread;
    assertEquals(inside, seen);
    assertEquals(typeof inside === "number" && inside !== all.pid, true);
    const some = await run("--allow-read");
    assertEquals(some.main, [some.pid, some.pid]);
    assertEquals(some.thread, [null, null]);
  },
});

Deno.test({
  name:
    'stdout and stderr "piped" give a Process readable streams, "null" drops them, on either channel and under warm',
  permissions: { read: true, run: true },
  async fn() {
    const expected = {
      stdout: "to stdout\n",
      stderr: "to stderr\n",
      message: "through the queue",
      codes: [0, 0],
      streams: [null, null],
    };
    const runs: {
      flags: string[];
      env?: Record<string, string>;
      mode?: string;
    }[] = [
      { flags: [] },
      {
        flags: ["--allow-env=MULTIPROCESSING_CHANNEL"],
        env: { MULTIPROCESSING_CHANNEL: "stdio" },
      },
      { flags: ["--allow-env"], mode: "warm" },
    ];
    for (const { flags, env, mode } of runs) {
      const { code, stdout, stderr } = await deno([
        "run",
        "--allow-run",
        "--allow-read",
        ...flags,
        "tests/fixtures/piped_program.ts",
        ...(mode ? [mode] : []),
      ], env);
      assertEquals(code, 0, stderr);
      // Nothing the children wrote reached this program's own streams.
      assertEquals(JSON.parse(stdout), expected);
      assertEquals(stderr.includes("to stderr"), false, stderr);
    }
    assertThrows(
      () => new Process({ stdout: "pipe" as "piped" }),
      TypeError,
      'expected stdout to be "inherit", "piped" or "null"',
    );
  },
});

Deno.test({
  name:
    "Barrier({ action, timeout }): the last party runs the action before any goes through; a throwing one breaks it (lock_tests BarrierTests.test_action, test_abort_and_reset, test_default_timeout)",
  permissions: { read: true, run: true },
  async fn() {
    const passed: number[] = [];
    const seenByAction: number[] = [];
    const barrier = new Barrier(3, {
      action: () => void seenByAction.push(passed.length),
    });
    await Promise.all([0, 1, 2].map(async () => {
      passed.push(await barrier.wait());
    }));
    assertEquals([seenByAction, passed.toSorted()], [[0], [0, 1, 2]]);
    // A second round runs it again.
    await Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]);
    assertEquals(seenByAction.length, 2);

    const failing = new Barrier(2, {
      action: () => {
        throw new RangeError("the action failed");
      },
    });
    const results = await Promise.allSettled([failing.wait(), failing.wait()]);
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason);
    assertEquals(reasons.map((r) => r.constructor), [
      BrokenBarrierError,
      RangeError,
    ]);
    assertEquals(failing.broken, true);
    failing.reset();
    assertEquals(failing.broken, false);

    // The default timeout breaks a wait that gives none.
    const timed = new Barrier(2, { timeout: 20 });
    await assertRejects(() => timed.wait(), BrokenBarrierError, "timed out");
    assertThrows(
      () => new Barrier(2, { action: 1 as never }),
      TypeError,
      "expected action to be a function",
    );

    // With a thread and with a process: the action runs once a round, in
    // the thread that arrives last, and for a process in this one.
    for (const Runner of [Thread, Process]) {
      const shared = new Barrier(2, { action: countAction });
      const out = new Queue<unknown>();
      const before = actionsRun();
      const runner = new Runner({
        target: waitAtBarrier,
        args: [shared, out],
        module: CASE_TARGETS,
      });
      runner.start();
      await shared.wait();
      const [, there] = await out.get() as [number, number];
      await runner.join();
      assertEquals(runner.exitCode, 0);
      const here = actionsRun() - before;
      assertEquals(here + there, 1);
      if (Runner === Process) assertEquals([here, there], [1, 0]);
    }
  },
});

Deno.test({
  name:
    "Semaphore.getValue() works in a child process, as in every Python process (_test_multiprocessing _TestSemaphore.test_semaphore)",
  permissions: { read: true, run: true },
  async fn() {
    const semaphore = new Semaphore(3);
    const out = new Queue<unknown>();
    await semaphore.acquire();
    const child = new Process({
      target: watchSemaphore,
      args: [semaphore, out],
      module: CASE_TARGETS,
    });
    child.start();
    assertEquals(await out.get(), 2);
    semaphore.release();
    assertEquals(await out.get(), 3);
    await child.join();
    assertEquals(child.exitCode, 0);
  },
});

Deno.test({
  name:
    "A RawArray goes to a thread by its memory and is refused by a process, where it would be a copy; a queued one stays queued (_test_multiprocessing: RawArray shares only by inheritance)",
  permissions: { read: true, run: true },
  async fn() {
    const raw = RawArray("i", 2);
    const child = new Process({
      target: exitWith,
      args: [raw as never],
      module: TARGETS,
    });
    assertThrows(
      () => child.start(),
      TypeError,
      "would arrive as a copy; pass a SharedArray",
    );
    // A queue's item that cannot travel to a child stays at the head.
    const queue = new Queue<unknown>();
    const out = new Queue<unknown>();
    await queue.put(raw);
    assertEquals(await runToEnd(Process, tryGet, [queue, out]), 0);
    const [kind, name, message] = await out.get() as string[];
    assertEquals([kind, name], ["error", "TypeError"]);
    assertEquals(message.includes("would arrive as a copy"), true, message);
    assertEquals(await queue.qsize(), 1);
    const item = await queue.get() as Int32Array;
    assertEquals(item.buffer instanceof SharedArrayBuffer, true);
  },
});
