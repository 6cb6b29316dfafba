// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// What `sync.ts` objects offer the servants that serve them to other
// processes (`_remote_sync.ts`), and nothing else.

/** Operations a servant needs beyond the public API. */
export interface RemoteHooks {
  /** Lock: how many times it has been acquired. */
  generation?(): number;
  /** Releases a lock whose holder died, and marks it abandoned. */
  forceRelease?(ident?: number): void;
  /** RLock: acquires as the given ident (one per remote holder). */
  acquireAs?(
    ident: number,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    blocking: boolean,
  ): Promise<boolean>;
  /** RLock: releases as the given ident. */
  releaseAs?(ident: number): void;
  /** Resolves when the watched state is no longer `known`. */
  changed?(known: number, signal: AbortSignal): Promise<number>;
  /** The watched state now. */
  snapshot?(): number;
}

/**
 * Signals of waits run for another process: such a wait must not keep this
 * process alive (a daemon child waiting on a lock would hold its parent).
 */
export const unrefSignals: WeakSet<AbortSignal> = new WeakSet();

/** The hooks of each object that has them. */
export const remoteHooks: WeakMap<object, RemoteHooks> = new WeakMap();

/** A wait argument as `sync.ts` reads it. */
export interface ParsedWait {
  deadline: number;
  timeout: number;
  signal: AbortSignal | undefined;
  blocking: boolean;
}

/** Helpers `sync.ts` lends: set when it loads. */
export const syncHelpers: {
  parseWait?(options: unknown, action: string, acquire?: boolean): ParsedWait;
} = {};
