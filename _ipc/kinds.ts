// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The modules whose classes register the kinds of objects that cross, loaded
// when the first object of a kind this runtime does not know arrives: a
// child that is handed no lock, queue, pipe or manager's object never loads
// them. See
// ARCHITECTURE.md, "How kinds are found".

import { knowsKind } from "./crossing.ts";

let loading: Promise<void> | null = null;
let loaded = false;

/** The kinds those modules register. */
export const KINDS: readonly string[] = [
  "Condition",
  "Lock",
  "RLock",
  "Semaphore",
  "BoundedSemaphore",
  "Event",
  "Barrier",
  "Value",
  "SharedArray",
  "Queue",
  "JoinableQueue",
  "SimpleQueue",
  "Connection",
  "DictProxy",
  "ListProxy",
  "NamespaceProxy",
  "local",
  "SharedMemory",
  "ShareableList",
];

/**
 * Whether every kind's module has been loaded (or tried): by
 * {@linkcode loadKinds}, or by this runtime's own imports.
 */
export function kindsLoaded(): boolean {
  return loaded ||= KINDS.every(knowsKind);
}

/**
 * Loads every module that registers kinds, once. Literal specifiers: they
 * are part of the module graph, so a child without read permission loads
 * them too.
 */
export function loadKinds(): Promise<void> {
  return loading ??= Promise.all([
    import("../sync.ts"),
    import("../queue.ts"),
    import("../pipe.ts"),
    import("../manager/proxies.ts"),
    import("../sync/local.ts"),
    import("../shared_memory.ts"),
  ]).then(
    () => {
      loaded = true;
    },
    () => {
      // A kind that stays unknown is refused where it is decoded.
      loaded = true;
    },
  );
}
