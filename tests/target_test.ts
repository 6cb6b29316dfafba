// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// How a child's module is found: the package is a folder, not its top level.
import { assertEquals } from "@std/assert";
import { inferModules, isPackageFile } from "../_runtime/target.ts";

const ROOT = new URL("../", import.meta.url);
const at = (path: string) => new URL(path, ROOT).href;

Deno.test({
  name: "isPackageFile() takes every folder of the package as its own",
  permissions: {},
  fn() {
    for (
      const path of [
        "mod.ts",
        "process.ts",
        "_runtime/target.ts",
        "_ipc/link.ts",
        "sync/lock.ts",
        "pool/_worker_loop.ts",
      ]
    ) {
      assertEquals(isPackageFile(at(path)), true, path);
    }
  },
});

Deno.test({
  name: "isPackageFile() leaves examples, tests, benchmarks and others out",
  permissions: {},
  fn() {
    for (
      const url of [
        at("examples/join.ts"),
        at("tests/fixtures/targets.ts"),
        at("bench/compare.ts"),
        import.meta.url,
        "file:///elsewhere/mod.ts",
        "https://example.com/mod.ts",
      ]
    ) {
      assertEquals(isPackageFile(url), false, url);
    }
  },
});

Deno.test({
  name: "inferModules() skips frames in the package's folders",
  permissions: {},
  fn() {
    const user = at("examples/join.ts");
    const stack = [
      "Error",
      `    at describeFunction (${at("_runtime/target.ts")}:70:11)`,
      `    at new Process (${at("process.ts")}:300:5)`,
      `    at helper (${at("pool/_worker_loop.ts")}:12:3)`,
      `    at main (${user}:8:15)`,
    ].join("\n");
    assertEquals(inferModules(stack, null), [user]);
  },
});
