// The raw floor of the byte workload: MIB MiB to stdout in 1 MiB writes.
const chunk = new Uint8Array(1 << 20);
for (let i = 0; i < Number(Deno.args[0]); i++) {
  let offset = 0;
  while (offset < chunk.length) {
    offset += Deno.stdout.writeSync(chunk.subarray(offset));
  }
}
