// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The broker (`_ipc/broker.ts`) between runtimes, tested with several
// Broker instances in this one runtime, joined by PortLinks on
// MessageChannels: one end is attached as a link to a child (with the
// child's name), the other as the link to the parent.
import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { MessageChannel } from "node:worker_threads";
import {
  Broker,
  type Call,
  Delivery,
  registerRemoteKind,
  type RemoteForm,
  type Servant,
} from "../_ipc/broker.ts";
import { BrokenPipeError } from "../errors.ts";
import { type Link, PortLink } from "../_ipc/link.ts";
import {
  ACK,
  type Incoming,
  NACK,
  REQUEST,
  RESPONSE,
} from "../_ipc/messages.ts";
import { deadline } from "@std/async";

const NONE = {} as const;

/** The kind of object these tests share; its proxy only knows its id. */
const KIND = "ipc-broker-test";
interface Proxy {
  id: string;
  meta: unknown;
}
registerRemoteKind(KIND, (id, meta): Proxy => ({ id, meta }));

/** A servant that runs the ops it is given and records each call. */
class TestServant implements Servant {
  readonly calls: { op: string; args: unknown[]; call: Call }[] = [];
  #called = Promise.withResolvers<Call>();

  constructor(
    readonly ops: Record<string, (args: unknown[], call: Call) => unknown>,
  ) {}

  handle(op: string, args: unknown[], call: Call): unknown {
    this.calls.push({ op, args, call });
    this.#called.resolve(call);
    return this.ops[op](args, call);
  }

  /** Resolves with the first call's context once it has come in. */
  get called(): Promise<Call> {
    return this.#called.promise;
  }
}

/** The links opened by a test: each is closed, and awaited, after it. */
class Links {
  readonly #all: Link[] = [];

  /**
   * A MessageChannel between `parent` and `child`: `down` is the parent's
   * link to the child named `peer`, `up` the child's link to its parent.
   * Either broker may be null, to drive that end by hand.
   */
  connect(
    parent: Broker | null,
    child: Broker | null,
    peer: string,
  ): { down: Link; up: Link } {
    const { port1, port2 } = new MessageChannel();
    const down = new PortLink(port1);
    const up = new PortLink(port2);
    parent?.attach(down, peer);
    child?.attach(up, null);
    // Links start unref'd: held, the test waits for what they carry.
    down.hold();
    up.hold();
    this.#all.push(down, up);
    return { down, up };
  }

  async close(): Promise<void> {
    for (const link of this.#all) link.close();
    await Promise.all(this.#all.map((link) => link.done));
  }
}

async function withLinks(fn: (links: Links) => Promise<void>): Promise<void> {
  const links = new Links();
  try {
    await fn(links);
  } finally {
    await links.close();
  }
}

/**
 * Exports `servant` from `owner` as a new object and hands it over `link`:
 * returns the object and the form that goes on the link.
 */
function share(
  owner: Broker,
  link: Link,
  servant: Servant,
): { object: object; form: RemoteForm } {
  const object = {};
  const form = owner.export(object, KIND, () => servant, { some: "meta" });
  return { object, form: owner.handOver(link, object, form) };
}

/** Resolves with the first message `link` delivers. */
function nextMessage(link: Link): Promise<Incoming> {
  const { promise, resolve } = Promise.withResolvers<Incoming>();
  link.onmessage = resolve;
  return promise;
}

Deno.test({
  name:
    "Broker.request() on a proxy runs the op on its owner's servant and returns the answer",
  permissions: NONE,
  async fn(t) {
    await withLinks(async (links) => {
      const owner = new Broker();
      const user = new Broker();
      const { down, up } = links.connect(owner, user, "child");
      const log: unknown[] = [];
      const servant = new TestServant({
        add: ([a, b]) => (a as number) + (b as number),
        later: async ([value]) => {
          await Promise.resolve();
          return { later: value };
        },
        fail: () => {
          throw new TypeError("not that way");
        },
        note: ([value]) => log.push(value),
      });
      const { form } = share(owner, down, servant);
      const proxy = user.revive(form, up) as Proxy;
      assertEquals(proxy.meta, { some: "meta" });

      await t.step("a value", async () => {
        assertEquals(await user.request(proxy.id, "add", [2, 3]), 5);
        const { op, args, call } = servant.calls[0];
        assertEquals([op, args], ["add", [2, 3]]);
        // On the link it came in on, for the child as the owner names it.
        assertStrictEquals(call.link, down);
        assertEquals(call.origin, `child/${user.origin}`);
      });

      await t.step("a promised value", async () => {
        assertEquals(await user.request(proxy.id, "later", ["x"]), {
          later: "x",
        });
      });

      await t.step("an error, as its class", async () => {
        const error = await assertRejects(
          () => user.request(proxy.id, "fail", []),
          TypeError,
          "not that way",
        );
        assertInstanceOf(error, TypeError);
      });

      await t.step("posts, in order with the requests", async () => {
        user.post(proxy.id, "note", [1]);
        user.post(proxy.id, "note", [2]);
        assertEquals(await user.request(proxy.id, "add", [1, 1]), 2);
        assertEquals(log, [1, 2]);
      });
    });
  },
});

Deno.test({
  name:
    "A request naming an id not handed over its link is refused with Deno.errors.NotCapable",
  permissions: NONE,
  async fn(t) {
    await withLinks(async (links) => {
      const owner = new Broker();
      const user = new Broker();
      const other = new Broker();
      const { down, up } = links.connect(owner, user, "child");
      const { down: otherDown, up: otherUp } = links.connect(
        owner,
        other,
        "other",
      );
      const log: unknown[] = [];
      const granted = new TestServant({ echo: ([value]) => value });
      const secret = new TestServant({
        echo: ([value]) => value,
        note: ([value]) => log.push(value),
      });
      const { form: grantedForm } = share(owner, down, granted);
      const grantedProxy = user.revive(grantedForm, up) as Proxy;

      /** A proxy the user builds from a form it forged with `id`. */
      const forge = (id: string) =>
        user.revive({ kind: KIND, id, meta: null }, up) as Proxy;

      await t.step("an id handed over no link", async () => {
        const secretObject = {};
        const { id } = owner.export(secretObject, KIND, () => secret, null);
        const forged = forge(id);
        await assertRejects(
          () => user.request(forged.id, "echo", ["steal"]),
          Deno.errors.NotCapable,
          "not handed to the thread",
        );
        // A post naming it is dropped: the request after it is answered.
        user.post(forged.id, "note", ["steal"]);
        assertEquals(await user.request(grantedProxy.id, "echo", [1]), 1);
        assertEquals(secret.calls, []);
        assertEquals(log, []);
      });

      await t.step("an id handed over another link", async () => {
        const { form } = share(owner, otherDown, secret);
        const forged = forge(form.id);
        await assertRejects(
          () => user.request(forged.id, "echo", ["steal"]),
          Deno.errors.NotCapable,
        );
        assertEquals(secret.calls, []);
        // The link it was handed over reaches it.
        const proxy = other.revive(form, otherUp) as Proxy;
        assertEquals(await other.request(proxy.id, "echo", ["mine"]), "mine");
        assertEquals(secret.calls.length, 1);
      });
    });
  },
});

Deno.test({
  name:
    "Aborting a request's signal cancels it at the owner, and the owner's answer settles it",
  permissions: NONE,
  async fn(t) {
    await t.step(
      "a wait the owner gives up rejects with the signal's reason",
      async () => {
        await withLinks(async (links) => {
          const owner = new Broker();
          const user = new Broker();
          const { down, up } = links.connect(owner, user, "child");
          const servant = new TestServant({
            wait: (_, call) =>
              new Promise((_, reject) =>
                call.signal.addEventListener(
                  "abort",
                  () => reject(new DOMException("Aborted", "AbortError")),
                )
              ),
          });
          const proxy = user.revive(
            share(owner, down, servant).form,
            up,
          ) as Proxy;
          const controller = new AbortController();
          const waiting = user.request(proxy.id, "wait", [], controller.signal);
          const call = await servant.called;
          assertEquals(call.signal.aborted, false);
          const reason = new Error("no longer needed");
          controller.abort(reason);
          const error = await assertRejects(() => waiting);
          // The caller's own reason, not the owner's AbortError.
          assertStrictEquals(error, reason);
          assertEquals(call.signal.aborted, true);
        });
      },
    );

    await t.step("through a runtime in between", async () => {
      await withLinks(async (links) => {
        const owner = new Broker();
        const middle = new Broker();
        const last = new Broker();
        const first = links.connect(owner, middle, "middle");
        const second = links.connect(middle, last, "last");
        const servant = new TestServant({
          wait: (_, call) =>
            new Promise((_, reject) =>
              call.signal.addEventListener(
                "abort",
                () => reject(new DOMException("Aborted", "AbortError")),
              )
            ),
        });
        const proxy = middle.revive(
          share(owner, first.down, servant).form,
          first.up,
        ) as Proxy;
        const further = last.revive(
          middle.handOver(
            second.down,
            proxy,
            middle.export(proxy, KIND, () => servant, null),
          ),
          second.up,
        ) as Proxy;
        const controller = new AbortController();
        const waiting = last.request(further.id, "wait", [], controller.signal);
        const call = await servant.called;
        const reason = new Error("no longer needed");
        controller.abort(reason);
        assertStrictEquals(await assertRejects(() => waiting), reason);
        // The cancel was passed on to the owner.
        assertEquals(call.signal.aborted, true);
      });
    });

    await t.step(
      "cancelled in the turn it is sent, through a runtime in between",
      async () => {
        await withLinks(async (links) => {
          const owner = new Broker();
          const middle = new Broker();
          const last = new Broker();
          const first = links.connect(owner, middle, "middle");
          const second = links.connect(middle, last, "last");
          const servant = new TestServant({
            wait: (_, call) =>
              new Promise((_, reject) => {
                if (call.signal.aborted) reject(call.signal.reason);
                call.signal.addEventListener(
                  "abort",
                  () => reject(call.signal.reason),
                );
              }),
          });
          const proxy = middle.revive(
            share(owner, first.down, servant).form,
            first.up,
          ) as Proxy;
          const further = last.revive(
            middle.handOver(
              second.down,
              proxy,
              middle.export(proxy, KIND, () => servant, null),
            ),
            second.up,
          ) as Proxy;
          const controller = new AbortController();
          const waiting = last.request(
            further.id,
            "wait",
            [],
            controller.signal,
          );
          // REQUEST and CANCEL reach the runtime in between in one batch:
          // it must still pass the cancel on, or the wait never settles.
          const reason = new Error("no longer needed");
          controller.abort(reason);
          const error = await assertRejects(() => deadline(waiting, 5_000));
          assertStrictEquals(error, reason);
        });
      },
    );

    await t.step(
      "an item the owner hands over anyway is not lost",
      async () => {
        await withLinks(async (links) => {
          const owner = new Broker();
          const user = new Broker();
          const { down, up } = links.connect(owner, user, "child");
          const servant = new TestServant({
            // Taken just as the cancel comes: the answer is the item.
            get: (_, call) =>
              new Promise((resolve) =>
                call.signal.addEventListener("abort", () => resolve("item"))
              ),
          });
          const proxy = user.revive(
            share(owner, down, servant).form,
            up,
          ) as Proxy;
          const controller = new AbortController();
          const getting = user.request(proxy.id, "get", [], controller.signal);
          await servant.called;
          controller.abort(new Error("no longer needed"));
          assertEquals(await getting, "item");
        });
      },
    );
  },
});

Deno.test({
  name:
    "A proxy passed on over a second link reaches its owner through the runtime in between",
  permissions: NONE,
  async fn() {
    await withLinks(async (links) => {
      // owner -> middle -> last, each the parent of the next.
      const owner = new Broker();
      const middle = new Broker();
      const last = new Broker();
      const first = links.connect(owner, middle, "middle");
      const second = links.connect(middle, last, "last");
      const servant = new TestServant({ echo: ([value]) => value });
      const { object, form } = share(owner, first.down, servant);

      const proxy = middle.revive(form, first.up) as Proxy;
      const passed = middle.handOver(
        second.down,
        proxy,
        middle.export(proxy, KIND, () => {
          throw new Error("a proxy has no servant of its own");
        }, form.meta),
      );
      const further = last.revive(passed, second.up) as Proxy;

      assertEquals(await last.request(further.id, "echo", ["hi"]), "hi");
      const { call } = servant.calls[0];
      assertStrictEquals(call.link, first.down);
      // The origin survives forwarding, confined to each link's child.
      assertEquals(call.origin, `middle/last/${last.origin}`);

      // Sent back towards its owner, a proxy is the owner's object again.
      const back = last.handOver(
        second.up,
        further,
        last.export(further, KIND, () => servant, null),
      );
      assertEquals(back.id, proxy.id);
      assertStrictEquals(middle.revive(back, second.down), proxy);
      const home = middle.handOver(
        first.up,
        proxy,
        middle.export(proxy, KIND, () => servant, null),
      );
      assertEquals(home.id, form.id);
      assertStrictEquals(owner.revive(home, first.down), object);
    });
  },
});

Deno.test({
  name:
    "A request pending on a link that closes rejects with BrokenPipeError, and the owner stops serving it",
  permissions: NONE,
  async fn() {
    await withLinks(async (links) => {
      const owner = new Broker();
      const user = new Broker();
      const { down, up } = links.connect(owner, user, "child");
      const servant = new TestServant({ wait: () => new Promise(() => {}) });
      const proxy = user.revive(share(owner, down, servant).form, up) as Proxy;
      const waiting = user.request(proxy.id, "wait", []);
      const call = await servant.called;
      up.close();
      await assertRejects(() => waiting, BrokenPipeError);
      await down.done;
      assertEquals(call.signal.aborted, true);
      // The route is gone: a new request fails at once.
      await assertRejects(
        () => user.request(proxy.id, "wait", []),
        BrokenPipeError,
      );
    });
  },
});

Deno.test({
  name:
    "A Delivery arrives when the requester ACKs it, and goes back to its owner on a NACK or a closed link",
  permissions: NONE,
  async fn(t) {
    /** A servant whose every "take" hands over a Delivery of `item`. */
    function deliveries() {
      const arrived = Promise.withResolvers<string>();
      const lost = Promise.withResolvers<string>();
      const servant = new TestServant({
        take: () =>
          new Delivery(
            "item",
            () => lost.resolve("lost"),
            () => arrived.resolve("arrived"),
          ),
      });
      return { servant, arrived: arrived.promise, lost: lost.promise };
    }

    await t.step("a broker that gets it ACKs it", async () => {
      await withLinks(async (links) => {
        const owner = new Broker();
        const user = new Broker();
        const { down, up } = links.connect(owner, user, "child");
        const { servant, arrived } = deliveries();
        const proxy = user.revive(
          share(owner, down, servant).form,
          up,
        ) as Proxy;
        assertEquals(await user.request(proxy.id, "take", []), "item");
        assertEquals(await arrived, "arrived");
      });
    });

    // The requester's end driven by hand, to choose its answer.
    for (const answer of ["NACK", "close"] as const) {
      await t.step(`a ${answer} gives it back`, async () => {
        await withLinks(async (links) => {
          const owner = new Broker();
          const { down, up } = links.connect(owner, null, "child");
          const { servant, arrived, lost } = deliveries();
          const { form } = share(owner, down, servant);
          const response = nextMessage(up);
          up.send([REQUEST, 1, form.id, "take", [], "1:1", true]);
          assertEquals(await response, [RESPONSE, 1, true, "item", 1]);
          if (answer === "NACK") up.send([NACK, 1]);
          else up.close();
          assertEquals(await lost, "lost");
          assertEquals(
            await Promise.race([arrived, Promise.resolve("not arrived")]),
            "not arrived",
          );
          // An ACK after the NACK changes nothing.
          if (answer === "NACK") {
            up.send([ACK, 1]);
            up.send([REQUEST, 2, form.id, "take", [], "1:1", true]);
            await nextMessage(up);
            assertEquals(
              await Promise.race([arrived, Promise.resolve("not arrived")]),
              "not arrived",
            );
          }
        });
      });
    }
  },
});

Deno.test({
  name: "A response counts only on the link its request went out on",
  permissions: NONE,
  async fn() {
    await withLinks(async (links) => {
      const owner = new Broker();
      const user = new Broker();
      const { down, up } = links.connect(owner, user, "child");
      // A child of the user's, driven by hand, that forges answers.
      const { up: forger } = links.connect(user, null, "forger");
      const answer = Promise.withResolvers<string>();
      const servant = new TestServant({ get: () => answer.promise });
      const proxy = user.revive(share(owner, down, servant).form, up) as Proxy;
      const getting = user.request(proxy.id, "get", []);
      await servant.called;
      for (let requestId = 0; requestId < 10; requestId++) {
        forger.send([RESPONSE, requestId, true, "forged"]);
      }
      // Answered after the forgeries on the same link: they were read.
      const refused = nextMessage(forger);
      forger.send([REQUEST, 99, "no such id", "get", [], "1:1", true]);
      const [kind, requestId, ok] = await refused;
      assertEquals([kind, requestId, ok], [RESPONSE, 99, false]);
      answer.resolve("genuine");
      assertEquals(await getting, "genuine");
    });
  },
});
