// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Helpers shared by the seed examples, as the tutorial's programs share
// `new_time()` and `time.sleep()`.

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
