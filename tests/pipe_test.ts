// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  BrokenPipeError,
  type Connection,
  EOFError,
  Pipe,
  Process,
  Queue,
  Thread,
} from "../mod.ts";
import {
  CHANNEL_TARGETS,
  pipeEcho,
  reverseBytes,
  sendAndClose,
  sendBack,
} from "./fixtures/channel_targets.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

const PERMISSIONS = { run: true, read: true } as const;

Deno.test({
  name: "Pipe talks both ways with a child process and with a thread",
  permissions: PERMISSIONS,
  async fn(t) {
    for (const kind of ["process", "thread"] as const) {
      await t.step(kind, async () => {
        const [here, there] = Pipe<unknown>();
        const options = {
          target: pipeEcho,
          args: [there] as [Connection<unknown>],
          module: CHANNEL_TARGETS,
        };
        const unit = kind === "process"
          ? new Process(options)
          : new Thread(options);
        unit.start();
        for (const value of [1, "two", { three: [3n] }, new Set([4])]) {
          await here.send(value);
          assertEquals(await here.recv(), value);
        }
        here.close();
        // The child's recv() sees EOF and its loop ends.
        await unit.join();
        assertEquals(unit.exitCode, 0);
      });
    }
  },
});

Deno.test({
  name: "Pipe ends see EOFError once the other end is closed and drained",
  permissions: PERMISSIONS,
  async fn() {
    const [reader, writer] = Pipe<number>(false);
    const child = new Process({
      target: sendAndClose,
      args: [writer as Connection<unknown>, [1, 2, 3]],
      module: CHANNEL_TARGETS,
    });
    child.start();
    // As in Python: the end stays open while any process holds it, so the
    // parent closes its own copy of the child's end.
    writer.close();
    assertEquals(await reader.recv(), 1);
    assertEquals(await reader.recv(), 2);
    assertEquals(await reader.recv(), 3);
    await assertRejects(() => reader.recv(), EOFError);
    // poll() says recv() would not wait: it throws at once.
    assertEquals(await reader.poll(), true);
    await child.join();
  },
});

Deno.test({
  name: "Pipe.poll() waits up to its timeout for something to receive",
  permissions: {},
  async fn() {
    const [a, b] = Pipe<string>();
    assertEquals(await a.poll(), false);
    assertEquals(await a.poll(20), false);
    const polled = a.poll(null);
    await b.send("now");
    assertEquals(await polled, true);
    assertEquals(await a.recv(), "now");
    await assertRejects(() => a.recv({ timeout: 10 }), DOMException, "10 ms");
  },
});

Deno.test({
  name: "Pipe sends bytes as bytes, with offset and size, both ways",
  permissions: PERMISSIONS,
  async fn() {
    const [here, there] = Pipe();
    const child = new Process({
      target: reverseBytes,
      args: [there],
      module: CHANNEL_TARGETS,
    });
    child.start();
    await here.sendBytes(new Uint8Array([9, 1, 2, 3, 9]), 1, 3);
    assertEquals(await here.recvBytes(), new Uint8Array([3, 2, 1]));
    await child.join();
    await here.sendBytes(new Uint8Array(10));
    await assertRejects(() => there.recvBytes(4), RangeError, "maxlength 4");
    await here.send("not bytes");
    await assertRejects(() => there.recvBytes(), TypeError, "send()");
  },
});

Deno.test({
  name: "Pipe misuse gives clear errors",
  permissions: {},
  async fn() {
    const [reader, writer] = Pipe(false);
    await assertRejects(() => reader.send(1), Error, "read-only");
    await assertRejects(() => writer.recv(), Error, "write-only");
    await assertRejects(
      () => writer.sendBytes(new Uint8Array(4), 2, 5),
      RangeError,
      "outside a buffer of 4 bytes",
    );
    await assertRejects(
      () => writer.sendBytes("text" as unknown as Uint8Array),
      TypeError,
      "expected a Uint8Array",
    );
    reader.close();
    await assertRejects(() => writer.send(1), BrokenPipeError);
    await assertRejects(() => reader.recv(), Error, "closed");
    assertThrows(() => Pipe(1 as unknown as boolean), TypeError, "boolean");
  },
});

Deno.test({
  name: "Pipe carries large messages intact, whole or split across reads",
  permissions: PERMISSIONS,
  async fn() {
    const [here, there] = Pipe<unknown>();
    const child = new Process({
      target: pipeEcho,
      args: [there],
      module: CHANNEL_TARGETS,
    });
    child.start();
    // Several sizes around the read and join limits, and one of 24 MiB.
    for (const size of [3, 65_535, 65_537, 300_000, 24 << 20]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 7) % 256);
      // Small messages before and after must keep their order.
      await here.send("before");
      await here.send(bytes);
      await here.send("after");
      assertEquals(await here.recv(), "before");
      assertEquals(await here.recv(), bytes);
      assertEquals(await here.recv(), "after");
    }
    here.close();
    await child.join();
    assertEquals(child.exitCode, 0);
  },
});

Deno.test({
  name:
    "Pipe end held by a child closes when the child dies, and the peer sees EOF",
  permissions: PERMISSIONS,
  async fn() {
    const [here, there] = Pipe<unknown>();
    const child = new Process({
      target: pipeEcho,
      args: [there],
      module: CHANNEL_TARGETS,
    });
    child.start();
    there.close();
    await here.send("ping");
    assertEquals(await here.recv(), "ping");
    child.kill();
    await child.join();
    await assertRejects(() => here.recv({ timeout: 10_000 }), EOFError);
    await assertRejects(() => here.send("anyone?"), BrokenPipeError);
  },
});

Deno.test({
  name: "Pipe end put on a queue here, or sent back by a child, still closes",
  permissions: PERMISSIONS,
  async fn(t) {
    await t.step("through a queue of this process", async () => {
      const [here, there] = Pipe<unknown>();
      const queue = new Queue<Connection<unknown>>();
      await queue.put(there);
      const same = await queue.get();
      assertEquals(same, there);
      same.close();
      await assertRejects(() => here.recv({ timeout: 5000 }), EOFError);
    });
    await t.step("back from a child", async () => {
      const [here, there] = Pipe<unknown>();
      const queue = new Queue<Connection<unknown>>();
      const child = new Process({
        target: sendBack,
        args: [there, queue],
        module: CHANNEL_TARGETS,
      });
      child.start();
      const back = await queue.get();
      assertEquals(back, there);
      await child.join();
      back.close();
      await assertRejects(() => here.recv({ timeout: 5000 }), EOFError);
    });
  },
});
