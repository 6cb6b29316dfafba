// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The warm start's timing: when an idle child or worker is replaced.

/**
 * How long after a warm child or worker is taken its replacement boots, in
 * ms. Booting at once, on two cores, slowed a short child's start + join
 * from 8.3 to 10.2 ms, and creating a Worker blocks this thread for tens of
 * ms: a warm thread's went from 6 to 54 ms.
 */
const REFILL_DELAY = 50;

/**
 * Schedules the refill of a warm pool: soon after one was taken, at once
 * when none was ready. The timer keeps nothing alive.
 *
 * @param taken Whether an idle one was taken.
 * @param fill Refills the pool.
 */
export function refillLater(taken: boolean, fill: () => void): void {
  Deno.unrefTimer(setTimeout(fill, taken ? REFILL_DELAY : 0));
}
