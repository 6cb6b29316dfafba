// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Thread idents: positive integers given by this package, not the OS, as
// Python's interpreter gives them. One counter in shared memory serves every
// thread of the process, so idents are unique among its live threads. The
// main thread is 1. The same memory says when the main thread has ended.

const KEY = Symbol.for("@parallel/multiprocessing/ident");

interface IdentState {
  ident: number;
  counter: Int32Array;
}

function identState(): IdentState {
  const g = globalThis as unknown as Record<symbol, IdentState | undefined>;
  return g[KEY] ??= {
    ident: 1,
    // [last ident given, last "Thread-N" number given, main thread ended]
    counter: new Int32Array(new SharedArrayBuffer(12)).fill(1, 0, 1),
  };
}

/**
 * The ident of the calling thread: 1 in the main thread, and the ident its
 * `Thread` was given in a worker.
 *
 * @example
 * ```ts
 * import { getIdent } from "@parallel/multiprocessing";
 *
 * console.log(getIdent()); // 1 in the main thread
 * ```
 *
 * @returns The ident.
 */
export function getIdent(): number {
  return identState().ident;
}

/** Takes the next ident from the process-wide counter. */
export function allocateIdent(): number {
  return Atomics.add(identState().counter, 0, 1) + 1;
}

/** The next N for a default thread name `Thread-N`, process-wide. */
export function nextThreadNumber(): number {
  return Atomics.add(identState().counter, 1, 1) + 1;
}

/** The cell that is 1 once the main thread has ended, for waits on it. */
export function mainEndCell(): { cells: Int32Array; index: number } {
  return { cells: identState().counter, index: 2 };
}

/**
 * In the main thread: says that it has ended (its code is done and only
 * threads keep the process alive), waking every `mainThread().join()`.
 */
export function markMainEnded(): void {
  const { counter } = identState();
  if (Atomics.exchange(counter, 2, 1) === 0) Atomics.notify(counter, 2);
}

let native: number | null | undefined;

/**
 * The OS thread id of the calling thread, where Deno lets it be read: on
 * Linux, the main thread's is the pid; a worker's is read from
 * `/proc/thread-self`, which Deno opens only to a runtime with every
 * permission (`-A`), so elsewhere it is `null`. Nothing is asked for: a
 * missing permission is never prompted.
 */
export function nativeId(): number | null {
  if (native !== undefined) return native;
  if (Deno.build.os !== "linux") return native = null;
  if (getIdent() === 1) return native = Deno.pid;
  const names = ["read", "write", "net", "env", "run", "ffi", "sys"] as const;
  const all = names.every((name) =>
    Deno.permissions.querySync({ name }).state === "granted"
  );
  if (!all) return native = null;
  try {
    const tid = Number(Deno.readLinkSync("/proc/thread-self").split("/").pop());
    return native = Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return native = null;
  }
}

/** The shared counter, to hand to a new thread. */
export function identCounter(): SharedArrayBuffer {
  return identState().counter.buffer as SharedArrayBuffer;
}

/** In a new thread: takes its ident and the process-wide counter. */
export function adoptIdent(ident: number, counter: SharedArrayBuffer): void {
  const state = identState();
  state.ident = ident;
  state.counter = new Int32Array(counter);
}
