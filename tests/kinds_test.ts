// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Kinds load when they first arrive: a runtime whose code imports nothing of
// `sync/`, `queue.ts` or `pipe.ts` still rebuilds their objects (see
// ARCHITECTURE.md, "How kinds are found").
import { assertEquals } from "@std/assert";
import { Lock, Pool, Process, Queue } from "../mod.ts";
import { startReaper } from "../_runtime/reaper.ts";
import { BARE_TARGETS, tryLock, useHanded } from "./fixtures/bare_targets.ts";
import { deno } from "./_helpers.ts";
import { knownKinds } from "../_ipc/crossing.ts";
import { KINDS } from "../_ipc/kinds.ts";
import { FEED_KIND } from "../pool/_worker_loop.ts";

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

Deno.test({
  name:
    "A sandboxed child that forges forms of kinds at a parent that has not loaded them breaks nothing",
  permissions: { run: true, read: true },
  async fn() {
    const { code, stdout, stderr } = await deno([
      "run",
      "--allow-run",
      "--allow-read",
      "tests/fixtures/lazy_parent.ts",
    ]);
    assertEquals(code, 0, stderr);
    // The forgeries made the parent load the kinds (the package's own
    // modules, nothing a child names), were dropped, and held nothing up.
    assertEquals(JSON.parse(stdout), {
      before: false,
      after: true,
      codes: [0, 0],
    });
  },
});

Deno.test({
  name:
    "The list of kinds in _ipc/kinds.ts names every kind the package registers",
  permissions: {},
  fn() {
    // mod.ts is loaded: every kind is registered. The pool's feed is the
    // worker loop's own, which every worker imports.
    const registered = knownKinds().filter((kind) => kind !== FEED_KIND);
    assertEquals(registered.toSorted(), [...KINDS].toSorted());
  },
});
