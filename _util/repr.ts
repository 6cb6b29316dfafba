// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// How values are named in messages, and Python's repr of a string.

/** Python's `repr()` of a string. */
export function pyRepr(text: string): string {
  if (text.includes("'") && !text.includes('"')) return `"${text}"`;
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** A short description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") {
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    return name && name !== "Object" ? `an instance of ${name}` : "an object";
  }
  if (typeof value === "string") return `the string "${value}"`;
  if (typeof value === "function") return `a function`;
  return `${typeof value} ${String(value)}`;
}

const SIGNAL_NAMES: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  8: "SIGFPE",
  9: "SIGKILL",
  11: "SIGSEGV",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
};

/** The name of signal number `n` (`SIGTERM`), if it has one here. */
export function signalName(n: number): string | undefined {
  return SIGNAL_NAMES[n];
}
