// piscina (Node's most used worker pool), 2 threads, on the map workload:
// f(i) = sum of k*k for k < 10,000 over N inputs, one task per input, as
// piscina's users submit them. Prints tasks/s.
// Usage: node pool_map.mjs N (after `npm install --prefix bench/node piscina@4`)
import Piscina from "piscina";

const n = Number(process.argv[2]);
const pool = new Piscina({
  filename: new URL("./sum_squares.mjs", import.meta.url).href,
  minThreads: 2,
  maxThreads: 2,
});
const all = (count) =>
  Promise.all(Array.from({ length: count }, (_, i) => pool.run(i)));
await all(4); // started and warm, as the other pools are when timed
const start = performance.now();
await all(n);
const took = performance.now() - start;
console.log(`piscina ${(n / (took / 1000)).toFixed(1)}`);
await pool.destroy();
