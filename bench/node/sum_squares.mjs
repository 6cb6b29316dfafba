// The map workload's task, for piscina's workers (plain JavaScript, run by
// Node: no type annotations).
// deno-lint-ignore explicit-module-boundary-types
export default function sumSquares(i) {
  let sum = 0;
  for (let k = 0; k < 10_000; k++) sum += k * k;
  return sum + i;
}
