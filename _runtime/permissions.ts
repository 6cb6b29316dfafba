// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Derives a child's `--allow-*` flags from what the parent holds, so that a
// child never has more permissions than its parent. See ARCHITECTURE.md.

import { describe } from "../_util/repr.ts";

/** A permission kind a child can be given, as in `Deno.PermissionName`. */
export type PermissionName =
  | "read"
  | "write"
  | "net"
  | "env"
  | "sys"
  | "run"
  | "ffi"
  | "import";

/**
 * One kind of permission for a child: `"inherit"` (what the parent holds in
 * full), `true` (all of it; the parent must hold all of it), `false`
 * (none), or a list of paths, hosts, variables or commands, each of which
 * the parent must hold.
 */
export type PermissionValue = "inherit" | boolean | Array<string | URL>;

/**
 * Permissions for a child by kind, in the shape `Deno.test` uses. Kinds
 * left out are not granted.
 */
export type ChildPermissionsObject = Partial<
  Record<PermissionName, PermissionValue>
>;

/**
 * Permissions for a child: `"inherit"` gives it every kind the parent holds
 * in full, `"none"` gives it nothing beyond loading its code, and an object
 * gives it exactly what it lists. A child never gets more than its parent.
 */
export type ChildPermissions = "inherit" | "none" | ChildPermissionsObject;

/** The permission kinds a child can be given, with their query field. */
const KINDS: Record<
  PermissionName,
  "path" | "host" | "variable" | "kind" | "command"
> = {
  read: "path",
  write: "path",
  net: "host",
  env: "variable",
  sys: "kind",
  run: "command",
  ffi: "path",
  import: "host",
};

/** Where the child runs, which changes what relative grants mean. */
export interface ChildContext {
  /** The child's working directory, if not the parent's. */
  cwd?: string | URL;
  /** Environment variables set for the child. */
  env?: Record<string, string>;
  /**
   * The modules the child's entry imports (the package's runtime, the
   * target's modules): it may import from their hosts, as its parent did.
   */
  modules?: string[];
}

/**
 * The hosts Deno lets a program import from when it is given no import flag
 * (Deno 2's built-in list).
 */
const DEFAULT_IMPORT_HOSTS = [
  "deno.land:443",
  "jsr.io:443",
  "esm.sh:443",
  "cdn.jsdelivr.net:443",
  "raw.githubusercontent.com:443",
  "gist.githubusercontent.com:443",
];

function isFullyGranted(name: PermissionName): boolean {
  const status = Deno.permissions.querySync({ name });
  return status.state === "granted" && !status.partial;
}

/** True when the parent holds `item` in full: a deny list inside it is not. */
function isGranted(name: PermissionName, item: string): boolean {
  const descriptor = { name, [KINDS[name]]: item } as Deno.PermissionDescriptor;
  const status = Deno.permissions.querySync(descriptor);
  return status.state === "granted" && !status.partial;
}

function notCapable(name: PermissionName, what: string): never {
  throw new Deno.errors.NotCapable(
    `Cannot give the child ${name} access to ${what}: the parent does not hold it`,
  );
}

/**
 * Checks the shape of a `permissions` option without querying anything.
 *
 * @throws {TypeError} If it is not `"inherit"`, `"none"` or an object of
 * known kinds with `"inherit"`, booleans or arrays.
 */
export function checkPermissions(permissions: unknown): ChildPermissions {
  if (permissions === "inherit" || permissions === "none") return permissions;
  if (
    typeof permissions !== "object" || permissions === null ||
    Array.isArray(permissions)
  ) {
    throw new TypeError(
      'Cannot use permissions: expected "inherit", "none" or an object, ' +
        `received ${describe(permissions)}`,
    );
  }
  for (const [name, value] of Object.entries(permissions)) {
    if (!(name in KINDS)) {
      throw new TypeError(
        `Cannot use permissions: unknown kind "${name}", expected one of ${
          Object.keys(KINDS).join(", ")
        }`,
      );
    }
    const ok = value === undefined || value === "inherit" ||
      typeof value === "boolean" ||
      (Array.isArray(value) &&
        value.every((item) =>
          (typeof item === "string" && item !== "" && !item.includes(",")) ||
          item instanceof URL
        ));
    if (!ok) {
      throw new TypeError(
        `Cannot use permissions.${name}: expected "inherit", a boolean, or an array of ` +
          `non-empty strings without commas or URLs, received ${
            describe(value)
          }`,
      );
    }
  }
  return permissions as ChildPermissions;
}

/** Turns one listed item into the text Deno's flag and query take. */
function itemText(
  kind: PermissionName,
  item: string | URL,
  context: ChildContext,
): string {
  const field = KINDS[kind];
  if (item instanceof URL) {
    return field === "host" ? item.host : decodeURIComponent(item.pathname);
  }
  // A relative path means the parent's directory in the parent's query but
  // the child's in the child's flag: they must be the same directory.
  const relative = (field === "path" && !item.startsWith("/")) ||
    (field === "command" && item.includes("/") && !item.startsWith("/"));
  if (relative && context.cwd !== undefined) {
    throw new TypeError(
      `Cannot use permissions.${kind} with the cwd option: expected an absolute path, ` +
        `received "${item}"`,
    );
  }
  // A bare command name is looked up on the child's PATH.
  if (
    field === "command" && !item.includes("/") &&
    context.env?.PATH !== undefined
  ) {
    throw new TypeError(
      `Cannot use permissions.run with env.PATH: expected an absolute path, received "${item}"`,
    );
  }
  return item;
}

/**
 * Returns the `--allow-*` flags for a child, checking each grant against the
 * parent's own.
 *
 * @throws {Deno.errors.NotCapable} If the child asks for more than the
 * parent holds.
 * @throws {TypeError} If a listed item is ambiguous in the child's context.
 */
export function permissionFlags(
  permissions: ChildPermissions,
  context: ChildContext = {},
): string[] {
  const flags: string[] = [];
  const granted = new Set<PermissionName>();
  /** Import hosts listed for the child (joined by those of its modules). */
  let importHosts: string[] = [];
  if (permissions === "inherit") {
    for (const kind of Object.keys(KINDS) as PermissionName[]) {
      if (isFullyGranted(kind)) granted.add(kind);
    }
  } else if (permissions !== "none") {
    for (const [name, value] of Object.entries(permissions)) {
      const kind = name as PermissionName;
      if (value === false || value === undefined) continue;
      if (value === "inherit") {
        if (isFullyGranted(kind)) granted.add(kind);
      } else if (value === true) {
        if (!isFullyGranted(kind)) notCapable(kind, "everything");
        granted.add(kind);
      } else {
        const items = value.map((item) => itemText(kind, item, context));
        for (const item of items) {
          if (!isGranted(kind, item)) notCapable(kind, `"${item}"`);
        }
        if (kind === "import") importHosts = items;
        else if (items.length > 0) {
          flags.push(`--allow-${kind}=${items.join(",")}`);
        }
      }
    }
  }
  for (const kind of granted) flags.push(`--allow-${kind}`);
  if (!granted.has("import")) {
    const inherit = permissions === "inherit" ||
      (typeof permissions === "object" && permissions.import === "inherit");
    flags.push(importFlag(importHosts, inherit, context.modules ?? []));
  }
  return flags;
}

/**
 * The import flag of a child not given `import` in full. Without one, Deno
 * would let it import from its built-in list of hosts, whatever the parent
 * may import: so the child gets an explicit list, of the hosts listed for it,
 * those of its own modules, and, when it inherits, the built-in hosts its
 * parent may import from; or `--deny-import`.
 */
function importFlag(
  listed: string[],
  inherit: boolean,
  modules: string[],
): string {
  const hosts = new Set(listed);
  const denied = Deno.permissions.querySync({ name: "import" }).state ===
    "denied";
  for (const url of modules) {
    const host = moduleHost(url);
    if (host !== null && !denied && isGranted("import", host)) hosts.add(host);
  }
  if (inherit && !denied) {
    for (const host of DEFAULT_IMPORT_HOSTS) {
      // A deny list names hosts without the port.
      const name = host.slice(0, host.lastIndexOf(":"));
      const deniedByName =
        Deno.permissions.querySync({ name: "import", host: name }).state ===
          "denied";
      if (!deniedByName && isGranted("import", host)) hosts.add(host);
    }
  }
  // A list replaces Deno's built-in one. A bare --deny-import does not
  // (Deno 2.9 still lets such a program import from the built-in hosts):
  // they are denied by name.
  return hosts.size > 0
    ? `--allow-import=${[...hosts].join(",")}`
    : `--deny-import=${DEFAULT_IMPORT_HOSTS.join(",")}`;
}

/** The host a module is imported from, as an import grant names it. */
function moduleHost(url: string): string | null {
  if (url.startsWith("jsr:")) return "jsr.io:443";
  if (!url.startsWith("https:") && !url.startsWith("http:")) return null;
  const parsed = new URL(url);
  return `${parsed.hostname}:${
    parsed.port || (parsed.protocol === "https:" ? "443" : "80")
  }`;
}

/**
 * What an idle warm child may read (see `setStartMethod("warm")`), which it
 * needs to import its target's modules at run time: everything (null) when
 * this process may read everything; else, as Deno cannot list the paths a
 * process may read, those of `candidates` this process may read in full
 * (`inherit` alone would give none).
 *
 * @param candidates Absolute paths.
 * @returns The paths, or null for everything.
 */
export function warmReadable(candidates: string[]): string[] | null {
  if (isFullyGranted("read")) return null;
  return [...new Set(candidates)].filter((path) =>
    !path.includes(",") && isGranted("read", path)
  );
}

/**
 * This process's grants, kind by kind, as one comparable value: what a
 * worker created now would inherit (a warm worker booted under other grants
 * must not stand in for it).
 */
export function grantsNow(): string {
  return (Object.keys(KINDS) as PermissionName[]).map((name) => {
    const status = Deno.permissions.querySync({ name });
    return `${name}=${status.state}${status.partial ? "~" : ""}`;
  }).join(",");
}

/** True when this process may signal whole process groups. */
export function canSignalGroups(): boolean {
  return isFullyGranted("run");
}
