// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
import { assert, assertEquals } from "@std/assert";
import {
  Barrier,
  Event,
  Lock,
  Process,
  Queue,
  RLock,
  Semaphore,
  SharedArray,
  Value,
} from "../mod.ts";
import {
  bumpItem,
  CHANNEL_TARGETS,
  crowd,
  holdForever,
  incrementUnder,
  incrementWithOwnLock,
  leaveDaemonWatcher,
  meetAndMark,
  parentOfTaker,
  reenter,
  takeAndLeave,
  takePermit,
  watchEvent,
} from "./fixtures/channel_targets.ts";
import { deno } from "./_helpers.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

const PERMISSIONS = { run: true, read: true } as const;

/** Starts `n` child processes on a target and waits for them all. */
async function runAll<A extends unknown[]>(
  n: number,
  target: (...args: A) => unknown,
  args: A,
): Promise<number[]> {
  const children = Array.from(
    { length: n },
    () => new Process({ target, args, module: CHANNEL_TARGETS }),
  );
  children.forEach((child) => child.start());
  for (const child of children) await child.join();
  return children.map((child) => child.exitCode!);
}

Deno.test({
  name: "Four processes increment a Value under a Lock to the exact count",
  permissions: PERMISSIONS,
  async fn() {
    const lock = new Lock();
    const counter = new Value("i", 0);
    assertEquals(await runAll(4, incrementUnder, [lock, counter, 100]), [
      0,
      0,
      0,
      0,
    ]);
    assertEquals(counter.value, 400);
    assertEquals(lock.locked(), false);
  },
});

Deno.test({
  name: "A Value's own lock works across processes",
  permissions: PERMISSIONS,
  async fn() {
    const counter = new Value("i", 0);
    await runAll(4, incrementWithOwnLock, [counter, 50]);
    assertEquals(counter.value, 200);
  },
});

Deno.test({
  name: "An RLock is reentrant in each child and excludes the others",
  permissions: PERMISSIONS,
  async fn() {
    const lock = new RLock();
    const counter = new Value("i", 0, { lock: false });
    await runAll(3, reenter, [lock, counter]);
    assertEquals(counter.value, 3);
    assertEquals(lock.locked(), false);
  },
});

Deno.test({
  name: "A Semaphore bounds how many processes are inside at once",
  permissions: PERMISSIONS,
  async fn() {
    const semaphore = new Semaphore(2);
    const lock = new Lock();
    const inside = new Value("i", 0, { lock: false });
    const peak = new Value("i", 0, { lock: false });
    await runAll(4, crowd, [semaphore, lock, inside, peak, 5]);
    assertEquals(inside.value, 0);
    assert(peak.value >= 1 && peak.value <= 2, `peak was ${peak.value}`);
    assertEquals(semaphore.getValue(), 2);
  },
});

Deno.test({
  name: "An Event set here wakes a child, whose isSet() follows",
  permissions: PERMISSIONS,
  async fn() {
    const event = new Event();
    const started = new Event();
    const out = new Queue<unknown>();
    const child = new Process({
      target: watchEvent,
      args: [event, started, out],
      module: CHANNEL_TARGETS,
    });
    child.start();
    await started.wait();
    event.set();
    assertEquals(await out.get(), [false, true, true]);
    await child.join();
  },
});

Deno.test({
  name:
    "A Barrier meets across processes, and a SharedArray carries writes back",
  permissions: PERMISSIONS,
  async fn() {
    const barrier = new Barrier(3);
    const array = new SharedArray("i", 3);
    assertEquals(await runAll(3, meetAndMark, [barrier, array]), [0, 0, 0]);
    assertEquals([...array.array].sort(), [100, 101, 102]);
  },
});

Deno.test({
  name:
    "A lock held by a killed process is released, and the next acquire sees abandoned",
  permissions: PERMISSIONS,
  async fn() {
    const lock = new Lock();
    const ready = new Event();
    const holder = new Process({
      target: holdForever,
      args: [lock, ready],
      module: CHANNEL_TARGETS,
    });
    holder.start();
    await ready.wait();
    assertEquals(lock.locked(), true);
    assertEquals(await lock.acquire({ blocking: false }), false);
    holder.kill();
    await holder.join();
    assertEquals(await lock.acquire({ timeout: 10_000 }), true);
    assertEquals(lock.abandoned, true);
    lock.release();
    await lock.acquire();
    assertEquals(lock.abandoned, false, "only the first acquire after");
    lock.release();
  },
});

Deno.test({
  name: "A lock a child holds when it ends cleanly stays held, as in Python",
  permissions: PERMISSIONS,
  async fn() {
    const lock = new Lock();
    assertEquals(await runAll(1, takeAndLeave, [lock]), [0]);
    assertEquals(lock.locked(), true);
    assertEquals(await lock.acquire({ blocking: false }), false);
    // Any process may release a Lock.
    lock.release();
    assertEquals(await lock.acquire({ blocking: false }), true);
    assertEquals(lock.abandoned, false);
    lock.release();
  },
});

Deno.test({
  name: "A Semaphore is a counter: a permit a child took is not given back",
  permissions: PERMISSIONS,
  async fn() {
    const semaphore = new Semaphore(1);
    await runAll(1, takePermit, [semaphore]);
    assertEquals(semaphore.getValue(), 0);
    semaphore.release();
    assertEquals(semaphore.getValue(), 1);
  },
});

Deno.test({
  name:
    "SharedArray writes from processes under different locks keep each other's items",
  permissions: PERMISSIONS,
  async fn() {
    const array = new SharedArray("i", 2, { lock: false });
    const locks = [new Lock(), new Lock()];
    const children = [0, 1].map((index) =>
      new Process({
        target: bumpItem,
        args: [array, locks[index], index, 100],
        module: CHANNEL_TARGETS,
      })
    );
    children.forEach((child) => child.start());
    for (const child of children) await child.join();
    assertEquals([...array.array], [100, 100]);
  },
});

Deno.test({
  name:
    "A daemon child waiting on a lock or an event does not keep its parent alive",
  permissions: PERMISSIONS,
  async fn() {
    const { code, stdout, stderr } = await deno([
      "run",
      "-A",
      "tests/fixtures/exit_program.ts",
      "daemon-waiter",
    ]);
    assertEquals(code, 0, stderr);
    assertEquals(stdout, "[ 1, 4, 9 ]\ndone\n");
  },
});

Deno.test({
  name:
    "A lock held by a grandchild that dies is released while its parent lives",
  permissions: PERMISSIONS,
  async fn() {
    const lock = new Lock();
    const ready = new Event();
    const leave = new Event();
    const child = new Process({
      target: parentOfTaker,
      args: [lock, ready, leave],
      module: CHANNEL_TARGETS,
    });
    child.start();
    await ready.wait();
    assertEquals(await lock.acquire({ timeout: 10_000 }), true);
    assertEquals(lock.abandoned, true);
    assertEquals(child.isAlive(), true);
    lock.release();
    leave.set();
    await child.join();
    assertEquals(child.exitCode, 0);
  },
});

Deno.test({
  name:
    "A child ends when its run() does, though its daemon child watches a shared event",
  permissions: PERMISSIONS,
  async fn() {
    const child = new Process({
      target: leaveDaemonWatcher,
      args: [new Event(), new Event()],
      module: CHANNEL_TARGETS,
    });
    child.start();
    // A bound for a failing test only: the daemon never ends by itself.
    await child.join(30_000);
    assertEquals(child.exitCode, 0);
  },
});
