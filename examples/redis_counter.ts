// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// A RedisProcess subclass: eight children each INCR one key 10,000 times,
// at once. Redis applies every INCR atomically, so the total is exactly
// 80,000; auto-pipelining sends each child's INCRs in few round trips.
//
//   deno run -P=redis examples/redis_counter.ts
//
// Needs Redis on 127.0.0.1:6379, or REDIS_URL.

import { RedisProcess } from "../mod.ts";

const CHILDREN = 8;
const TIMES = 10_000;

/** Counts: INCR `key` `times` times, all in flight together. */
export class Counter extends RedisProcess {
  times = 0;

  override async run(): Promise<void> {
    const increments = [];
    for (let i = 0; i < this.times; i++) {
      increments.push(this.connect.incr(this.key));
    }
    await Promise.all(increments);
  }
}

if (import.meta.main) {
  const url = Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379";
  const key = `mp:example:counter:${Deno.pid}`;
  const started = performance.now();
  const counters = Array.from({ length: CHILDREN }, () => {
    const counter = new Counter({
      db: 0,
      key,
      values: 0,
      redis: url,
      permissions: { net: [new URL(url).host], env: true },
    });
    counter.times = TIMES;
    return counter;
  });
  for (const counter of counters) counter.start();
  for (const counter of counters) await counter.join();
  const elapsed = performance.now() - started;

  const { Redis } = await import("ioredis");
  // Fail at once rather than retry for ever if Redis went away.
  const client = new Redis(url, { retryStrategy: () => null });
  console.log(`total: ${await client.get(key)}`);
  console.log(`time: ${Math.round(elapsed)} ms`);
  await client.del(key);
  await client.quit();
}
