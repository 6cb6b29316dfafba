// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Kinds load when they first arrive: a runtime whose code imports nothing of
// `sync/`, `queue.ts` or `pipe.ts` still rebuilds their objects (see
// ARCHITECTURE.md, "How kinds are found").
import { assertEquals } from "@std/assert";
import { Lock, Pool, Process, Queue } from "../mod.ts";
import { startReaper } from "../_runtime/reaper.ts";
import { BARE_TARGETS, tryLock, useHanded } from "./fixtures/bare_targets.ts";

startReaper();

const RUN = { run: true, read: true } as const;

Deno.test({
  name:
    "A child whose module imports nothing of the package rebuilds the Lock and Queue it is handed",
  permissions: RUN,
  async fn() {
    const lock = new Lock();
    const queue = new Queue<[boolean, string, string]>();
    const child = new Process({
      target: useHanded,
      args: [lock, queue],
      module: BARE_TARGETS,
    });
    child.start();
    assertEquals(await queue.get({ timeout: 20_000 }), [true, "Lock", "Queue"]);
    await child.join();
    assertEquals(child.exitCode, 0);
    assertEquals(lock.locked(), false);
  },
});

Deno.test({
  name:
    "A pool worker whose module imports nothing of the package rebuilds a Lock sent with a task",
  permissions: RUN,
  async fn() {
    await using pool = new Pool({ processes: 1, module: BARE_TARGETS });
    const lock = new Lock();
    await lock.acquire();
    // The worker knows the pool's feed, not a Lock: the answer that carries
    // one waits for the kinds' modules, then arrives whole.
    assertEquals(await pool.apply(tryLock, [lock]), ["Lock", false]);
    lock.release();
    assertEquals(await pool.apply(tryLock, [lock]), ["Lock", true]);
    assertEquals(lock.locked(), false);
  },
});
