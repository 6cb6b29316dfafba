// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Where RedisProcess loads ioredis from, in its child.
//
// The package's one npm dependency is imported by a specifier held in a
// constant, which Deno does not follow when it builds a module graph: every
// module graph that holds an npm package makes each Deno worker load the
// package's registry information again, and a worker that closes before
// that load ends makes the next one retry it; at the 1,001st retry Deno
// panics (deno_unsync value_creator.rs, seen on Deno 2.5.7 and 2.9.6 after
// about 1,000 threads). It is the same specifier as `ioredis` in deno.json's
// imports, which a test checks; the types come from there.

/** The specifier of ioredis, as deno.json's `imports` names it. */
export const IOREDIS = "npm:ioredis@^6";
