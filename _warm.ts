// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The first module of a warm child (see `setStartMethod("warm")`): it loads
// what a child runtime needs later while the child is idle, before
// `_child.ts` blocks on its start frame. The channel's socket comes from
// `node:net`, which costs about 19 ms to load.

// The whole package, which the user's modules import in turn.
import "./mod.ts";

(globalThis as unknown as {
  process?: { getBuiltinModule?(name: string): unknown };
}).process?.getBuiltinModule?.("node:net");
