// The raw-Worker floor of the map workload: a worker computes each task of
// a message and posts the results back. No package code.
function sumSquares(i) {
  let sum = 0;
  for (let k = 0; k < 10_000; k++) sum += k * k;
  return sum + i;
}
self.onmessage = ({ data }) => {
  if (data === null) return self.close();
  const out = new Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = sumSquares(data[i]);
  self.postMessage(out);
};
