// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// The modules whose classes register the kinds of objects that cross, loaded
// when the first object of a kind this runtime does not know arrives: a
// child that is handed no lock, queue or pipe never loads them. See
// ARCHITECTURE.md, "How kinds are found".

let loading: Promise<void> | null = null;
let loaded = false;

/** Whether every kind's module has been loaded (or tried). */
export function kindsLoaded(): boolean {
  return loaded;
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
