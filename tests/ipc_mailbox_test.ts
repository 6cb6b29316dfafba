// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The state behind a queue or a pipe's direction (`_ipc/mailbox.ts`): a
// FIFO with an optional bound, waiting getters and putters served in
// arrival order, timeouts, signals and an end.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async";
import { Mailbox } from "../_ipc/mailbox.ts";

const NONE = {} as const;

class Timeout extends Error {}
class Ended extends Error {}

/** What the mailbox rejects a timed-out wait with. */
const onTimeout = () => new Timeout("timed out");

/** A get that must wait, as a promise. */
function waitingGet<T>(
  mailbox: Mailbox<T>,
  timeout?: number,
  signal?: AbortSignal,
): Promise<T> {
  const got = mailbox.get(timeout, signal, onTimeout);
  assertInstanceOf(got, Promise, "get() waits");
  return got;
}

/** Whether `promise` is still pending once the current turn has ended. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  await delay(0);
  return !settled;
}

/** Takes every item at hand, in order. */
function drain<T>(mailbox: Mailbox<T>): T[] {
  const items: T[] = [];
  for (let got = mailbox.tryGet(); got.ok; got = mailbox.tryGet()) {
    items.push(got.value);
  }
  return items;
}

Deno.test({
  name: "Mailbox.get() waits for a put and returns its item",
  permissions: NONE,
  async fn() {
    const mailbox = new Mailbox<string>();
    const got = waitingGet(mailbox);
    assert(await pending(got));
    await mailbox.put("hello", undefined, undefined, onTimeout);
    assertEquals(await got, "hello");
    // Handed to the getter, not kept.
    assertEquals(mailbox.size, 0);
  },
});

Deno.test({
  name:
    "Mailbox.get() returns an item at hand at once, mapped synchronously by then",
  permissions: NONE,
  fn() {
    const mailbox = new Mailbox<number>();
    assertEquals(mailbox.tryPut(20), true);
    const got = mailbox.get(undefined, undefined, onTimeout, (n) => n + 1);
    // Not a promise: the answer costs no wait.
    assertStrictEquals(got, 21);
    assertEquals(mailbox.tryGet(), { ok: false });
  },
});

Deno.test({
  name: "Mailbox items and waiting getters are both served in arrival order",
  permissions: NONE,
  async fn(t) {
    await t.step("items first in, first out", () => {
      const mailbox = new Mailbox<number>();
      for (let i = 0; i < 3000; i++) mailbox.tryPut(i);
      const taken: number[] = [];
      for (let i = 0; i < 1500; i++) {
        taken.push(mailbox.get(undefined, undefined, onTimeout) as number);
      }
      for (let i = 3000; i < 3500; i++) mailbox.tryPut(i);
      taken.push(...drain(mailbox));
      assertEquals(taken, Array.from({ length: 3500 }, (_, i) => i));
    });

    await t.step("getters in the order they came", async () => {
      const mailbox = new Mailbox<string>();
      const getters = ["first", "second", "third"].map(() =>
        waitingGet(mailbox)
      );
      for (const item of ["a", "b", "c"]) {
        await mailbox.put(item, undefined, undefined, onTimeout);
      }
      assertEquals(await Promise.all(getters), ["a", "b", "c"]);
    });
  },
});

Deno.test({
  name: "Mailbox.put() waits while the mailbox is full and a get lets it in",
  permissions: NONE,
  async fn() {
    const mailbox = new Mailbox<number>(2);
    await mailbox.put(1, undefined, undefined, onTimeout);
    await mailbox.put(2, undefined, undefined, onTimeout);
    assertEquals(mailbox.full, true);
    const third = mailbox.put(3, undefined, undefined, onTimeout);
    const fourth = mailbox.put(4, undefined, undefined, onTimeout);
    assert(await pending(third));
    assertEquals(mailbox.size, 2);
    // While putters wait, nobody gets ahead of them.
    assertEquals(mailbox.tryPut(99), false);

    assertEquals(mailbox.tryGet(), { ok: true, value: 1 });
    await third;
    assert(await pending(fourth), "one get makes room for one put");
    assertEquals(mailbox.size, 2);
    assertEquals(mailbox.get(undefined, undefined, onTimeout), 2);
    await fourth;
    assertEquals(drain(mailbox), [3, 4]);
    assertEquals(mailbox.full, false);
  },
});

Deno.test({
  name:
    "A wait that times out rejects with what onTimeout makes, and leaves the mailbox as it was",
  permissions: NONE,
  async fn(t) {
    await t.step("a get", async () => {
      const mailbox = new Mailbox<string>();
      const made: Timeout[] = [];
      const got = mailbox.get(1, undefined, () => {
        made.push(new Timeout("get timed out"));
        return made[0];
      });
      const error = await assertRejects(() => got as Promise<string>, Timeout);
      assertStrictEquals(error, made[0]);
      // The getter is gone: a put stays in the mailbox.
      assertEquals(mailbox.tryPut("kept"), true);
      assertEquals(mailbox.size, 1);
    });

    await t.step("a put", async () => {
      const mailbox = new Mailbox<string>(1);
      mailbox.tryPut("first");
      await assertRejects(
        () => mailbox.put("late", 1, undefined, onTimeout),
        Timeout,
      );
      // Its item never goes in, even when there is room.
      assertEquals(drain(mailbox), ["first"]);
      assertEquals(mailbox.tryPut("next"), true);
      assertEquals(drain(mailbox), ["next"]);
    });

    await t.step("a wait answered in time does not time out", async () => {
      const mailbox = new Mailbox<string>();
      const got = waitingGet(mailbox, 60_000);
      mailbox.tryPut("in time");
      assertEquals(await got, "in time");
    });
  },
});

Deno.test({
  name:
    "An aborted signal rejects a wait with its reason, and the next waiter is served",
  permissions: NONE,
  async fn(t) {
    await t.step("a waiting getter", async () => {
      const mailbox = new Mailbox<string>();
      const controller = new AbortController();
      const first = waitingGet(mailbox, undefined, controller.signal);
      const second = waitingGet(mailbox);
      const reason = new Error("gave up");
      controller.abort(reason);
      const error = await assertRejects(() => first);
      assertStrictEquals(error, reason);
      mailbox.tryPut("item");
      assertEquals(await second, "item");
    });

    await t.step("a waiting putter", async () => {
      const mailbox = new Mailbox<string>(1);
      mailbox.tryPut("in");
      const controller = new AbortController();
      const first = mailbox.put(
        "dropped",
        undefined,
        controller.signal,
        onTimeout,
      );
      const second = mailbox.put("next", undefined, undefined, onTimeout);
      controller.abort("reason as a string");
      assertEquals(await assertRejects(() => first), "reason as a string");
      assertEquals(mailbox.tryGet(), { ok: true, value: "in" });
      await second;
      assertEquals(drain(mailbox), ["next"]);
    });

    await t.step("a signal aborted before the wait", async () => {
      const mailbox = new Mailbox<string>();
      const controller = new AbortController();
      const reason = new Error("already");
      controller.abort(reason);
      const error = await assertRejects(() =>
        mailbox.get(undefined, controller.signal, onTimeout) as Promise<string>
      );
      assertStrictEquals(error, reason);
      // No getter was left behind.
      mailbox.tryPut("item");
      assertEquals(mailbox.size, 1);
    });
  },
});

Deno.test({
  name:
    "Mailbox.end() lets getters wait no longer: they reject with its error once it is empty",
  permissions: NONE,
  async fn(t) {
    await t.step("waiting getters", async () => {
      const mailbox = new Mailbox<string>();
      const first = waitingGet(mailbox);
      const second = waitingGet(mailbox);
      mailbox.end(() => new Ended("no more"));
      await assertRejects(() => first, Ended, "no more");
      await assertRejects(() => second, Ended, "no more");
    });

    await t.step("items at hand are taken first", () => {
      const mailbox = new Mailbox<string>();
      mailbox.tryPut("a");
      mailbox.tryPut("b");
      mailbox.end(() => new Ended("no more"));
      assertEquals(mailbox.get(undefined, undefined, onTimeout), "a");
      assertEquals(mailbox.tryGet(), { ok: true, value: "b" });
      // Then a get throws at once rather than waiting.
      assertThrows(
        () => mailbox.get(undefined, undefined, onTimeout),
        Ended,
      );
      assertThrows(() => mailbox.tryGet(), Ended);
    });

    await t.step("the first end counts", () => {
      const mailbox = new Mailbox<string>();
      mailbox.end(() => new Ended("first"));
      mailbox.end(() => new Error("second"));
      assertThrows(() => mailbox.tryGet(), Ended, "first");
    });
  },
});

Deno.test({
  name:
    "Mailbox.poll() resolves true when an item or the end comes, false on timeout",
  permissions: NONE,
  async fn() {
    const mailbox = new Mailbox<number>();
    assertEquals(await mailbox.poll(0), false);
    assertEquals(await mailbox.poll(1), false);
    const polling = mailbox.poll(undefined);
    assert(await pending(polling));
    mailbox.tryPut(1);
    assertEquals(await polling, true);
    // Polling takes nothing.
    assertEquals(mailbox.size, 1);
    assertEquals(await mailbox.poll(0), true);

    drain(mailbox);
    const controller = new AbortController();
    const aborted = mailbox.poll(undefined, controller.signal);
    controller.abort("stop");
    assertEquals(await assertRejects(() => aborted), "stop");

    const ending = mailbox.poll(undefined);
    mailbox.end(() => new Ended("done"));
    assertEquals(await ending, true);
    assertEquals(await mailbox.poll(0), true);
  },
});

Deno.test({
  name:
    "Mailbox.unget() puts an item back at the front, or hands it to a waiting getter",
  permissions: NONE,
  async fn() {
    const mailbox = new Mailbox<string>(2);
    mailbox.tryPut("b");
    mailbox.tryPut("c");
    mailbox.unget("a");
    // Back at the front, even past the bound: it was taken before.
    assertEquals(mailbox.size, 3);
    assertEquals(drain(mailbox), ["a", "b", "c"]);

    const got = waitingGet(mailbox);
    mailbox.unget("returned");
    assertEquals(await got, "returned");
    assertEquals(mailbox.size, 0);
  },
});
