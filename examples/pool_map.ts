// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Pool.map and ThreadPool.map of a CPU-bound function over 10,000 inputs,
// against a plain loop: the results are the same, and the printed speed-up
// is the plain loop's time over the pool's (at most the number of cores;
// starting the workers is part of the pool's time).
//
//   deno run -P examples/pool_map.ts

import { Pool, ThreadPool } from "../mod.ts";

const INPUTS = Array.from({ length: 10_000 }, (_, i) => i);

/** Hashes x 100,000 times over (FNV-1a style): work for the CPU. */
export function work(x: number): number {
  let hash = x | 0;
  for (let k = 0; k < 100_000; k++) hash = Math.imul(hash ^ k, 16777619) >>> 0;
  return hash;
}

if (import.meta.main) {
  const workers = navigator.hardwareConcurrency;
  let start = performance.now();
  const expected = INPUTS.map(work);
  const plain = performance.now() - start;
  console.log(`plain loop: ${plain.toFixed(0)} ms`);
  for (
    const [label, make] of [
      [`Pool(${workers})`, () => new Pool({ processes: workers })],
      [`ThreadPool(${workers})`, () => new ThreadPool({ threads: workers })],
    ] as const
  ) {
    start = performance.now();
    await using pool = make();
    const results = await pool.map(work, INPUTS);
    const took = performance.now() - start;
    const same = results.every((value, i) => value === expected[i]);
    console.log(
      `${label}.map: ${took.toFixed(0)} ms, speed-up ${
        (plain / took).toFixed(2)
      }x, same results: ${same}`,
    );
  }
}
