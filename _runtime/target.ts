// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Finding what a child runs. The parent describes a target (an exported
// function, a self-contained function's source, or a subclass name) and
// names the module to import; the child imports that module and resolves
// the description against its exports. Process and Thread share this code.

import type { TargetRef } from "./state.ts";
import { describe } from "../_util/repr.ts";
import { TargetNotFoundError } from "../errors.ts";

/** The package's root folder. */
const PACKAGE_ROOT = new URL("../", import.meta.url).href;
/** Folders under the root that belong to the repository, not the package. */
const NOT_PACKAGE = ["examples/", "tests/", "bench/"];
// Greedy up to the last `:line:col`: file URLs do not escape parentheses.
const FRAME_URL = /((?:file|https?):\/\/.+):\d+:\d+\)?\s*$/;

/** The module URL of a stack frame line, or null for built-in frames. */
function frameUrl(line: string): string | null {
  return FRAME_URL.exec(line)?.[1] ?? null;
}

/**
 * True for this package's own files: anything under its root but its
 * examples, tests and benchmarks, whose frames are the user's code.
 */
export function isPackageFile(url: string): boolean {
  if (!url.startsWith(PACKAGE_ROOT)) return false;
  const inside = url.slice(PACKAGE_ROOT.length);
  return !NOT_PACKAGE.some((folder) => inside.startsWith(folder));
}

/**
 * Infers the modules a child must import to find its target, from the
 * stack of the constructor call: for a subclass, the module whose frame is
 * `new ClassName` (where the class is defined); then the nearest module
 * outside this package (where the object is constructed, and where a
 * target function most likely lives), unless a subclass has no target.
 */
export function inferModules(
  stack: string,
  className: string | null,
  hasTarget = true,
): string[] {
  const lines = stack.split("\n").slice(1);
  const found: string[] = [];
  if (className) {
    const marker = `at new ${className} (`;
    const line = lines.find((line) => line.includes(marker));
    const url = line && frameUrl(line);
    if (url) found.push(url);
  }
  // A subclass without a target needs only its class.
  if (className && !hasTarget && found.length > 0) return found;
  for (const line of lines) {
    const url = frameUrl(line);
    // `deno eval` and the REPL name their code $deno$…: nothing to import.
    if (url && !isPackageFile(url) && !url.includes("/$deno$")) {
      if (!found.includes(url)) found.push(url);
      break;
    }
  }
  return found;
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

/**
 * Where `value` is exported among the given namespaces (in the order of
 * `modules`): the module's URL and the export's name, or null.
 */
export function exportOf(
  value: unknown,
  namespaces: Namespace[],
  modules: string[],
): { module: string; name: string } | null {
  for (const [i, ns] of namespaces.entries()) {
    for (const [name, item] of Object.entries(ns)) {
      if (item === value && modules[i]) return { module: modules[i], name };
    }
  }
  return null;
}

/** Turns a `ReferenceError` from a source-rebuilt target into advice. */
export function explainScope(
  fn: (...args: unknown[]) => unknown,
  name: string,
  modules: string[],
): (...args: unknown[]) => unknown {
  const advise = (error: unknown): never => {
    if (error instanceof ReferenceError) {
      throw new TargetNotFoundError(
        `Target "${name}" ran from its source text in the child, where ${error.message}: ` +
          hint(name, modules),
        { cause: error },
      );
    }
    throw error;
  };
  return function (this: unknown, ...args: unknown[]) {
    try {
      const result = fn.apply(this, args);
      return result instanceof Promise ? result.catch(advise) : result;
    } catch (error) {
      return advise(error);
    }
  };
}

/**
 * Resolves the `module` option: absolute URLs and paths as they are,
 * relative specifiers against the module that constructs the process.
 */
export function resolveModule(module: unknown, stack: string): string {
  if (typeof module !== "string" && !(module instanceof URL)) {
    throw new TypeError(
      `Cannot create process: expected module to be a string or a URL, received ${
        describe(module)
      }`,
    );
  }
  const text = String(module);
  if (module instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(text)) {
    return new URL(text).href;
  }
  if (text.startsWith("/")) return new URL(`file://${text}`).href;
  const caller = inferModules(stack, null)[0];
  if (!caller) {
    throw new TypeError(
      `Cannot resolve module "${text}": expected an absolute URL or path, as the calling module is unknown`,
    );
  }
  return new URL(text, caller).href;
}
