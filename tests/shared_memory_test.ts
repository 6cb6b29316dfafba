// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { Process, ShareableList, SharedMemory, Thread } from "../mod.ts";
import { addMany, editList, SHM_TARGETS } from "./fixtures/shm_targets.ts";
import { deno } from "./_helpers.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

const PERMISSIONS = { ffi: true, read: true, run: true } as const;

Deno.test({
  name:
    "SharedMemory: create, open by name, the same bytes; close and unlink as Python's (test_shared_memory_basics)",
  permissions: PERMISSIONS,
  fn() {
    const block = new SharedMemory({ create: true, size: 100 });
    try {
      assertEquals(block.name.startsWith("psm_"), true);
      assertEquals(block.size >= 100, true);
      const same = new SharedMemory({ name: block.name });
      new Uint8Array(block.buf).set([1, 2, 3]);
      assertEquals([...new Uint8Array(same.buf, 0, 3)], [1, 2, 3]);
      const view = new Uint8Array(same.buf);
      same.close();
      // Its views are empty, not dangling; the block lives on for others.
      assertEquals(view.length, 0);
      assertThrows(() => same.buf, Error, "it is closed here");
      assertEquals(new Uint8Array(block.buf)[2], 3);
      same.close();
      assertThrows(
        () => new SharedMemory({ name: block.name, create: true, size: 8 }),
        Deno.errors.AlreadyExists,
      );
    } finally {
      block.close();
      block.unlink();
    }
    assertThrows(
      () => new SharedMemory({ name: block.name }),
      Deno.errors.NotFound,
    );
    assertThrows(() => block.unlink(), Deno.errors.NotFound);
    assertThrows(() => new SharedMemory(), TypeError, "expected a name");
    assertThrows(
      () => new SharedMemory({ create: true }),
      RangeError,
      "size > 0",
    );
    assertThrows(
      () => new SharedMemory({ name: "../etc", create: true, size: 1 }),
      TypeError,
      "expected name",
    );
  },
});

Deno.test({
  name:
    "SharedMemory passed to a process and a thread is the same memory there; Atomics hold across them",
  permissions: PERMISSIONS,
  async fn() {
    using block = new SharedMemory({ create: true, size: 4 });
    try {
      const runners = [Process, Thread].map((Runner) =>
        new Runner({
          target: addMany,
          args: [block, 20_000],
          module: SHM_TARGETS,
        })
      );
      for (const runner of runners) runner.start();
      const cells = new Int32Array(block.buf);
      for (let i = 0; i < 20_000; i++) Atomics.add(cells, 0, 1);
      for (const runner of runners) await runner.join();
      assertEquals(runners.map((runner) => runner.exitCode), [0, 0]);
      assertEquals(Atomics.load(cells, 0), 60_000);
    } finally {
      block.unlink();
    }
  },
});

Deno.test({
  name:
    "SharedMemory says what it needs without --allow-ffi; a block its creator left is unlinked at exit",
  permissions: { ffi: false, read: true, run: true },
  async fn() {
    assertThrows(
      () => new SharedMemory({ create: true, size: 8 }),
      Deno.errors.NotCapable,
      "needs --allow-ffi",
    );
    const { code, stdout, stderr } = await deno([
      "run",
      "--allow-ffi",
      "tests/fixtures/shm_targets.ts",
    ]);
    assertEquals(code, 0, stderr);
    const name = stdout.trim();
    assertEquals(name.startsWith("psm_"), true);
    const probe = await deno([
      "run",
      "--allow-ffi",
      "tests/fixtures/shm_targets.ts",
      "open",
      name,
    ]);
    assertEquals(probe.stdout.trim(), "NotFound", probe.stderr);
  },
});

Deno.test({
  name:
    "ShareableList: Python's items and sl[i], fixed slots, the same list in a process and a thread (test_shared_memory_ShareableList_basics)",
  permissions: PERMISSIONS,
  async fn() {
    const bytes = new Uint8Array([1, 2, 3]);
    const list = new ShareableList([1.5, "ab", 7n, null, bytes, false]);
    try {
      assertEquals(list.length, 6);
      assertEquals([...list], [1.5, "ab", 7n, null, bytes, false]);
      assertEquals([list.index(7n), list.count(false), list[-2]], [
        2,
        1,
        bytes,
      ]);
      list[3] = 9;
      // A string's slot is its length rounded up to 8 bytes.
      list[1] = "abcdefgh";
      assertThrows(() => list[1] = "abcdefghi", RangeError, "needs 9 bytes");
      assertThrows(() => list[3] = "abcdefghi", RangeError, "its slot has 8");
      assertThrows(() => list[9] = 1, RangeError, "expected an index");
      assertThrows(
        () => new ShareableList([{}] as never),
        TypeError,
        "expected a number, bigint",
      );
      const same = new ShareableList(null, { name: list.shm.name });
      assertEquals(same.get(1), "abcdefgh");
      assertInstanceOf(same.get(4), Uint8Array);
      same.shm.close();
      list[1] = "ab";
      for (const Runner of [Process, Thread]) {
        const runner = new Runner({
          target: editList,
          args: [list, "!"],
          module: SHM_TARGETS,
        });
        runner.start();
        await runner.join();
        assertEquals(runner.exitCode, 0);
      }
      assertEquals([...list], [3.5, "ab!!", 7n, 9, bytes, true]);
    } finally {
      list.shm.close();
      list.shm.unlink();
    }
  },
});
