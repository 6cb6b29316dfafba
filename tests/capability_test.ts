// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The channel as an attacker sees it: a child with `permissions: "none"`
// that guesses object ids and speaks for other runtimes reaches nothing it
// was not handed. See ARCHITECTURE.md, "Who may name what".
import { assert, assertEquals } from "@std/assert";
import { Condition, Event, Lock, Process, Queue } from "../mod.ts";
import { CHANNEL_TARGETS, holdForever } from "./fixtures/channel_targets.ts";
import {
  ATTACK_TARGETS,
  forgeConditionWaits,
  forgeGone,
  ownQueue,
  probeIds,
  touch,
} from "./fixtures/attack_targets.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

const PERMISSIONS = { run: true, read: true } as const;

/**
 * Runs a "none" child that forges GONE, BYE and RESPONSE messages in the
 * name of the victim's runtime, and waits until it is done.
 */
async function forgeFor(victim: number): Promise<void> {
  const report = new Queue<string>();
  const attacker = new Process({
    target: forgeGone,
    args: [report, victim],
    module: ATTACK_TARGETS,
    permissions: "none",
  });
  attacker.start();
  assertEquals(await report.get({ timeout: 30_000 }), "sent");
  await attacker.join();
  assertEquals(attacker.exitCode, 0);
}

Deno.test({
  name: "A sandboxed child that guesses object ids takes nothing from them",
  permissions: PERMISSIONS,
  async fn() {
    // A queue another child legitimately holds, so it has an id.
    const secret = new Queue<string>();
    await secret.put("secret");
    const holder = new Process({
      target: touch,
      args: [secret],
      module: ATTACK_TARGETS,
    });
    holder.start();
    await holder.join();
    assertEquals(holder.exitCode, 0);

    const report = new Queue<[number, string][]>();
    const attacker = new Process({
      target: probeIds,
      args: [report, Deno.pid, 64],
      module: ATTACK_TARGETS,
      permissions: "none",
    });
    attacker.start();
    const outcomes = await report.get({ timeout: 30_000 });
    await attacker.join();
    assertEquals(attacker.exitCode, 0);
    assertEquals(outcomes.length, 64);
    // Its own report queue it may use (empty: Empty); every other id is
    // refused, and nothing was taken.
    const kinds = new Set(outcomes.map(([, outcome]) => outcome));
    assert(!outcomes.some(([, outcome]) => outcome.startsWith("took")));
    assertEquals(kinds, new Set(["NotCapable", "Empty"]));
    assertEquals(outcomes.filter(([, o]) => o === "Empty").length, 1);
    assertEquals(await secret.get({ timeout: 0 }), "secret");
  },
});

Deno.test({
  name:
    "A sandboxed child cannot report another child's death: a live holder keeps its lock",
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
    try {
      await ready.wait();
      await forgeFor(holder.pid!);
      // The forged GONE released nothing, and the parent still talks to
      // the holder.
      assertEquals(await lock.acquire({ blocking: false }), false);
      assertEquals(lock.abandoned, false);
      assertEquals(holder.isAlive(), true);
    } finally {
      holder.kill();
      await holder.join();
    }
    // The real death still releases it.
    assertEquals(await lock.acquire({ timeout: 10_000 }), true);
    assertEquals(lock.abandoned, true);
    lock.release();
  },
});

Deno.test({
  name:
    "A sandboxed child cannot answer requests made to another child: forged responses are dropped",
  permissions: PERMISSIONS,
  async fn() {
    const back = new Queue<Queue<string>>();
    const go = new Event();
    const victim = new Process({
      target: ownQueue,
      args: [back, go],
      module: ATTACK_TARGETS,
    });
    victim.start();
    try {
      // A request of ours waits on the victim's queue.
      const theirs = await back.get({ timeout: 30_000 });
      const answer = theirs.get({ timeout: 30_000 });
      await forgeFor(victim.pid!);
      go.set();
      assertEquals(await answer, "real");
    } finally {
      await victim.join();
    }
    assertEquals(victim.exitCode, 0);
  },
});

Deno.test({
  name:
    "A sandboxed child handed a Condition cannot settle or await a wait it never joined",
  permissions: PERMISSIONS,
  async fn() {
    const condition = new Condition();
    const report = new Queue<string[]>();
    const attacker = new Process({
      target: forgeConditionWaits,
      args: [condition, report],
      module: ATTACK_TARGETS,
      permissions: "none",
    });
    attacker.start();
    assertEquals(await report.get({ timeout: 30_000 }), [
      "settle: TypeError",
      "await: TypeError",
    ]);
    await attacker.join();
    // The waiters' count is intact: a wait here is woken by a notify.
    await condition.acquire();
    const woken = condition.wait(20_000);
    setTimeout(async () => {
      await condition.acquire();
      condition.notify();
      condition.release();
    }, 0);
    assertEquals(await woken, true);
    condition.release();
  },
});
