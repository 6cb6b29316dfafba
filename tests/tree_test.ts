// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// No survivors: a whole tree ends with terminate(), and a child busy in a
// synchronous loop ends with its parent, however the parent dies. See
// _runtime/reaper.ts and ARCHITECTURE.md, "No orphans".
import { assertEquals } from "@std/assert";
import { Process, Queue } from "../mod.ts";
import { tree, TREE_TARGETS } from "./fixtures/tree_targets.ts";
import { isRunning, readUntil, waitGone } from "./_helpers.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

const PERMISSIONS = { run: true, read: true } as const;

Deno.test({
  name:
    "terminate() of a three-level tree whose leaves spin leaves no survivor when join() returns",
  permissions: PERMISSIONS,
  async fn() {
    const out = new Queue<number>();
    const root = new Process({
      target: tree,
      args: [out, 3, 2],
      module: TREE_TARGETS,
    });
    root.start();
    // 1 + 2 + 4 processes, each reporting its pid once it runs.
    const pids: number[] = [];
    try {
      while (pids.length < 7) pids.push(await out.get({ timeout: 30_000 }));
    } finally {
      root.terminate();
      await root.join();
    }
    const survivors = pids.filter(isRunning);
    // Nothing of the test's may outlive it, even when it fails.
    for (const pid of survivors) Deno.kill(pid, "SIGKILL");
    assertEquals(root.exitCode, -15);
    assertEquals(survivors, []);
  },
});

Deno.test({
  name: "A child busy in a loop ends within a second of its parent's SIGKILL",
  permissions: PERMISSIONS,
  async fn() {
    const parent = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-run",
        "--allow-read",
        new URL(TREE_TARGETS).pathname,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let child = 0;
    try {
      child = Number((await readUntil(parent.stdout, /child (\d+)\n/))[1]);
    } finally {
      parent.kill("SIGKILL");
      await parent.status;
    }
    // The limit is the promise itself: the child cannot end on its own.
    try {
      await waitGone(child, 1000);
    } finally {
      if (isRunning(child)) Deno.kill(child, "SIGKILL");
    }
  },
});
