// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// A Manager().dict() shared by a pool of processes, as Python's
// `with Manager() as manager: d = manager.dict()`: every worker writes into
// the one dict, which lives in this process, and this process reads it.
//
//   deno run -P examples/manager_dict.ts

import { type DictProxy, type Lock, Manager, Pool } from "../mod.ts";

/** Counts the letters of a word into the shared dict. */
export async function countLetters(
  counts: DictProxy<string, number>,
  lock: Lock,
  word: string,
): Promise<void> {
  for (const letter of word) {
    // Read, add, write: held under one lock, as in Python.
    await lock.acquire();
    try {
      await counts.set(letter, (await counts.get(letter, 0))! + 1);
    } finally {
      lock.release();
    }
  }
}

if (import.meta.main) {
  await using manager = Manager();
  const counts = manager.dict<string, number>();
  const lock = manager.Lock();
  const words = ["manager", "dict", "shared", "by", "a", "pool"];
  await using pool = new Pool(2);
  await pool.starmap(countLetters, words.map((word) => [counts, lock, word]));
  const sorted = (await counts.items()).sort(([a], [b]) => a < b ? -1 : 1);
  console.log(sorted.map(([letter, n]) => `${letter}=${n}`).join(" "));
  const total = sorted.reduce((sum, [, n]) => sum + n, 0);
  console.log(`letters: ${total} (expected ${words.join("").length})`);
}
