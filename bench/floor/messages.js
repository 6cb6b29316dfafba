// The raw floor of the message workload: N small messages to stdout as
// length-prefixed JSON frames, gathered into 64 KiB writes.
const n = Number(Deno.args[0]);
const encoder = new TextEncoder();
const buffer = new Uint8Array(1 << 16);
let used = 0;
for (let i = 0; i <= n; i++) {
  const body = encoder.encode(JSON.stringify(i === n ? null : i));
  if (used + 4 + body.length > buffer.length) {
    Deno.stdout.writeSync(buffer.subarray(0, used));
    used = 0;
  }
  new DataView(buffer.buffer).setUint32(used, body.length, true);
  buffer.set(body, used + 4);
  used += 4 + body.length;
}
Deno.stdout.writeSync(buffer.subarray(0, used));
