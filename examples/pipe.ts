// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// A Pipe between a parent and its child, talking both ways: the parent
// sends three pings, the child answers each with a pong, and when the
// parent closes its end the child's recv() throws EOFError and it stops.
//
//   deno run -P examples/pipe.ts

import { type Connection, EOFError, Pipe, Process } from "../mod.ts";

export async function ponger(conn: Connection<string>): Promise<void> {
  while (true) {
    let message: string;
    try {
      message = await conn.recv();
    } catch (error) {
      if (error instanceof EOFError) break;
      throw error;
    }
    console.log(`child got ${message}`);
    await conn.send(message.replace("ping", "pong"));
  }
  console.log("child saw the parent close its end");
}

if (import.meta.main) {
  const [parentEnd, childEnd] = Pipe<string>();
  const p = new Process({ target: ponger, args: [childEnd] });
  p.start();
  for (let i = 0; i < 3; i++) {
    await parentEnd.send(`ping ${i}`);
    console.log(`parent got ${await parentEnd.recv()}`);
  }
  parentEnd.close();
  await p.join();
}
