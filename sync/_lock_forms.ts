// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// A lock as it crosses into a thread inside a Condition, Value or
// SharedArray, and back.

import type { Form } from "./_cells.ts";
import { revive } from "./_cells.ts";
import { toMemoryForm } from "../_ipc/crossing.ts";
import { Lock, type LockState } from "./lock.ts";
import { RLock, type RLockState } from "./rlock.ts";

/** Rebuilds a lock from its shared form. */
export function reviveLock(form: Form<LockState | RLockState>): Lock | RLock {
  return form.kind === "Lock"
    ? revive(form.state, () => new Lock())
    : revive(form.state, () => new RLock());
}

/** A lock's shared form. */
export function describeLockForm(
  lock: Lock | RLock,
): Form<LockState | RLockState> {
  return lock[toMemoryForm]() as Form<LockState | RLockState>;
}
