// Python's forkserver idea for Deno: `setStartMethod("warm")` keeps a child
// booted ahead of time, and `preload` has it import this module while it
// waits, so that `start()` + `join()` of a small target takes a few
// milliseconds instead of a whole Deno start. Prints the median of each.
//
//   deno run -P examples/warm_start.ts

import { Process, setStartMethod } from "../mod.ts";

/** A small target: the child computes and exits. */
export function square(x: number): number {
  return x * x;
}

/** The median time of `rounds` starts + joins, in ms. */
async function timeStarts(rounds: number, pause: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Time for the idle child that replaces the one taken to boot.
    await new Promise((resolve) => setTimeout(resolve, pause));
    const start = performance.now();
    const p = new Process({ target: square, args: [i] });
    p.start();
    await p.join();
    times.push(performance.now() - start);
    if (p.exitCode !== 0) {
      throw new Error(`${p.name} exited with ${p.exitCode}`);
    }
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(rounds / 2)];
}

if (import.meta.main) {
  const spawned = await timeStarts(5, 0);
  console.log(`spawn: ${spawned.toFixed(0)} ms`);
  setStartMethod("warm", { preload: [import.meta.url] });
  const warm = await timeStarts(5, 300);
  console.log(`warm, preloaded: ${warm.toFixed(0)} ms`);
  // Back to spawning: the idle child is ended.
  setStartMethod("spawn");
}
