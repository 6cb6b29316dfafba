// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// What every seed example shares: `new_time()`, `time.sleep()` and the
// child's `func(x, y)`. Each example re-exports `func`: the child imports
// the example's module and finds its target among that module's exports.

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

/**
 * The local time as Python's `time.asctime()` prints it:
 * `Sat Nov 28 17:02:33 2026`.
 */
export function newTime(date: Date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${
    String(date.getDate()).padStart(2, " ")
  } ${two(date.getHours())}:${two(date.getMinutes())}:${
    two(date.getSeconds())
  } ${date.getFullYear()}`;
}

/** Python's `time.sleep()`, in milliseconds, without blocking the loop. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The seed's child: prints `x + y`, `func_start <time>`, sleeps 5 s, then
 * prints `func_end <time>`.
 */
export async function func(x: number, y: number): Promise<void> {
  console.log(x + y);
  console.log("func_start", newTime());
  await sleep(5000);
  console.log("func_end", newTime());
}
