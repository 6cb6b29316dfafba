// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The error classes that cross as themselves: the package's own register
// here beside their class (in errors.ts), and crossing.ts rebuilds them.

const errorClasses = new Map<string, { prototype: Error }>();

/** Makes errors of `Class` come back from other processes as instances of it. */
export function registerError(Class: { name: string; prototype: Error }): void {
  errorClasses.set(Class.name, Class);
}

/** The registered class of that name, if any. */
export function errorClass(name: string): { prototype: Error } | undefined {
  return errorClasses.get(name);
}
