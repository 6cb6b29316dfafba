// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The seed's object-oriented section: four RedisProcess children, each with
// its own connection, key and value, work on Redis at once.
//
//   deno run -P=redis examples/redis_process.ts
//
// Needs Redis on 127.0.0.1:6379, or REDIS_URL (`redis-server --save ""`
// starts one). Each child prints what its get() read; then the parent reads
// all four keys with its own client and prints them.

import { RedisProcess } from "../mod.ts";

/** The seed's RedisProcess, printing what get() read. */
export class SeedRedisProcess extends RedisProcess {
  override async run(): Promise<unknown> {
    const value = await super.run();
    console.log(`${this.name} read ${this.key} = ${value}`);
    return value;
  }
}

if (import.meta.main) {
  const url = Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379";
  const db = 0;
  const keys = [1, 2, 3, 4].map((i) => `mp:example:${i}`);
  const children = keys.map((key, i) =>
    new SeedRedisProcess({
      db,
      key,
      values: `value-${i + 1}`,
      redis: url,
      // Each child may reach Redis and nothing else (ioredis reads the
      // whole environment when it loads, hence `env`).
      permissions: { net: [new URL(url).host], env: true },
    })
  );
  for (const p of children) p.start();
  for (const p of children) await p.join();

  // The parent's own client, to check what the children wrote.
  const { Redis } = await import("ioredis");
  // Fail at once rather than retry for ever if Redis went away.
  const client = new Redis(url, { db, retryStrategy: () => null });
  const values = await client.mget(...keys);
  keys.forEach((key, i) => console.log(`parent read ${key} = ${values[i]}`));
  await client.del(...keys);
  await client.quit();
}
