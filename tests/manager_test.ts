// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import {
  BrokenPipeError,
  Manager,
  Pool,
  Process,
  Queue,
  SyncManager,
  Thread,
} from "../mod.ts";
import {
  MANAGER_TARGETS,
  recordSquare,
  tryDict,
  writeFrom,
} from "./fixtures/manager_targets.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

const PERMISSIONS = { read: true, run: true } as const;

Deno.test({
  name: "A manager's dict, list and namespace keep Python's meaning here",
  permissions: {},
  async fn() {
    await using manager = Manager();
    const dict = manager.dict<{ n: number }>({ a: { n: 1 } });
    const held = { n: 2 };
    await dict.set("b", held);
    // Values are copies, both ways.
    held.n = 3;
    const got = (await dict.get("b"))!;
    got.n = 4;
    assertEquals(await dict.get("b"), { n: 2 });
    assertEquals(await dict.get("z"), undefined);
    assertEquals(await dict.get("z", { n: 0 }), { n: 0 });
    assertEquals([await dict.has("a"), await dict.size()], [true, 2]);
    assertEquals(await dict.setdefault("a", { n: 9 }), { n: 1 });
    assertEquals(await dict.pop("a"), { n: 1 });
    await assertRejects(() => dict.pop("a"), RangeError, "no such key");
    assertEquals(await dict.pop("a", { n: 5 }), { n: 5 });
    await dict.update({ c: { n: 3 } });
    await dict.update([["d", { n: 4 }]]);
    assertEquals(await dict.keys(), ["b", "c", "d"]);
    const keys: string[] = [];
    for await (const key of dict) keys.push(key);
    assertEquals(keys, ["b", "c", "d"]);
    assertEquals(await dict.delete("b"), true);
    assertEquals((await dict.copy()).size, 2);

    const list = manager.list([3, 1, 2]);
    await list.append(5);
    await list.extend([4]);
    await list.insert(0, 0);
    assertEquals(await list.toArray(), [0, 3, 1, 2, 5, 4]);
    assertEquals([await list.get(-1), await list.index(2)], [4, 3]);
    await assertRejects(() => list.get(6), RangeError, "expected an index");
    await list.sort();
    assertEquals(await list.slice(1, 3), [1, 2]);
    await list.sort({ reverse: true });
    assertEquals(await list.pop(), 0);
    await list.remove(5);
    await assertRejects(() => list.remove(9), RangeError, "not in the list");
    assertEquals([await list.count(4), await list.length()], [1, 4]);
    await list.reverse();
    assertEquals(await list.toArray(), [1, 2, 3, 4]);

    const names = manager.Namespace<{ x: number; y?: string }>({ x: 1 });
    await names.set("y", "why");
    assertEquals(await names.toObject(), { x: 1, y: "why" });
    await assertRejects(
      () => names.get("z" as "x"),
      RangeError,
      "no such name",
    );
  },
});

Deno.test({
  name:
    "A manager's objects work from a child, a grandchild and a thread, and all see one object",
  permissions: PERMISSIONS,
  async fn() {
    await using manager = Manager();
    const dict = manager.dict<string, number>();
    const list = manager.list<string>();
    const names = manager.Namespace();
    const child = new Process({
      target: writeFrom,
      args: [dict, list, names, "child", 2],
      module: MANAGER_TARGETS,
    });
    child.start();
    await writeFrom(dict, list, names, "main", 0);
    await child.join();
    assertEquals(child.exitCode, 0);
    const expected = ["child", "child/child", "child/child/thread", "main"];
    assertEquals((await dict.keys()).sort(), expected);
    assertEquals((await list.toArray()).sort(), expected);
    assertEquals(Object.keys(await names.toObject()).sort(), expected);
    assertEquals(await dict.get("child/child/thread"), 0);
  },
});

Deno.test({
  name:
    "After shutdown() a manager's objects reject everywhere with BrokenPipeError, and it makes no more",
  permissions: PERMISSIONS,
  async fn() {
    const manager = new SyncManager().start();
    const dict = manager.dict({ a: 1 });
    const out = new Queue<unknown>();
    const run = async (Runner: typeof Process | typeof Thread) => {
      const runner = new Runner({
        target: tryDict,
        args: [dict, out],
        module: MANAGER_TARGETS,
      });
      runner.start();
      const seen = await out.get();
      await runner.join();
      return seen;
    };
    assertEquals(await run(Process), ["value", 1]);
    assertEquals(await run(Thread), ["value", 1]);
    manager.shutdown();
    const error = await assertRejects(() => dict.get("a"));
    assertInstanceOf(error, BrokenPipeError);
    for (const Runner of [Process, Thread]) {
      const [kind, typed, message] = await run(Runner) as unknown[];
      assertEquals([kind, typed], ["error", true]);
      assertEquals(String(message).includes("is shut down"), true);
    }
    assertThrows(() => manager.list(), Error, "is shut down");
    manager.shutdown();
  },
});

Deno.test({
  name: "A Manager().dict() shared by a pool of processes collects every task",
  permissions: PERMISSIONS,
  async fn() {
    await using manager = Manager();
    const squares = manager.dict<number, number>();
    await using pool = new Pool({ processes: 2, module: MANAGER_TARGETS });
    const inputs = [1, 2, 3, 4, 5, 6];
    await pool.starmap(recordSquare, inputs.map((x) => [squares, x]));
    assertEquals(
      (await squares.items()).sort(([a], [b]) => a - b),
      inputs.map((x) => [x, x * x]),
    );
  },
});
