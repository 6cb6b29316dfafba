// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// OFFLINE STAND-IN for jsr:@std/async@^1, used only when JSR is unreachable
// (see README.md beside this file). Same signatures and behaviour as std
// 1.x for the functions this repository uses; never published.

/** Options for {@linkcode delay}. */
export interface DelayOptions {
  /** Signal used to abort the delay. */
  signal?: AbortSignal;
  /** Whether the timer keeps the process alive. @default {true} */
  persistent?: boolean;
}

/** Resolves after `ms` milliseconds; rejects with the signal's reason. */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal, persistent = true } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(id);
      reject(signal?.reason);
    };
    const id = setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", abort, { once: true });
    if (!persistent) Deno.unrefTimer(id);
  });
}

/** Options for {@linkcode deadline}. */
export interface DeadlineOptions {
  /** Signal used to abort the deadline. */
  signal?: AbortSignal;
}

/**
 * Resolves as `p` does, or rejects with a `DOMException` named
 * `TimeoutError` after `ms` milliseconds.
 */
export async function deadline<T>(
  p: Promise<T>,
  ms: number,
  options: DeadlineOptions = {},
): Promise<T> {
  const signals = [AbortSignal.timeout(ms)];
  if (options.signal) signals.push(options.signal);
  const signal = AbortSignal.any(signals);
  signal.throwIfAborted();
  const { promise, reject } = Promise.withResolvers<never>();
  const abort = () => reject(signal.reason);
  signal.addEventListener("abort", abort, { once: true });
  try {
    return await Promise.race([p, promise]);
  } finally {
    signal.removeEventListener("abort", abort);
  }
}
