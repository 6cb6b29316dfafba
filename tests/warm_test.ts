// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
import { assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import {
  getContext,
  getStartMethod,
  Pool,
  Process,
  Queue,
  setStartMethod,
  Thread,
} from "../mod.ts";
import { runtime } from "../_runtime/state.ts";
import {
  CHANNEL_TARGETS,
  reportSelf,
  reportThread,
} from "./fixtures/channel_targets.ts";
import {
  leaveWork,
  reportPreloaded,
  reportStartMethod,
  startMethodHere,
  WARM_TARGETS,
  WarmContextChild,
} from "./fixtures/warm_targets.ts";
import { FAILING_TARGETS, nothing } from "./fixtures/child_only_failure.ts";
import { ran, SLOW_TARGETS } from "./fixtures/slow_preload.ts";
import { deno, IDLE_CHILDREN_OUTLIVE, waitGone } from "./_helpers.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

const PERMISSIONS = { run: true, read: true, env: true } as const;

/** Lists the pids of this process's warm children still waiting. */
function idlePids(): number[] {
  return (runtime().warm ?? []).map(({ child }) => child.pid);
}

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name: "Warm start runs children from booted idle ones, as spawn does",
  permissions: PERMISSIONS,
  async fn() {
    assertEquals(getStartMethod(), "spawn");
    setStartMethod("warm");
    try {
      assertEquals(getStartMethod(), "warm");
      const out = new Queue<unknown>();
      for (let round = 0; round < 3; round++) {
        // An idle child is booted (the first, and each refill).
        let idle: number[] = [];
        for (let i = 0; i < 200 && idle.length === 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 25));
          idle = idlePids();
        }
        const child = new Process({
          target: reportSelf,
          args: [out],
          name: `warm-${round}`,
          module: CHANNEL_TARGETS,
        });
        child.start();
        // It is one of the idle children, not a new one.
        assertEquals(
          idle.includes(child.pid!),
          true,
          `${child.pid} in ${idle}`,
        );
        // The child knows its own name and pid, and queues work.
        assertEquals(await out.get(), [`warm-${round}`, child.pid]);
        await child.join();
        assertEquals(child.exitCode, 0);
      }
      // A child with permissions of its own is spawned, and works as well.
      const sandboxed = new Process({
        target: reportSelf,
        args: [out],
        name: "sandboxed",
        permissions: { read: true },
        module: CHANNEL_TARGETS,
      });
      sandboxed.start();
      assertEquals(await out.get(), ["sandboxed", sandboxed.pid]);
      await sandboxed.join();
    } finally {
      setStartMethod("spawn");
    }
    assertEquals(getStartMethod(), "spawn");
  },
});

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name: "Idle warm children neither keep their program alive nor outlive it",
  permissions: PERMISSIONS,
  async fn() {
    const { code, stdout, stderr } = await deno([
      "run",
      "-A",
      "tests/fixtures/exit_program.ts",
      "warm",
    ]);
    assertEquals(code, 0, stderr);
    assertEquals(stdout, "[ 1, 4, 9 ]\ndone\n");
    const idle = /idle: ([\d ]+)/.exec(stderr)![1].split(" ").map(Number);
    // One or two, as the pool refills after the take.
    assertEquals(idle.length > 0, true);
    // They saw their parent's end of stdin close, and exited.
    for (const pid of idle) await waitGone(pid, 5000);
  },
});

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name:
    "A warm start after a revoke gives the child and the thread none of what was revoked",
  permissions: PERMISSIONS,
  async fn() {
    const { code, stdout, stderr } = await deno([
      "run",
      "--allow-run",
      "--allow-read",
      "--allow-env",
      "--allow-net",
      "tests/fixtures/revoke_program.ts",
    ]);
    assertEquals(code, 0, stderr);
    const { reports, tookIdle } = JSON.parse(stdout);
    assertEquals(reports.map((r: { who: string }) => r.who).sort(), [
      "process",
      "thread",
    ]);
    for (const { net, env, home } of reports) {
      // "prompt", or "denied" once Node's layer asked for it (--no-prompt).
      assertNotEquals(net, "granted");
      assertNotEquals(env, "granted");
      assertEquals(home, "NotCapable");
    }
    // The idle child booted with net and env was not used.
    assertEquals(tookIdle, false);
  },
});

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name:
    "A warm program that starts no thread boots no idle worker, nor one it cannot load",
  permissions: PERMISSIONS,
  async fn() {
    // The package is outside what it may read: a worker could not load it.
    const { code, stdout, stderr } = await deno([
      "run",
      "--allow-run",
      "--allow-read=tests/fixtures",
      "tests/fixtures/warm_no_threads.ts",
    ]);
    assertEquals(code, 0, stderr);
    assertEquals(stdout, "child ran\nidle workers: 0\n");
    assertEquals(stderr.includes("Uncaught"), false, stderr);
  },
});

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name:
    "A child and a thread keep their parent's start method, as Python's children do",
  permissions: PERMISSIONS,
  async fn() {
    const out = new Queue<unknown>();
    const report = async (start: () => Process | Thread) => {
      const runner = start();
      runner.start();
      const method = await out.get();
      await runner.join();
      return method;
    };
    const child = (permissions?: { read: true }) => () =>
      new Process({
        target: reportStartMethod,
        args: [out],
        module: WARM_TARGETS,
        permissions,
      });
    const thread = () =>
      new Thread({
        target: reportStartMethod,
        args: [out],
        module: WARM_TARGETS,
      });
    setStartMethod("warm");
    try {
      assertEquals(await report(child()), "warm");
      // Spawned, not warm (it has permissions of its own): the method is
      // still the parent's.
      assertEquals(await report(child({ read: true })), "warm");
      assertEquals(await report(thread), "warm");
    } finally {
      setStartMethod("spawn");
    }
    assertEquals(await report(child()), "spawn");
    assertEquals(await report(thread), "spawn");
  },
});

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name:
    "getContext(method) binds Process and Pool to a start method, whatever the global one (_test_multiprocessing TestStartMethod.test_context)",
  permissions: PERMISSIONS,
  async fn() {
    assertEquals(getStartMethod(), "spawn");
    assertEquals(getContext().Process, Process);
    assertEquals(getContext("warm"), getContext("warm"));
    assertThrows(
      () => getContext("fork" as "warm"),
      TypeError,
      'expected "spawn" or "warm"',
    );
    const warm = getContext("warm");
    assertEquals([warm.getStartMethod(), getContext().getStartMethod()], [
      "warm",
      "spawn",
    ]);
    const out = new Queue<unknown>();
    try {
      // The first warm start finds no idle child; idle ones boot after it.
      for (let round = 0; round < 2; round++) {
        let idle: number[] = [];
        if (round === 1) {
          for (let i = 0; i < 200 && idle.length === 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 25));
            idle = idlePids();
          }
        }
        const child = new warm.Process({
          target: reportStartMethod,
          args: [out],
          module: WARM_TARGETS,
        });
        assertEquals(child instanceof Process, true);
        child.start();
        if (round === 1) assertEquals(idle.includes(child.pid!), true);
        assertEquals(await out.get(), "warm");
        await child.join();
      }
      // A subclass of the context's Process is found in its child.
      const sub = new WarmContextChild();
      sub.out = out;
      sub.start();
      assertEquals(await out.get(), ["WarmContextChild", "warm"]);
      await sub.join();
      assertEquals(sub.exitCode, 0);
      // The global method is untouched: a plain Process spawns.
      const plain = new Process({
        target: reportStartMethod,
        args: [out],
        module: WARM_TARGETS,
      });
      plain.start();
      assertEquals(idlePids().includes(plain.pid!), false);
      assertEquals(await out.get(), "spawn");
      await plain.join();
      // The context's Pool starts its workers warm.
      await using pool = new warm.Pool({ processes: 1, module: WARM_TARGETS });
      assertEquals(await pool.apply(startMethodHere), "warm");
      assertEquals(Object.getPrototypeOf(warm.Pool), Pool);
    } finally {
      // Ends the idle children the context kept.
      runtime().warmByContext = false;
      setStartMethod("spawn");
    }
  },
});

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name: "setStartMethod() rejects what it does not know",
  permissions: {},
  fn() {
    assertThrows(
      () => setStartMethod("fork" as "spawn"),
      TypeError,
      'expected "spawn" or "warm", received the string "fork"',
    );
    assertThrows(
      () => setStartMethod("warm", { idle: 0 }),
      RangeError,
      ">= 1",
    );
    assertThrows(
      () => setStartMethod("warm", { idle: 1.5 }),
      TypeError,
      "integer",
    );
    assertThrows(
      () => setStartMethod("warm", { preload: "file:///a.ts" as never }),
      TypeError,
      'expected preload to be an array of module URLs, received the string "file:///a.ts"',
    );
    assertThrows(
      () => setStartMethod("warm", { preload: [import.meta.url, "./a.ts"] }),
      TypeError,
      'expected preload[1] to be an absolute module URL (such as import.meta.url), received the string "./a.ts"',
    );
    assertEquals(getStartMethod(), "spawn");
  },
});

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name: "Warm start runs threads on booted idle workers",
  permissions: PERMISSIONS,
  async fn() {
    setStartMethod("warm");
    try {
      await startAThread();
      const out = new Queue<unknown>();
      for (let round = 0; round < 2; round++) {
        // An idle worker is booted (the first, and each refill).
        for (let i = 0; i < 200 && !runtime().warmWorkers?.length; i++) {
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        const idle = runtime().warmWorkers![0];
        const thread = new Thread({
          target: reportThread,
          args: [out],
          name: `warm-thread-${round}`,
          module: CHANNEL_TARGETS,
        });
        thread.start();
        // The idle worker became this thread.
        assertEquals(runtime().warmWorkers!.includes(idle), false);
        assertEquals(await out.get(), [`warm-thread-${round}`, thread.ident]);
        await thread.join();
        assertEquals(thread.exitCode, 0);
      }
    } finally {
      setStartMethod("spawn");
    }
    assertEquals(runtime().warmWorkers?.length ?? 0, 0);
  },
});

/** Starts and joins a thread: idle workers boot once one has started. */
async function startAThread(): Promise<void> {
  const thread = new Thread({
    target: reportThread,
    args: [new Queue()],
    module: CHANNEL_TARGETS,
  });
  thread.start();
  await thread.join();
}

/** Waits until `idle()` lists a booted idle child or worker. */
async function booted<T>(idle: () => T[]): Promise<T> {
  for (let i = 0; i < 200 && idle().length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return idle()[0];
}

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name: "Warm children and workers preload modules, and run targets from them",
  permissions: PERMISSIONS,
  async fn() {
    setStartMethod("warm");
    try {
      const before = await booted(idlePids);
      // Asking for other preloads replaces the idle children booted without.
      setStartMethod("warm", { preload: [WARM_TARGETS, FAILING_TARGETS] });
      let idle = await booted(idlePids);
      for (let i = 0; i < 200 && idle === before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        idle = await booted(idlePids);
      }
      assertEquals(idle === before, false, "the idle child was replaced");
      const out = new Queue<unknown>();
      const child = new Process({
        target: reportPreloaded,
        args: [out],
        module: WARM_TARGETS,
      });
      child.start();
      assertEquals(child.pid, idle);
      // The module that failed to load was skipped; the other was kept.
      assertEquals(await out.get(), [WARM_TARGETS]);
      await child.join();
      assertEquals(child.exitCode, 0);

      // A target from the module that failed: its child reports the error
      // and exits 1, as a spawned child does.
      for (const method of ["warm", "spawn"] as const) {
        setStartMethod(method, { preload: [FAILING_TARGETS] });
        const failing = new Process({
          target: nothing,
          module: FAILING_TARGETS,
        });
        failing.start();
        await failing.join();
        assertEquals(failing.exitCode, 1, method);
      }

      setStartMethod("warm", { preload: [WARM_TARGETS] });
      await startAThread();
      await booted(() => runtime().warmWorkers ?? []);
      const thread = new Thread({
        target: reportPreloaded,
        args: [out],
        module: WARM_TARGETS,
      });
      thread.start();
      assertEquals(await out.get(), [WARM_TARGETS]);
      await thread.join();
    } finally {
      setStartMethod("spawn");
    }
  },
});

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name: "A child ends when its event loop is empty, warm or spawned",
  permissions: PERMISSIONS,
  async fn() {
    const out = new Queue<unknown>();
    for (const method of ["spawn", "warm"] as const) {
      setStartMethod(method);
      try {
        if (method === "warm") await booted(idlePids);
        // run() returns at once; its timer still puts and sets the code.
        const child = new Process({
          target: leaveWork,
          args: [out, 3],
          module: WARM_TARGETS,
        });
        child.start();
        await child.join();
        assertEquals(child.exitCode, 3, method);
        assertEquals(await out.get(), "later");
      } finally {
        setStartMethod("spawn");
      }
    }
  },
});

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name: "A module that preloads itself in idle children boots no more of them",
  permissions: PERMISSIONS,
  async fn() {
    const { code, stdout, stderr } = await deno([
      "run",
      "-A",
      "tests/fixtures/self_preload.ts",
    ]);
    assertEquals(code, 0, stderr);
    // The target ran, and one idle child waits, beside the program's reaper
    // (see _runtime/reaper.ts): no chain of them.
    assertEquals(stdout, "0 2\n");
  },
});

Deno.test({
  ...IDLE_CHILDREN_OUTLIVE,
  name: "A thread or child started while its idle one still preloads runs",
  permissions: PERMISSIONS,
  async fn() {
    setStartMethod("warm", { preload: [SLOW_TARGETS] });
    try {
      const out = new Queue<string>();
      // At once: the idle worker and child are still loading the module.
      const thread = new Thread({
        target: ran,
        args: [out],
        module: SLOW_TARGETS,
      });
      const child = new Process({
        target: ran,
        args: [out],
        module: SLOW_TARGETS,
      });
      thread.start();
      child.start();
      await thread.join(10_000);
      await child.join(10_000);
      assertEquals(thread.isAlive(), false, "the thread never got its header");
      assertEquals(child.isAlive(), false);
      assertEquals([await out.get(), await out.get()], ["ran", "ran"]);
      assertEquals([thread.exitCode, child.exitCode], [0, 0]);
    } finally {
      setStartMethod("spawn");
    }
  },
});
