// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Cases from CPython's own suites (Lib/test/lock_tests.py,
// _test_multiprocessing.py, test_threading.py), ported to this API: each
// test names the case it follows.
import { assertEquals, assertMatch } from "@std/assert";
import { Event, Process, Thread } from "../mod.ts";

Deno.test({
  name:
    "Event: every waiter woken by set() returns true, even after an immediate clear() (lock_tests EventTests.test_set_and_clear)",
  permissions: {},
  async fn() {
    const event = new Event();
    const waiters = Array.from({ length: 5 }, () => event.wait(5_000));
    event.set();
    event.clear();
    assertEquals(await Promise.all(waiters), [true, true, true, true, true]);
    assertEquals(event.isSet(), false);
    // A wait that starts after the clear() waits for the next set().
    assertEquals(await event.wait(20), false);
  },
});

Deno.test({
  name:
    "An empty name gives the default name; the setter takes any string (test_threading ThreadTests.test_various_ops, Python's `name or default`)",
  permissions: {},
  fn() {
    const thread = new Thread({ name: "" });
    assertMatch(thread.name, /^Thread-\d+$/);
    const process = new Process({ name: "" });
    assertMatch(process.name, /^Process-\d+$/);
    thread.name = "";
    process.name = "";
    assertEquals([thread.name, process.name], ["", ""]);
  },
});
