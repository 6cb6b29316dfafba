// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// A Queue between processes: one producer process puts 20 numbers and then
// one `null` per consumer (the sentinel: "no more work"); two consumer
// processes take numbers until they see the sentinel, and report what they
// took on a second queue. Every number reaches exactly one consumer.
//
//   deno run -P examples/queue.ts

import { currentProcess, Process, Queue } from "../mod.ts";

const ITEMS = 20;
const CONSUMERS = 2;

export async function producer(
  queue: Queue<number | null>,
  count: number,
  consumers: number,
): Promise<void> {
  for (let i = 0; i < count; i++) await queue.put(i);
  for (let i = 0; i < consumers; i++) await queue.put(null);
  console.log(`${currentProcess().name} put ${count} numbers`);
}

export async function consumer(
  queue: Queue<number | null>,
  results: Queue<number[]>,
): Promise<void> {
  const taken: number[] = [];
  for (let item; (item = await queue.get()) !== null;) taken.push(item);
  await results.put(taken);
}

if (import.meta.main) {
  const queue = new Queue<number | null>();
  const results = new Queue<number[]>();
  const processes = [
    new Process({
      target: producer,
      args: [queue, ITEMS, CONSUMERS],
      name: "Producer",
    }),
    ...Array.from(
      { length: CONSUMERS },
      (_, i) =>
        new Process({
          target: consumer,
          args: [queue, results],
          name: `Consumer-${i + 1}`,
        }),
    ),
  ];
  for (const p of processes) p.start();
  const taken: number[] = [];
  for (let i = 0; i < CONSUMERS; i++) taken.push(...await results.get());
  for (const p of processes) await p.join();
  taken.sort((a, b) => a - b);
  const once = taken.every((item, i) => item === i) && taken.length === ITEMS;
  console.log(
    `consumers took ${taken.length} numbers, each exactly once: ${once}`,
  );
}
