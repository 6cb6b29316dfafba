// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// What the benchmarks run in children, threads and pool workers. Children
// import this module to find them, so it imports nothing but the package.

import { type Connection, type Queue, RedisProcess } from "../mod.ts";

/** The URL benchmarks pass as the `module` option. */
export const TARGETS: string = import.meta.url;

/** The smallest target: adds two numbers. */
export function add(a: number, b: number): number {
  return a + b;
}

/** The map workload: the sum of k² for k below 10,000, plus i. */
export function sumSquares(i: number): number {
  let sum = 0;
  for (let k = 0; k < 10_000; k++) sum += k * k;
  return sum + i;
}

/** Puts `n` small numbers, then `null`. */
export async function putMany(
  queue: Queue<number | null>,
  n: number,
): Promise<void> {
  for (let i = 0; i < n; i++) queue.put(i);
  await queue.put(null);
}

/** Sends `n` small numbers, then `null`. */
export async function sendMany(
  conn: Connection<number | null>,
  n: number,
): Promise<void> {
  for (let i = 0; i < n; i++) conn.send(i);
  await conn.send(null);
}

/** Sends `mib` MiB of bytes in 1 MiB messages, then an empty one. */
export async function sendBytes(
  conn: Connection<unknown>,
  mib: number,
): Promise<void> {
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < mib; i++) await conn.sendBytes(chunk);
  await conn.sendBytes(new Uint8Array(0));
}

/**
 * `times` SET and GET pairs on its own key: one after the other, or all in
 * flight at once (`together`), which auto-pipelining sends in few writes.
 */
export class SetGet extends RedisProcess {
  times = 0;
  together = false;

  override async run(): Promise<void> {
    const client = this.connect;
    if (this.together) {
      const replies = [];
      for (let i = 0; i < this.times; i++) {
        replies.push(client.set(this.key, String(i)), client.get(this.key));
      }
      await Promise.all(replies);
      return;
    }
    for (let i = 0; i < this.times; i++) {
      await client.set(this.key, String(i));
      await client.get(this.key);
    }
  }
}

/** Puts `n` strings of 1 KiB, then `null`: a fast producer. */
export async function putKilobytes(
  queue: Queue<string | null>,
  n: number,
): Promise<void> {
  const item = "x".repeat(1024);
  for (let i = 0; i < n; i++) await queue.put(item);
  await queue.put(null);
}
