// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * Python's synchronization primitives and shared values, on shared memory:
 * {@linkcode Lock}, {@linkcode RLock}, {@linkcode Condition},
 * {@linkcode Semaphore}, {@linkcode BoundedSemaphore}, {@linkcode Event},
 * {@linkcode Barrier}, {@linkcode Value}, {@linkcode RawValue},
 * {@linkcode RawArray} and {@linkcode SharedArray}.
 *
 * Each object lives in a `SharedArrayBuffer`, so passing it to a `Thread`
 * shares it rather than copying it: both threads operate on the same memory.
 * Every wait is asynchronous (`Atomics.waitAsync`), so a waiting task never
 * blocks its thread's event loop, and the other tasks of that thread keep
 * running. Waits take a timeout in milliseconds, or an options object with a
 * `timeout` and an `AbortSignal`; a timeout gives Python's result (`false`)
 * rather than an error, except for {@linkcode Barrier.wait} and the `hold()`
 * methods.
 *
 * Passed to a `Process`, every object is served by the process that
 * created it: the child gets an object of the same class that asks the
 * owner (see ARCHITECTURE.md). There, `tryAcquire()` is not available,
 * `locked()`, `getValue()`, `Barrier.nWaiting` and `Barrier.broken` read
 * a mirror that follows the owner, and a `Value` or `SharedArray` is a copy
 * brought up to date each time the child acquires a lock or semaphore.
 *
 * @example Guard a shared counter with a lock
 * ```ts
 * import { Lock, Value } from "@parallel/multiprocessing/sync";
 * import { assertEquals } from "@std/assert";
 *
 * const lock = new Lock();
 * const counter = new Value("i", 0);
 *
 * async function work(): Promise<void> {
 *   for (let i = 0; i < 100; i++) {
 *     using _held = await lock.hold();
 *     const seen = counter.value;
 *     await Promise.resolve(); // another task may run here
 *     counter.value = seen + 1;
 *   }
 * }
 *
 * await Promise.all([work(), work(), work()]);
 * assertEquals(counter.value, 300);
 * ```
 *
 * @module
 */

export type { WaitOptions } from "./_util/wait_options.ts";
export type { AcquireOptions, LockHold } from "./sync/_wait.ts";
export { Lock } from "./sync/lock.ts";
export { RLock } from "./sync/rlock.ts";
export { Condition } from "./sync/condition.ts";
export { BoundedSemaphore, Semaphore } from "./sync/semaphore.ts";
export { Event } from "./sync/event.ts";
export { Barrier } from "./sync/barrier.ts";
export { BrokenBarrierError } from "./errors.ts";
export type {
  Typecode,
  TypecodeValue,
  TypedArrays,
  ValueOptions,
} from "./sync/_typecodes.ts";
export { RawValue, Value } from "./sync/value.ts";
export { RawArray, SharedArray } from "./sync/shared_array.ts";
