// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The options Process and Thread take alike, checked.

import type { TargetRef } from "./state.ts";
import { describeFunction, inferModules, resolveModule } from "./target.ts";
import { describe } from "../_util/repr.ts";

export function checkName(value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot set name: expected a string, received ${describe(value)}`,
    );
  }
  return value;
}

/** Checks a Process's `stdout` or `stderr` option. */
export function checkStdio(
  option: "stdout" | "stderr",
  value: unknown,
): "inherit" | "piped" | "null" {
  if (value === undefined) return "inherit";
  if (value === "inherit" || value === "piped" || value === "null") {
    return value;
  }
  throw new TypeError(
    `Cannot create process: expected ${option} to be "inherit", "piped" or "null", received ${
      describe(value)
    }`,
  );
}

/** Checks the `signal` option of a process or thread. */
export function checkSignal(
  value: unknown,
  what: "process" | "thread",
): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new TypeError(
    `Cannot create ${what}: expected signal to be an AbortSignal, received ${
      describe(value)
    }`,
  );
}

export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot set ${option}: expected a boolean, received ${describe(value)}`,
    );
  }
  return value;
}

/**
 * An option the package's own code gives Process and Thread: more modules
 * for the child to import after the target's (a pool's worker loop).
 */
export const EXTRA_MODULES: unique symbol = Symbol.for(
  "@parallel/multiprocessing/extraModules",
) as never;

/**
 * An option a context's classes give Process and Pool (see `getContext()`):
 * the start method for this process or pool, whatever the global one is.
 */
export const START_METHOD: unique symbol = Symbol.for(
  "@parallel/multiprocessing/startMethod",
) as never;

/**
 * A static a context's own `Process` class carries: it stands for
 * `Process` itself (a child rebuilds a plain one), not for a subclass.
 */
export const CONTEXT: unique symbol = Symbol.for(
  "@parallel/multiprocessing/context",
) as never;

/** The options Process and Thread take alike, checked. */
export interface RunnableSetup {
  target: ((...args: never[]) => unknown) | undefined;
  targetRef: TargetRef | null;
  args: unknown[];
  daemon: boolean;
  /** The modules a child or worker imports to find its target. */
  modules: string[];
}

/**
 * The most args a target is called with: V8 spreads about 125,000 before
 * its stack overflows, in a child or a worker, less when called deeper.
 */
const MAX_ARGS = 65_535;

/** The number of one-character edits that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j] + 1,
        next[j - 1] + 1,
        row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length];
}

/**
 * Checks the options Process and Thread share, and infers the modules that
 * define the target and the class.
 *
 * @param what "process" or "thread", for messages.
 * @param options The options object.
 * @param className The subclass's name, or null for the base class.
 * @param stack The stack of the constructor call, or "" to infer nothing.
 * @param known The names of the options the class takes: any other is a
 * mistake that would otherwise pass silently (a misspelt `permissions`
 * would give the child everything).
 */
export function setUp(
  what: string,
  options: unknown,
  className: string | null,
  stack: string,
  known: readonly string[],
): RunnableSetup {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot create ${what}: expected an options object, received ${
        describe(options)
      }`,
    );
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = known.find((name) => editDistance(name, key) <= 2);
    throw new TypeError(
      `Cannot create ${what}: unknown option "${key}"${
        near ? ` (did you mean "${near}"?)` : ""
      }, expected one of ${known.join(", ")}`,
    );
  }
  const { target, args = [], daemon, module } = options as {
    target?: unknown;
    args?: unknown;
    daemon?: unknown;
    module?: unknown;
  };
  const targetRef = target === undefined ? null : describeFunction(target);
  if (!Array.isArray(args)) {
    throw new TypeError(
      `Cannot create ${what}: expected args to be an array, received ${
        describe(args)
      }`,
    );
  }
  if (args.length > MAX_ARGS) {
    throw new RangeError(
      `Cannot create ${what}: expected at most ${MAX_ARGS} args, received ${args.length}; pass a long list as one argument`,
    );
  }
  return {
    target: target as RunnableSetup["target"],
    targetRef,
    args,
    daemon: daemon === undefined ? false : checkBoolean("daemon", daemon),
    modules: [
      ...(module === undefined
        ? (stack ? inferModules(stack, className, target !== undefined) : [])
        : [resolveModule(module, stack)]),
      ...((options as Record<symbol, string[] | undefined>)[EXTRA_MODULES] ??
        []),
    ],
  };
}

/** Checks a Process's `env` option. */
export function checkEnv(
  env: unknown,
): Record<string, string> | undefined {
  if (env === undefined) return undefined;
  if (
    typeof env !== "object" || env === null || Array.isArray(env) ||
    !Object.values(env).every((value) => typeof value === "string")
  ) {
    throw new TypeError(
      `Cannot create process: expected env to be an object of strings, received ${
        describe(env)
      }`,
    );
  }
  return env as Record<string, string>;
}

/** Checks a Process's `cwd` option. */
export function checkCwd(cwd: unknown): string | URL | undefined {
  if (cwd === undefined || typeof cwd === "string" || cwd instanceof URL) {
    return cwd;
  }
  throw new TypeError(
    `Cannot create process: expected cwd to be a string or a URL, received ${
      describe(cwd)
    }`,
  );
}
