// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The offline stand-in for `@std/assert` (used when JSR cannot be reached)
// judges equality as std 1.0.19 does: each case's verdict was read off the
// real `equal` of denoland/std, run beside the stand-in.
import { AssertionError, equal } from "../_offline_std/assert.ts";
import * as standIn from "../_offline_std/assert.ts";

const CASES: [string, unknown, unknown, boolean][] = [
  ["-0 and 0", -0, 0, true],
  ["NaN and NaN", NaN, NaN, true],
  [
    "a null-prototype object and a plain one",
    Object.assign(Object.create(null), { a: 1 }),
    { a: 1 },
    true,
  ],
  // Boxed numbers have no own keys: std finds them equal.
  ["boxed numbers", new Number(1), new Number(2), true],
  ["boxed strings", new String("a"), new String("b"), false],
  ["sets in another order", new Set([1, 2]), new Set([2, 1]), true],
  [
    "maps with object keys",
    new Map([[{ k: 1 }, 1]]),
    new Map([[{ k: 1 }, 1]]),
    true,
  ],
  ["typed arrays", new Uint8Array([1, 2]), new Uint8Array([1, 2]), true],
  [
    "typed arrays that differ",
    new Uint8Array([1, 2]),
    new Uint8Array([1, 3]),
    false,
  ],
  ["typed arrays of two kinds", new Uint8Array([1]), new Int8Array([1]), false],
  ["dates", new Date(5), new Date(5), true],
  ["regular expressions with other flags", /a/g, /a/i, false],
  ["URLs", new URL("http://x/a"), new URL("http://x/a"), true],
  ["a key set to undefined and no key", { a: undefined }, {}, false],
  ["nested arrays", [1, [2]], [1, [2]], true],
  ["a hole and undefined", [, 1], [undefined, 1], false],
  ["errors with other messages", new Error("a"), new Error("b"), false],
  ["instances of two classes", new (class A {})(), new (class A {})(), false],
  // Node's isDeepStrictEqual throws "Too many properties" here on Deno 2.5.
  [
    "large typed arrays",
    new Uint8Array(2_000_000),
    new Uint8Array(2_000_000),
    true,
  ],
];

Deno.test("The stand-in's equal gives std's verdict on each case", () => {
  for (const [name, a, b, verdict] of CASES) {
    if (equal(a, b) !== verdict) {
      throw new AssertionError(`${name}: expected ${verdict}`);
    }
  }
});

Deno.test("The stand-in's assertEquals fails with a diff", () => {
  let message = "";
  try {
    standIn.assertEquals({ a: 1, b: [1, 2] }, { a: 1, b: [1, 3] });
  } catch (error) {
    message = (error as Error).message;
  }
  standIn.assertStringIncludes(message, "Values are not equal");
  standIn.assertStringIncludes(message, "[Diff] Actual / Expected");
  standIn.assertStringIncludes(message, "-   ");
  standIn.assertStringIncludes(message, "+   ");
});
