// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Derives a child's `--allow-*` flags from what the parent holds, so that a
// child never has more permissions than its parent. See ARCHITECTURE.md.

import { describe } from "./_target.ts";
import type { ChildPermissions, PermissionName } from "./process.ts";

/** The permission kinds a child can be given, with their query field. */
const KINDS: Record<PermissionName, string> = {
  read: "path",
  write: "path",
  net: "host",
  env: "variable",
  sys: "kind",
  run: "command",
  ffi: "path",
  import: "host",
};

function isFullyGranted(name: PermissionName): boolean {
  const status = Deno.permissions.querySync({ name });
  return status.state === "granted" && !status.partial;
}

function isGranted(name: PermissionName, item: string): boolean {
  const descriptor = { name, [KINDS[name]]: item } as Deno.PermissionDescriptor;
  return Deno.permissions.querySync(descriptor).state === "granted";
}

function notCapable(name: PermissionName, what: string): never {
  throw new Deno.errors.NotCapable(
    `Cannot give the child ${name} access to ${what}: the parent does not hold it`,
  );
}

/**
 * Returns the `--allow-*` flags for a child, checking each grant against the
 * parent's own.
 *
 * @throws {Deno.errors.NotCapable} If the child asks for more than the
 * parent holds.
 * @throws {TypeError} If the permissions are not of the expected shape.
 */
export function permissionFlags(permissions: ChildPermissions): string[] {
  if (permissions === "none") return [];
  if (permissions === "inherit") {
    return (Object.keys(KINDS) as PermissionName[])
      .filter(isFullyGranted)
      .map((name) => `--allow-${name}`);
  }
  if (typeof permissions !== "object" || permissions === null) {
    throw new TypeError(
      'Cannot use permissions: expected "inherit", "none" or an object, ' +
        `received ${describe(permissions)}`,
    );
  }
  const flags: string[] = [];
  for (const [name, value] of Object.entries(permissions)) {
    if (!(name in KINDS)) {
      throw new TypeError(
        `Cannot use permissions: unknown kind "${name}", expected one of ${
          Object.keys(KINDS).join(", ")
        }`,
      );
    }
    const kind = name as PermissionName;
    if (value === false || value === undefined) continue;
    if (value === "inherit") {
      if (isFullyGranted(kind)) flags.push(`--allow-${kind}`);
    } else if (value === true) {
      if (!isFullyGranted(kind)) notCapable(kind, "everything");
      flags.push(`--allow-${kind}`);
    } else if (Array.isArray(value)) {
      const items = value.map((item) => {
        const text = item instanceof URL
          ? decodeURIComponent(item.pathname)
          : item;
        if (typeof text !== "string" || text === "" || text.includes(",")) {
          throw new TypeError(
            `Cannot use permissions.${kind}: expected non-empty strings without commas, ` +
              `received ${describe(item)}`,
          );
        }
        if (!isGranted(kind, text)) notCapable(kind, `"${text}"`);
        return text;
      });
      if (items.length > 0) flags.push(`--allow-${kind}=${items.join(",")}`);
    } else {
      throw new TypeError(
        `Cannot use permissions.${kind}: expected "inherit", a boolean or an array, ` +
          `received ${describe(value)}`,
      );
    }
  }
  return flags;
}

/** True when this process may signal whole process groups. */
export function canSignalGroups(): boolean {
  return isFullyGranted("run");
}
