// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The workers of a pool: a Process or a Thread running the worker loop,
// made and killed the same way whichever it is.

import { EXTRA_MODULES, START_METHOD } from "../_runtime/options.ts";
import type { EXITED } from "../_runtime/state.ts";
import type { ChildPermissions } from "../_runtime/permissions.ts";
import { Process } from "../process.ts";
import { Thread } from "../thread.ts";
import { poolWorker, type WorkerSetup } from "./_worker_loop.ts";

/** The module of the worker loop, which every worker imports. */
export const POOL_WORKER_URL = new URL("./_worker_loop.ts", import.meta.url)
  .href;

/** What a Process or Thread worker offers the pool. */
export interface Unit {
  readonly name: string;
  readonly pid?: number | null;
  readonly ident: number | null;
  readonly exitCode: number | null;
  start(): void;
  join(options?: { signal?: AbortSignal }): Promise<void>;
  [EXITED](): Promise<void>;
}

/** How to make a pool's workers. */
export interface UnitOptions {
  kind: "process" | "thread";
  /** The module that exports the tasks' functions, if known. */
  module: string | undefined;
  permissions: ChildPermissions | undefined;
  /** A context's start method for the processes; else the global one. */
  startMethod?: "spawn" | "warm";
}

/**
 * Makes one worker running `poolWorker(feed, setup)`.
 *
 * @param options What the workers are and what they import.
 * @param args The feed and the worker's setup.
 * @param number The worker's number, for its name.
 * @returns The worker, not started.
 */
export function makeUnit(
  options: UnitOptions,
  args: [unknown, WorkerSetup],
  number: number,
): Unit {
  const common = {
    target: poolWorker as (...args: unknown[]) => unknown,
    args,
    daemon: true,
    ...(options.module ? { module: options.module } : {}),
    [EXTRA_MODULES]: [POOL_WORKER_URL],
  };
  return options.kind === "process"
    ? new Process({
      ...common,
      name: `PoolWorker-${number}`,
      permissions: options.permissions,
      [START_METHOD]: options.startMethod,
    } as never)
    : new Thread({ ...common, name: `ThreadPoolWorker-${number}` } as never);
}

/**
 * Kills a worker now.
 *
 * @param unit The worker.
 */
export function killUnit(unit: Unit): void {
  if (unit instanceof Process) unit.kill();
  else void (unit as Thread).terminate();
}
