// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// What this Deno offers: its version, and its internals behind one door.

/**
 * Whether this Deno is older than `major.minor`. Where a release lacks what
 * the package uses, the check names it (see ARCHITECTURE.md, "Supported Deno
 * releases").
 */
export function denoBefore(major: number, minor: number): boolean {
  const [ownMajor, ownMinor] = Deno.version.deno.split(".").map(Number);
  return ownMajor < major || (ownMajor === major && ownMinor < minor);
}

/** Deno's internal namespace, where this build exposes one. */
// deno-lint-ignore no-explicit-any
type Internal = Record<string, any>;

/**
 * The one reach into `Deno[Deno.internal]`: what this Deno build exposes
 * there, or an empty record. Every use checks the member it needs and has a
 * public fallback (see ARCHITECTURE.md, "What this Deno offers").
 */
export function denoInternals(): Internal {
  const deno = Deno as unknown as Record<symbol, Internal | undefined> & {
    internal?: symbol;
  };
  return (deno.internal === undefined ? undefined : deno[deno.internal]) ?? {};
}
