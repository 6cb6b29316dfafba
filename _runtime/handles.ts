// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// What holds a child process or a worker to the event loop: one count.

const holds = new WeakMap<object, number>();

/**
 * Counts what holds an unref'd handle (a child process or a worker) to the
 * event loop: it is ref'd while anything does. Everything that refs such a
 * handle goes through here (a join, a link waiting for an answer, the exit
 * rules), or one would unref it under another.
 *
 * @param handle The child process or worker.
 * @param held Whether one more holds it (true) or one lets go (false).
 * @param unref Whether the last to let go unrefs it.
 */
export function holdHandle(
  handle: { ref(): void; unref(): void },
  held: boolean,
  unref = true,
): void {
  const count = (holds.get(handle) ?? 0) + (held ? 1 : -1);
  holds.set(handle, count);
  if (held && count === 1) handle.ref();
  if (!held && count === 0 && unref) handle.unref();
}

/**
 * Keeps this process alive while `waiting` is pending for an unref'd
 * handle (a child process or a worker), counting overlapping waits; after
 * the last one, unrefs the handle again if `unrefAfter()` says so.
 */
export async function keepAliveWhile(
  handle: { ref(): void; unref(): void },
  waiting: Promise<void>,
  unrefAfter: () => boolean,
): Promise<void> {
  holdHandle(handle, true);
  try {
    await waiting;
  } finally {
    holdHandle(handle, false, unrefAfter());
  }
}
