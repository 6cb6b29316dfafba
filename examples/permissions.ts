// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Per-child sandboxes, which Python and Node cannot give: a child never has
// more permissions than its parent, and can be given fewer.
//
//   deno run -P examples/permissions.ts
//
// The parent may start programs (`run`, from the "default" permission set
// in deno.json). The first child inherits that and starts one; the second
// is given "none" and is refused; asking for `read`, which the parent does
// not hold, throws NotCapable in the parent and starts nothing.

import { Process } from "../mod.ts";

export function startProgram(label: string): void {
  try {
    new Deno.Command(Deno.execPath(), { args: ["--version"], stdout: "null" })
      .outputSync();
    console.log(`${label}: may start programs`);
  } catch (error) {
    console.log(`${label}: ${(error as Error).name}`);
  }
}

if (import.meta.main) {
  const inherit = new Process({ target: startProgram, args: ["inherit"] });
  inherit.start();
  await inherit.join();

  const none = new Process({
    target: startProgram,
    args: ["none"],
    permissions: "none",
  });
  none.start();
  await none.join();

  try {
    new Process({ target: startProgram, permissions: { read: true } }).start();
  } catch (error) {
    console.log(`{ read: true }: ${(error as Error).name} in the parent`);
  }
}
