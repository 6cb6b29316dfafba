// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import {
  BrokenPipeError,
  Empty,
  Event,
  Full,
  JoinableQueue,
  Pipe,
  Process,
  Queue,
  SimpleQueue,
  Thread,
} from "../mod.ts";
import { delay } from "@std/async";
import { forward, TYPE_ONLY_TARGETS } from "./fixtures/type_only_targets.ts";
import {
  abortedGet,
  blockOnGet,
  CHANNEL_TARGETS,
  consume,
  doubleTasks,
  echo,
  ownQueueInThread,
  produce,
  produceFromThread,
  putThenExit,
  putThenSay,
  reportEmpty,
  shareOwnQueue,
} from "./fixtures/channel_targets.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

const PERMISSIONS = { run: true, read: true } as const;

/** Starts a child process (or a thread) on a fixture target. */
function start<A extends unknown[]>(
  kind: "process" | "thread",
  target: (...args: A) => unknown,
  args: A,
): Process<A> | Thread<A> {
  const options = { target, args, module: CHANNEL_TARGETS };
  const unit = kind === "process" ? new Process(options) : new Thread(options);
  unit.start();
  return unit;
}

Deno.test({
  name:
    "Queue gives every item exactly once, in each producer's order, across processes and threads",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new Queue<unknown>();
    const out = new Queue<unknown[]>();
    const count = 300;
    const producers = [
      start("process", produce, [queue, "p1", count]),
      start("process", produce, [queue, "p2", count]),
      start("thread", produce, [queue, "t1", count]),
    ];
    const consumers = [
      start("process", consume, [queue, out]),
      start("process", consume, [queue, out]),
      start("thread", consume, [queue, out]),
    ];
    // The parent produces too.
    for (let i = 0; i < count; i++) await queue.put(["parent", i]);
    for (const unit of producers) await unit.join();
    for (const _ of consumers) await queue.put(null);
    const seen = new Map<string, number[]>();
    for (const _ of consumers) {
      for (const [tag, i] of await out.get() as [string, number][]) {
        const list = seen.get(tag) ?? [];
        // Each consumer sees each producer's items in the order put.
        seen.set(tag, [...list, i]);
      }
    }
    for (const unit of consumers) await unit.join();
    assertEquals([...seen.keys()].sort(), ["p1", "p2", "parent", "t1"]);
    for (const [tag, items] of seen) {
      assertEquals(
        [...items].sort((a, b) => a - b),
        Array.from({ length: count }, (_, i) => i),
        `${tag}: every item exactly once`,
      );
    }
    assertEquals(await queue.qsize(), 0);
  },
});

Deno.test({
  name: "Queue order holds per consumer for each producer",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new Queue<unknown>();
    const out = new Queue<unknown[]>();
    const producer = start("process", produce, [queue, "p", 200]);
    const consumer = start("process", consume, [queue, out]);
    await producer.join();
    await queue.put(null);
    const got = await out.get() as [string, number][];
    await consumer.join();
    assertEquals(
      got.map(([, i]) => i),
      Array.from({ length: 200 }, (_, i) => i),
    );
  },
});

Deno.test({
  name: "Queue with maxsize holds a child producer back until items are taken",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new Queue<number>(2);
    const done = new Queue<string>();
    const producer = start("process", putThenSay, [queue, 6, done]);
    // Until the child has filled the queue (a bound for a failing test only).
    for (let i = 0; i < 3000 && !await queue.full(); i++) await delay(10);
    assertEquals(await queue.full(), true);
    // The producer cannot finish: only 2 of its 6 items fit.
    await assertRejects(() => done.get({ timeout: 300 }), Empty);
    assert(await queue.qsize() <= 2, "never more than maxsize");
    const items: number[] = [];
    for (let i = 0; i < 6; i++) items.push(await queue.get());
    assertEquals(items, [0, 1, 2, 3, 4, 5]);
    assertEquals(await done.get(), "done");
    await producer.join();
  },
});

Deno.test({
  name:
    "Queue put and get time out with Full and Empty, and abort with the reason",
  permissions: {},
  async fn() {
    const queue = new Queue<number>(1);
    await assertRejects(() => queue.getNowait(), Empty);
    await assertRejects(() => queue.get({ timeout: 10 }), Empty, "10 ms");
    await queue.putNowait(1);
    await assertRejects(() => queue.putNowait(2), Full);
    await assertRejects(() => queue.put(2, 10), Full, "10 ms");
    const controller = new AbortController();
    const waiting = queue.put(3, { signal: controller.signal });
    controller.abort(new Error("no longer"));
    await assertRejects(() => waiting, Error, "no longer");
    assertEquals(await queue.get(), 1);
    // The aborted put left nothing behind.
    assertEquals(await queue.empty(), true);
    assertEquals(await queue.full(), false);
  },
});

Deno.test({
  name:
    "Queue errors keep their class in a child: getNowait() throws Empty there",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new Queue();
    const out = new Queue();
    const child = start("process", reportEmpty, [queue, out]);
    assertEquals(await out.get(), [true, "Empty"]);
    await child.join();
    assertEquals(child.exitCode, 0);
  },
});

Deno.test({
  name:
    "Queue carries structured-clone values and errors with cause and fields",
  permissions: PERMISSIONS,
  async fn() {
    const input = new Queue<unknown>();
    const output = new Queue<unknown>();
    const child = start("process", echo, [input, output]);
    class AppError extends Error {
      code = 7;
    }
    const error = new AppError("broken", { cause: new TypeError("root") });
    const bytes = new Uint8Array(1 << 20).map((_, i) => i % 251);
    const values: unknown[] = [
      new Map<unknown, unknown>([[1, new Set([2n])]]),
      new Date(0),
      { nested: { deep: [1, "two", null, undefined] } },
      bytes,
      NaN,
    ];
    for (const value of [...values, error]) await input.put(value);
    for (const value of values) assertEquals(await output.get(), value);
    const back = await output.get() as AppError;
    assertInstanceOf(back, Error);
    assertEquals(back.name, "AppError");
    assertEquals(back.message, "broken");
    assertEquals(back.code, 7);
    assertEquals(back.stack, error.stack);
    assertInstanceOf(back.cause, TypeError);
    assertEquals((back.cause as Error).message, "root");
    await input.put("stop");
    await child.join();
  },
});

Deno.test({
  name: "Queue passed on by a child to its own thread reaches the owner",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new Queue<unknown>();
    const child = start("process", produceFromThread, [queue, 50]);
    await child.join();
    assertEquals(child.exitCode, 0);
    const items = [];
    for (let i = 0; i < 50; i++) items.push(await queue.get());
    assertEquals(
      items,
      Array.from({ length: 50 }, (_, i) => ["grandchild", i]),
    );
  },
});

Deno.test({
  name: "Queue is not wedged by a consumer that dies while it waits",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new Queue<number>();
    const ready = new Event();
    const doomed = start("process", blockOnGet, [queue, ready]) as Process;
    await ready.wait();
    doomed.kill();
    await doomed.join();
    await queue.put(1);
    await queue.put(2);
    // Nothing went to the dead consumer.
    assertEquals(await queue.get({ timeout: 5000 }), 1);
    assertEquals(await queue.get({ timeout: 5000 }), 2);
  },
});

Deno.test({
  name: "JoinableQueue.join() waits until every item is marked done",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new JoinableQueue<number | null>();
    const out = new Queue<number>();
    const worker = start("process", doubleTasks, [queue, out]);
    for (let i = 1; i <= 20; i++) await queue.put(i);
    await queue.put(null);
    await queue.join();
    // join() resolved, so every item was taken and done.
    assertEquals(await out.qsize(), 20);
    let sum = 0;
    for (let i = 0; i < 20; i++) sum += await out.get();
    assertEquals(sum, 420);
    await worker.join();
    await assertRejects(() => queue.taskDone(), Error, "more times");
  },
});

Deno.test({
  name: "SimpleQueue puts and gets, and close() stops this side",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new SimpleQueue<unknown>();
    const out = new Queue<unknown[]>();
    const child = start("process", consume, [
      queue as unknown as Queue<unknown>,
      out,
    ]);
    await queue.put("a");
    await queue.put(null);
    assertEquals(await out.get(), ["a"]);
    await child.join();
    assertEquals(await queue.empty(), true);
    queue.close();
    await assertRejects(() => queue.put("b"), Error, "closed");
  },
});

Deno.test({
  name: "Queue rejects bad input with what it expected",
  permissions: {},
  async fn() {
    assertThrows(() => new Queue(-1), RangeError, ">= 0");
    assertThrows(
      () => new Queue("2" as unknown as number),
      TypeError,
      "expected maxsize to be an integer",
    );
    const queue = new Queue();
    await assertRejects(
      () => queue.get("soon" as unknown as number),
      TypeError,
      "expected a timeout",
    );
    await assertRejects(() => queue.put(1, -5), RangeError, ">= 0");
    await assertRejects(
      () => queue.put(() => {}),
      DOMException,
    );
  },
});

Deno.test({
  name: "Queue copies items on put, as Python's queues do",
  permissions: {},
  async fn() {
    const queue = new Queue<{ n: number }>();
    const item = { n: 1 };
    await queue.put(item);
    item.n = 2;
    assertEquals(await queue.get(), { n: 1 });
  },
});

Deno.test({
  name: "Queue reports a broken pipe when its owner is gone",
  permissions: PERMISSIONS,
  async fn() {
    // A queue created in a child, used here after the child exits.
    const out = new Queue<Queue<number>>();
    const child = start("process", shareOwnQueue, [out]);
    const orphan = await out.get();
    await child.join();
    await assertRejects(() => orphan.put(1), BrokenPipeError, "gone");
    await assertRejects(() => orphan.get(), BrokenPipeError, "gone");
  },
});

Deno.test({
  name:
    "A child whose module imports only their types still gets a queue and a pipe",
  permissions: PERMISSIONS,
  async fn() {
    const [here, there] = Pipe<number>();
    const queue = new Queue<number>();
    const child = new Process({
      target: forward,
      args: [there, queue],
      module: TYPE_ONLY_TARGETS,
    });
    child.start();
    await here.send(41);
    assertEquals(await queue.get(), 42);
    await child.join();
    assertEquals(child.exitCode, 0);
  },
});

Deno.test({
  name: "Queues owned by a thread and by the main thread stay apart",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new Queue<unknown>();
    const thread = start("thread", ownQueueInThread, [queue]);
    assertEquals(await queue.get({ timeout: 10_000 }), "for the parent");
    assertEquals(await queue.get({ timeout: 10_000 }), ["own queue", "Empty"]);
    await thread.join();
  },
});

Deno.test({
  name: "Queue keeps an item put just after its waiting consumer was killed",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new Queue<number>();
    const ready = new Event();
    const doomed = start("process", blockOnGet, [queue, ready]) as Process;
    await ready.wait();
    // Let its get() reach this process, then kill it and put at once: the
    // item goes to the dead consumer's get, and must come back.
    await new Promise((resolve) => setTimeout(resolve, 50));
    doomed.kill();
    await queue.put(42);
    await doomed.join();
    assertEquals(await queue.get({ timeout: 5000 }), 42);
  },
});

Deno.test({
  name: "Queue.get() cancelled in a child rejects with that child's own reason",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new Queue();
    const out = new Queue();
    const child = start("process", abortedGet, [queue, out]);
    assertEquals(await out.get(), ["RangeError", "my reason"]);
    await child.join();
    // The cancelled get took nothing.
    await queue.put("kept");
    assertEquals(await queue.get(), "kept");
  },
});

Deno.test({
  name:
    "Queue carries AggregateError and renamed built-in errors as themselves",
  permissions: PERMISSIONS,
  async fn() {
    const input = new Queue<unknown>();
    const output = new Queue<unknown>();
    const child = start("process", echo, [input, output]);
    const renamed = new TypeError("t");
    renamed.name = "Custom";
    await input.put(new AggregateError([new RangeError("r")], "all"));
    await input.put(renamed);
    const all = await output.get() as AggregateError;
    assertInstanceOf(all, AggregateError);
    assertEquals(all.message, "all");
    assertInstanceOf(all.errors[0], RangeError);
    const back = await output.get() as TypeError;
    assertInstanceOf(back, TypeError);
    assertEquals(back.name, "Custom");
    await input.put("stop");
    await child.join();
  },
});

Deno.test({
  name: "Queue gets what a child put just before Deno.exit()",
  permissions: PERMISSIONS,
  async fn() {
    const queue = new Queue<string>();
    const child = start("process", putThenExit, [queue]);
    await child.join();
    assertEquals(child.exitCode, 3);
    assertEquals(await queue.get({ timeout: 5000 }), "last words");
  },
});
