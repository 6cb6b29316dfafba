// The raw floor of the Redis workload: one child, plain ioredis, TIMES
// SET and GET pairs on KEY, one after the other.
import Redis from "ioredis";
const [url, key, times] = Deno.args;
const client = new Redis(url, { lazyConnect: true });
await client.connect();
for (let i = 0; i < Number(times); i++) {
  await client.set(key, String(i));
  await client.get(key);
}
await client.del(key);
client.disconnect();
