// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Finding what a child runs. The parent describes a target (an exported
// function, a self-contained function's source, or a subclass name) and
// names the module to import; the child imports that module and resolves
// the description against its exports. Process and Thread share this code.

import type { TargetRef } from "./_state.ts";

const PACKAGE_DIR = new URL(".", import.meta.url).href;
// Greedy up to the last `:line:col`: file URLs do not escape parentheses.
const FRAME_URL = /((?:file|https?):\/\/.+):\d+:\d+\)?\s*$/;

/** The module URL of a stack frame line, or null for built-in frames. */
function frameUrl(line: string): string | null {
  return FRAME_URL.exec(line)?.[1] ?? null;
}

/** True for this package's own top-level files (not its examples or tests). */
function isPackageFile(url: string): boolean {
  return url.startsWith(PACKAGE_DIR) &&
    !url.slice(PACKAGE_DIR.length).includes("/");
}

/**
 * Infers the module a child must import to find its target, from the stack
 * of the constructor call.
 *
 * For a subclass, this is the module whose frame is `new ClassName`, which
 * is where the class is defined. For a plain target, it is the nearest
 * module outside this package, which is where the object is constructed.
 */
export function inferModule(
  stack: string,
  className: string | null,
): string | null {
  const lines = stack.split("\n").slice(1);
  if (className) {
    const marker = `at new ${className} (`;
    for (const line of lines) {
      if (!line.includes(marker)) continue;
      const url = frameUrl(line);
      if (url) return url;
    }
  }
  for (const line of lines) {
    const url = frameUrl(line);
    // `deno eval` and the REPL name their code $deno$…: nothing to import.
    if (url && !isPackageFile(url) && !url.includes("/$deno$")) return url;
  }
  return null;
}

/**
 * Describes a function target so that the child can find it again.
 *
 * @throws {TypeError} If the target is not a function, or is native or
 * bound, so that its source cannot travel.
 */
export function describeFunction(target: unknown): TargetRef {
  if (typeof target !== "function") {
    throw new TypeError(
      `Cannot use target: expected a function, received ${describe(target)}`,
    );
  }
  const source = Function.prototype.toString.call(target);
  if (/^class\b/.test(source)) {
    throw new TypeError(
      `Cannot use target: expected a function, received class ${target.name}; ` +
        "to run a class, subclass Process and override run()",
    );
  }
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TypeError(
      `Cannot use target "${target.name}": it is a native or bound function, ` +
        "so the child cannot rebuild it; wrap it in a function declared in a module",
    );
  }
  return { name: target.name, source };
}

/** A module namespace as the child's entry imports it. */
export type Namespace = Record<string, unknown>;

/**
 * Error for a target that a child cannot find or rebuild: a subclass whose
 * module is unknown (thrown by `start()`), or, in the child, a target that
 * is not exported and not self-contained.
 *
 * @example Catch it around start()
 * ```ts
 * import { TargetNotFoundError } from "@parallel/multiprocessing";
 *
 * const error = new TargetNotFoundError("export `func` from file:///x.ts");
 * console.log(error.name); // "TargetNotFoundError"
 * ```
 */
export class TargetNotFoundError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was looked for and how to fix it.
   * @param options The underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TargetNotFoundError";
  }
}

/**
 * Resolves a function description in the child: an export with the same
 * name and source wins; otherwise the source is evaluated on its own, and a
 * `ReferenceError` when it runs says how to fix it.
 */
export function resolveFunction(
  ref: { name: string; source: string },
  namespaces: Namespace[],
  modules: string[],
): { fn: (...args: unknown[]) => unknown; fromSource: boolean } {
  for (const ns of namespaces) {
    for (const value of Object.values(ns)) {
      if (
        typeof value === "function" && value.name === ref.name &&
        Function.prototype.toString.call(value) === ref.source
      ) {
        return {
          fn: value as (...args: unknown[]) => unknown,
          fromSource: false,
        };
      }
    }
  }
  return { fn: evaluateSource(ref, modules), fromSource: true };
}

function evaluateSource(
  ref: { name: string; source: string },
  modules: string[],
): (...args: unknown[]) => unknown {
  // Indirect eval: the source sees globals only, never this module's scope.
  const indirect = eval;
  try {
    return indirect(`(${ref.source}\n)`);
  } catch {
    // A method's source (`name(x) { … }`) is not an expression on its own.
  }
  try {
    return indirect(`({${ref.source}\n})`)[ref.name];
  } catch (error) {
    throw new TargetNotFoundError(
      `Cannot rebuild target "${ref.name}" in the child from its source: ` +
        hint(ref.name, modules),
      { cause: error },
    );
  }
}

/** Explains how to make a target findable. */
export function hint(name: string, modules: string[]): string {
  const where = modules[0] ?? "its module";
  return `export \`${
    name || "the target"
  }\` from ${where} so the child can import it, ` +
    "or pass the `module` option naming the module that exports it";
}

/**
 * Resolves a class by name among the exports of the given namespaces,
 * keeping only subclasses of `base`.
 */
export function resolveClass<T>(
  name: string,
  base: abstract new (...args: never[]) => T,
  namespaces: Namespace[],
  modules: string[],
): new (...args: never[]) => T {
  for (const ns of namespaces) {
    for (const value of Object.values(ns)) {
      if (
        typeof value === "function" && value.name === name &&
        (value === base || value.prototype instanceof base)
      ) {
        return value as new (...args: never[]) => T;
      }
    }
  }
  throw new TargetNotFoundError(
    `Cannot find class "${name}" in the child: ${hint(name, modules)}`,
  );
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
