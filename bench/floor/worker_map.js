// The raw-Worker floor of the map workload: a worker computes each task of
// a message and posts the results back. No package code. The task is called
// through Reflect.apply, as the pools call it: inlined into this loop, V8's
// Maglev code runs it several times slower (see BENCHMARKS.md), and a floor
// should not pay for that.
function sumSquares(i) {
  let sum = 0;
  for (let k = 0; k < 10_000; k++) sum += k * k;
  return sum + i;
}
self.onmessage = ({ data }) => {
  if (data === null) return self.close();
  const out = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    out[i] = Reflect.apply(sumSquares, undefined, [data[i]]);
  }
  self.postMessage(out);
};
