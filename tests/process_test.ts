// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  activeChildren,
  type ChildPermissions,
  cpuCount,
  currentProcess,
  parentProcess,
  Process,
  type ProcessOptions,
} from "../mod.ts";
import {
  Adder,
  checkClones,
  checkEnvAndCwd,
  checkSelf,
  exitWith,
  leaveSleeper,
  Napper,
  sleepFor,
  startSleeper,
  TARGETS,
  throwRangeError,
  tryRead,
} from "./fixtures/targets.ts";
import { deno, isRunning, readUntil, waitGone } from "./_helpers.ts";
import { startReaper } from "../_runtime/reaper.ts";

// Before any test: see startReaper (the sanitizers of Deno before 2.9).
startReaper();

const RUN = { run: true } as const;

/** Starts a child on a fixture target, waits, and returns its exit code. */
async function exitCodeOf<A extends unknown[]>(
  options: ProcessOptions<A>,
): Promise<number | null> {
  const p = new Process({ module: TARGETS, ...options });
  p.start();
  await p.join();
  return p.exitCode;
}

/** Starts a child that sleeps for a minute, unless it is ended first. */
function sleepingChild(): Process<[number]> {
  const p = new Process({ target: sleepFor, args: [60_000], module: TARGETS });
  p.start();
  return p;
}

/** Runs the fixture parent program with a scenario. */
function program(scenario: string): ReturnType<typeof deno> {
  return deno(["run", "--allow-run", "tests/fixtures/program.ts", scenario]);
}
const RUN_READ = { run: true, read: true } as const;

Deno.test({
  name:
    "Process life cycle: pid, isAlive() and exitCode before, during and after",
  permissions: RUN,
  async fn() {
    const p = new Process({ target: sleepFor, args: [300], module: TARGETS });
    assertStrictEquals(p.pid, null);
    assertStrictEquals(p.ident, null);
    assertStrictEquals(p.isAlive(), false);
    assertStrictEquals(p.exitCode, null);
    p.start();
    assert(typeof p.pid === "number" && p.pid > 0);
    assertStrictEquals(p.ident, p.pid);
    assertStrictEquals(p.isAlive(), true);
    assertStrictEquals(p.exitCode, null);
    assertEquals(activeChildren(), [p]);
    await p.join();
    assertStrictEquals(p.isAlive(), false);
    assertStrictEquals(p.exitCode, 0);
    assertEquals(activeChildren(), []);
  },
});

Deno.test({
  name: "Process.join() with a timeout returns while the child is still alive",
  permissions: RUN,
  async fn() {
    const p = sleepingChild();
    await p.join(50);
    assert(p.isAlive());
    assertStrictEquals(p.exitCode, null);
    await p.join({ timeout: 0 });
    assert(p.isAlive());
    p.kill();
    await p.join();
    assertStrictEquals(p.exitCode, -9);
  },
});

Deno.test({
  name:
    "Process.join() rejects with the signal's reason and leaves the child running",
  permissions: RUN,
  async fn() {
    const p = sleepingChild();
    const controller = new AbortController();
    const waiting = p.join({ signal: controller.signal });
    controller.abort(new Error("stop waiting"));
    await assertRejects(() => waiting, Error, "stop waiting");
    assert(p.isAlive());
    p.terminate();
    await p.join();
  },
});

Deno.test({
  name: "Process.terminate() and kill() give Python's negative exit codes",
  permissions: RUN,
  async fn(t) {
    for (const [method, code] of [["terminate", -15], ["kill", -9]] as const) {
      await t.step(`${method}() gives ${code}`, async () => {
        const p = sleepingChild();
        p[method]();
        await p.join();
        assertStrictEquals(p.exitCode, code);
        assertStrictEquals(p.isAlive(), false);
        p[method](); // a no-op once the child has exited
      });
    }
  },
});

Deno.test({
  name: "Process.terminate() also ends what the child started",
  permissions: { run: true, read: true, write: true },
  async fn() {
    const dir = await Deno.makeTempDir();
    const pidFile = `${dir}/sleeper.pid`;
    try {
      const p = new Process({
        target: startSleeper,
        args: [pidFile],
        module: TARGETS,
      });
      p.start();
      let text = "";
      // Bounded: a child that never writes it fails the test, not hangs it.
      for (let i = 0; !text; i++) {
        if (i === 750) throw new Error("No pid file after 15 s");
        await sleepFor(20);
        text = await Deno.readTextFile(pidFile).catch(() => "");
      }
      const grandchild = Number(text);
      assert(isRunning(grandchild));
      p.terminate();
      await p.join();
      assertStrictEquals(p.exitCode, -15);
      await waitGone(grandchild);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "Process gives exit code 1 and prints the stack when the target throws",
  permissions: RUN,
  async fn() {
    const { code, stdout, stderr } = await program("throw");
    assertEquals(code, 0);
    assertStringIncludes(stdout, "exitCode 1");
    assertStringIncludes(stderr, "Process worker-7:");
    assertStringIncludes(stderr, "TypeError: boom from the child");
    assertMatch(stderr, /at boom \(file:\/\/\/.*program\.ts:\d+:\d+\)/);
  },
});

Deno.test({
  name: "Process reports an async throw in the target as exit code 1",
  permissions: RUN,
  async fn() {
    assertStrictEquals(
      await exitCodeOf({
        target: async (message: string) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          throw new Error(message);
        },
        args: ["async failure (expected in the test output)"],
      }),
      1,
    );
  },
});

Deno.test({
  name: "Process.exitCode is the code the child passed to Deno.exit()",
  permissions: RUN,
  async fn() {
    const p = new Process({ target: exitWith, args: [3], module: TARGETS });
    p.start();
    await p.join();
    assertStrictEquals(p.exitCode, 3);
    assertEquals(
      String(p),
      `<Process name='${p.name}' pid=${p.pid} parent=${Deno.pid} stopped exitcode=3>`,
    );
  },
});

Deno.test({
  name:
    "Process subclasses are rebuilt in the child with their fields, and run() is called",
  permissions: RUN,
  async fn(t) {
    await t.step(
      "a sync run() sees the fields set by the constructor",
      async () => {
        const p = new Adder(20, 22);
        assertMatch(p.name, /^Adder-\d+$/);
        p.start();
        await p.join();
        assertStrictEquals(p.exitCode, 42);
      },
    );
    await t.step(
      "an async run() is awaited and is currentProcess()",
      async () => {
        const p = new Napper();
        p.ms = 30;
        p.start();
        await p.join();
        assertStrictEquals(p.exitCode, 5);
      },
    );
  },
});

Deno.test({
  name: "Process runs an inline arrow target from its source text",
  permissions: RUN,
  async fn(t) {
    await t.step("in process", async () => {
      assertStrictEquals(
        await exitCodeOf({
          target: (a: number, b: number) => Deno.exit(a * b),
          args: [6, 7],
        }),
        42,
      );
    });
    await t.step("from a program, with the module inferred", async () => {
      const { stdout } = await program("inline");
      assertEquals(stdout, "inline: 42\nexitCode 0\n");
    });
  },
});

Deno.test({
  name:
    "Process explains how to fix a target that is not exported and needs its module",
  permissions: RUN,
  async fn() {
    const { stdout, stderr } = await program("scope");
    assertEquals(stdout, "exitCode 1\n");
    assertStringIncludes(stderr, "TargetNotFoundError");
    assertMatch(
      stderr,
      /export `needsScope` from file:\/\/\/.*program\.ts so the child can import it/,
    );
  },
});

Deno.test({
  name:
    "Process.start() in a child that is still importing its module names the guard",
  permissions: RUN,
  async fn() {
    const { code, stdout, stderr } = await deno([
      "run",
      "--allow-run",
      "tests/fixtures/no_guard.ts",
    ]);
    assertEquals(code, 0);
    assertEquals(stdout, "exitCode 1\n");
    assertStringIncludes(stderr, "still importing");
    assertStringIncludes(stderr, "if (import.meta.main)");
  },
});

Deno.test({
  name: "currentProcess() and parentProcess() inside a child",
  permissions: RUN,
  async fn(t) {
    await t.step("the child sees its name, pid and parent", async () => {
      assertStrictEquals(
        await exitCodeOf({
          target: checkSelf,
          args: ["checker", Deno.pid],
          name: "checker",
        }),
        0,
      );
    });
    await t.step("the name it prints is the parent's name for it", async () => {
      const { stdout } = await program("name");
      assertEquals(stdout, "child name: worker-7\nexitCode 0\n");
    });
  },
});

Deno.test("currentProcess() in the main process is MainProcess", () => {
  const main = currentProcess();
  assertStrictEquals(main, currentProcess());
  assertStrictEquals(main.name, "MainProcess");
  assertStrictEquals(main.pid, Deno.pid);
  assert(main.isAlive());
  assertStrictEquals(parentProcess(), null);
  assertEquals(
    String(main),
    "<_MainProcess name='MainProcess' parent=None started>",
  );
  assertThrows(() => main.start(), Error, "already running");
  assertRejects(() => main.join(), Error, "only a child process");
  assert(cpuCount() >= 1);
});

Deno.test({
  name:
    "Process sends structured-clone arguments and rejects those that cannot be cloned",
  permissions: RUN,
  async fn() {
    assertStrictEquals(
      await exitCodeOf({
        target: checkClones,
        args: [
          new Map([["a", new Set([1, 2])]]),
          new Date(86_400_000),
          2n ** 70n,
          new Uint8Array([1, 2, 255]),
        ],
      }),
      0,
    );

    const bad = new Process({
      target: exitWith,
      // @ts-expect-error: a function is not a number, and cannot be cloned
      args: [1, () => {}],
      module: TARGETS,
    });
    assertThrows(
      () => bad.start(),
      TypeError,
      "Cannot send args[1] to the child",
    );
    assertStrictEquals(bad.pid, null);
    assertEquals(activeChildren(), []);
  },
});

Deno.test({
  name: "Process misuse throws a clear error and starts nothing",
  permissions: RUN,
  async fn(t) {
    await t.step("start twice", async () => {
      const p = new Process({ target: exitWith, args: [0], module: TARGETS });
      p.start();
      assertThrows(() => p.start(), Error, "Cannot start a process twice");
      await p.join();
    });
    await t.step("join, terminate and kill before start", async () => {
      const p = new Process({ target: exitWith, args: [0], module: TARGETS });
      await assertRejects(() => p.join(), Error, "has not been started");
      assertThrows(() => p.terminate(), Error, "has not been started");
      assertThrows(() => p.kill(), Error, "has not been started");
    });
    await t.step("daemon set after start", async () => {
      const p = new Process({ target: exitWith, args: [0], module: TARGETS });
      p.daemon = true;
      assert(p.daemon);
      p.daemon = false;
      p.start();
      assertThrows(() => (p.daemon = true), Error, "already started");
      await p.join();
    });
    await t.step("close while alive, then after exit", async () => {
      const p = sleepingChild();
      assertThrows(() => p.close(), Error, "while it is still running");
      p.kill();
      await p.join();
      p.close();
      assertThrows(() => p.start(), Error, "closed");
      assertEquals(
        String(p),
        `<Process name='${p.name}' parent=${Deno.pid} closed>`,
      );
    });
    await t.step(
      "an arg V8 cannot serialize is refused by start(), even at once",
      async () => {
        // In a fresh program: node:v8 is still loading at the first start().
        const { stdout, stderr } = await deno([
          "run",
          "--allow-run",
          "--allow-read",
          "tests/fixtures/program.ts",
          "shared-buffer",
        ]);
        assertEquals(stdout, "TypeError\n", stderr);
        // Here it has loaded.
        const p = new Process({
          target: exitWith,
          args: [new SharedArrayBuffer(8)] as unknown as [number],
          module: TARGETS,
        });
        assertThrows(
          () => p.start(),
          TypeError,
          "Cannot send args[0] to the child: it cannot be cloned",
        );
        assertStrictEquals(p.pid, null);
      },
    );
    await t.step("bad option types and values", async () => {
      const make = (options: unknown) => () =>
        new Process(options as ProcessOptions);
      assertThrows(
        make({ target: 3 }),
        TypeError,
        "expected a function, received number 3",
      );
      assertThrows(
        make({ args: "ab" }),
        TypeError,
        "expected args to be an array",
      );
      assertThrows(
        make({ name: 1 }),
        TypeError,
        "expected a string, received number 1",
      );
      assertThrows(make({ daemon: "yes" }), TypeError, "expected a boolean");
      // A misspelt option must not pass silently: `permission` would give
      // the child everything.
      assertThrows(
        make({ target: exitWith, permission: "none" }),
        TypeError,
        'unknown option "permission" (did you mean "permissions"?), expected one of target, args',
      );
      assertThrows(make({ timeout: 5 }), TypeError, 'unknown option "timeout"');
      assertThrows(
        make({ target: exitWith, args: new Array(200_000).fill(0) }),
        RangeError,
        "expected at most 65535 args, received 200000",
      );
      assertThrows(
        make({ signal: "stop" }),
        TypeError,
        "expected signal to be an AbortSignal",
      );
      assertThrows(make({ target: Math.max }), TypeError, "native or bound");
      assertThrows(
        make({ target: class Job {} }),
        TypeError,
        "received class Job",
      );
      assertThrows(
        make({ env: { A: 1 } }),
        TypeError,
        "expected env to be an object of strings",
      );
      assertThrows(
        make({ env: "A=1" }),
        TypeError,
        "expected env to be an object of strings",
      );
      assertThrows(
        make({ cwd: 5 }),
        TypeError,
        "expected cwd to be a string or a URL",
      );
      assertThrows(
        make({ module: 5 }),
        TypeError,
        "expected module to be a string or a URL",
      );
      assertThrows(
        make({ permissions: "all" }),
        TypeError,
        'expected "inherit", "none" or an object',
      );
      assertThrows(
        make({ permissions: { read: [1] } }),
        TypeError,
        "permissions.read",
      );
      assertThrows(
        make(null),
        TypeError,
        "expected an options object, received null",
      );
      const p = new Process({ target: exitWith, args: [0], module: TARGETS });
      p.start();
      await assertRejects(
        () => p.join("1" as unknown as number),
        TypeError,
        "expected a timeout",
      );
      await p.join();
    });
    await t.step("args are typed from the target", () => {
      // @ts-expect-error: exitWith takes a number
      new Process({ target: exitWith, args: ["three"] });
    });
  },
});

Deno.test({
  name: "Process names count from 1 and are assignable; repr follows Python",
  permissions: RUN,
  async fn() {
    const a = new Process({ target: exitWith, args: [0], module: TARGETS });
    const b = new Process({ target: exitWith, args: [0], module: TARGETS });
    const [na, nb] = [a.name, b.name].map((name) => Number(name.split("-")[1]));
    assertMatch(a.name, /^Process-\d+$/);
    assertStrictEquals(nb, na + 1);
    b.name = "进程一号";
    b.daemon = true;
    assertEquals(
      String(b),
      `<Process name='进程一号' parent=${Deno.pid} initial daemon>`,
    );
    b.start();
    assertEquals(
      String(b),
      `<Process name='进程一号' pid=${b.pid} parent=${Deno.pid} started daemon>`,
    );
    await b.join();
    const c = new Process({
      target: sleepFor,
      args: [60_000],
      module: TARGETS,
    });
    c.start();
    c.terminate();
    await c.join();
    assertMatch(String(c), /stopped exitcode=-SIGTERM>$/);
    assertEquals(Deno.inspect(c), String(c));
  },
});

Deno.test({
  name: "Process permissions: never more than the parent, and fewer on request",
  permissions: RUN_READ,
  async fn(t) {
    const file = new URL("../deno.json", import.meta.url).pathname;
    await t.step("inherit: the child reads what the parent reads", async () => {
      const p = new Process({ target: tryRead, args: [file], module: TARGETS });
      p.start();
      await p.join();
      assertStrictEquals(p.exitCode, 0);
    });
    await t.step('"none": the child cannot read a file', async () => {
      assertStrictEquals(
        await exitCodeOf({
          target: tryRead,
          args: [file],
          permissions: "none",
        }),
        13,
      );
    });
    await t.step("an object: exactly what it lists", async () => {
      assertStrictEquals(
        await exitCodeOf({
          target: tryRead,
          args: [file],
          permissions: { read: [file] },
        }),
        0,
      );
    });
  },
});

Deno.test({
  name:
    "Process asking for more permissions than the parent holds throws NotCapable and starts nothing",
  permissions: RUN,
  fn() {
    for (
      const permissions of [{ read: true }, { net: ["127.0.0.1:6379"] }, {
        env: ["HOME"],
      }]
    ) {
      const p = new Process({
        target: exitWith,
        args: [0],
        permissions,
        module: TARGETS,
      });
      assertThrows(
        () => p.start(),
        Deno.errors.NotCapable,
        "the parent does not hold it",
      );
      assertStrictEquals(p.pid, null);
    }
    assertEquals(activeChildren(), []);
    const permissions = { disk: true } as unknown as ChildPermissions;
    assertThrows(
      () =>
        new Process({
          target: exitWith,
          args: [0],
          permissions,
          module: TARGETS,
        })
          .start(),
      TypeError,
      'unknown kind "disk"',
    );
  },
});

Deno.test({
  name: "Process env and cwd options set the child's environment and directory",
  permissions: { run: true, read: true, write: true, env: true },
  async fn() {
    const cwd = await Deno.realPath(Deno.makeTempDirSync());
    try {
      assertStrictEquals(
        await exitCodeOf({
          target: checkEnvAndCwd,
          args: ["MP_TEST_VALUE", "from the parent", cwd],
          env: { MP_TEST_VALUE: "from the parent" },
          cwd,
        }),
        0,
      );
    } finally {
      Deno.removeSync(cwd);
    }
  },
});

Deno.test({
  name: "Process signal option: aborting terminates the child",
  permissions: RUN,
  async fn() {
    const controller = new AbortController();
    const p = new Process({
      target: sleepFor,
      args: [60_000],
      signal: controller.signal,
      module: TARGETS,
    });
    p.start();
    controller.abort();
    await p.join();
    assertStrictEquals(p.exitCode, -15);
    const late = new Process({
      target: exitWith,
      args: [0],
      signal: controller.signal,
      module: TARGETS,
    });
    assertThrows(() => late.start(), DOMException);
    assertStrictEquals(late.pid, null);
  },
});

Deno.test({
  name: "Process with await using terminates and joins the child",
  permissions: RUN,
  async fn() {
    let pid = 0;
    let outer: Process<[number]>;
    {
      await using p = new Process({
        target: sleepFor,
        args: [60_000],
        module: TARGETS,
      });
      p.start();
      pid = p.pid!;
      outer = p;
    }
    assert(pid > 0);
    assertStrictEquals(outer.exitCode, -15);
  },
});

Deno.test({
  name: "No child outlives its parent, however the parent ends",
  permissions: RUN_READ,
  async fn(t) {
    const cases = [
      ["daemon-end", "a daemon child, when the parent ends normally"],
      ["daemon-exit", "a daemon child, when the parent calls Deno.exit()"],
      ["daemon-throw", "a daemon child, when the parent throws"],
      ["daemon-sigterm", "a daemon child, when the parent gets SIGTERM"],
      ["orphan-sigkill", "a non-daemon child, when the parent gets SIGKILL"],
    ];
    for (const [scenario, title] of cases) {
      await t.step(title, async () => {
        const parent = new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-run", "tests/fixtures/program.ts", scenario],
          cwd: new URL("..", import.meta.url),
          stdout: "piped",
          stderr: "null",
          stdin: "null",
        }).spawn();
        const [, pid] = await readUntil(
          parent.stdout,
          /child (?:pid|running) (\d+)\n/,
        );
        const child = Number(pid);
        if (scenario === "daemon-sigterm") parent.kill("SIGTERM");
        if (scenario === "orphan-sigkill") {
          assert(isRunning(child));
          parent.kill("SIGKILL");
        }
        await parent.status;
        await waitGone(child);
      });
    }
  },
});

Deno.test({
  name:
    "A target that throws RangeError in the child does not crash the parent",
  permissions: RUN,
  async fn() {
    assertStrictEquals(
      await exitCodeOf({
        target: throwRangeError,
        args: ["expected in the test output"],
      }),
      1,
    );
  },
});

Deno.test({
  name:
    "At the end of the main code, daemon children are terminated and the others awaited",
  permissions: RUN,
  async fn() {
    const { code, stdout } = await program("exit-rules");
    assertEquals(code, 0);
    assertMatch(
      stdout,
      /^(child running \d+\n)?daemon gone before the non-daemon child ended\n$/,
    );
  },
});

Deno.test({
  name:
    "Process permissions close the holes: deny lists, relative paths, PATH, import",
  permissions: { run: true, read: true },
  async fn(t) {
    await t.step(
      "a grant the parent holds only in part is refused",
      async () => {
        const { stdout } = await deno([
          "run",
          "--allow-run",
          "--allow-read",
          "--deny-read=/etc",
          "tests/fixtures/program.ts",
          "deny-list",
        ]);
        assertEquals(stdout, "NotCapable\n");
      },
    );
    // What "inherit", "none" and object children may import, by the
    // parent's import flag.
    const importHosts = async (flag: string[]) => {
      const { stdout, stderr } = await deno([
        "run",
        "--allow-run",
        "--allow-read",
        "--allow-sys",
        ...flag,
        "tests/fixtures/program.ts",
        "import-hosts",
      ]);
      return [stdout, stderr];
    };
    const nowhere = "inherit: none\nnone: none\nobject: none\n";
    for (
      const [name, flag, expected] of [
        [
          "a parent denied imports gives no child Deno's built-in hosts",
          ["--deny-import"],
          nowhere,
        ],
        [
          "a parent with an import allow-list gives no child Deno's built-in hosts",
          ["--allow-import=127.0.0.1:4507"],
          nowhere,
        ],
        [
          "a parent on Deno's built-in hosts passes them to inheriting children only",
          [],
          "inherit: jsr.io:443 deno.land:443 esm.sh:443\nnone: none\nobject: none\n",
        ],
      ] as const
    ) {
      await t.step(name, async () => {
        const [stdout, stderr] = await importHosts([...flag]);
        assertEquals(stdout, expected, stderr);
      });
    }
    await t.step(
      "a child may import from the hosts of its own modules that the parent may",
      async () => {
        const flags = async (...given: string[]) =>
          (await deno([
            "run",
            "--allow-read",
            ...given,
            "tests/fixtures/program.ts",
            "module-hosts",
          ])).stdout;
        assertEquals(await flags(), "--allow-import=jsr.io:443\n");
        assertEquals(
          await flags("--allow-import=127.0.0.1:4507"),
          "--allow-import=127.0.0.1:4507\n",
        );
      },
    );
    await t.step(
      "relative paths with cwd, and command names with PATH, are refused",
      () => {
        const read = new Process({
          target: exitWith,
          args: [0],
          cwd: "/",
          permissions: { read: ["deno.json"] },
          module: TARGETS,
        });
        assertThrows(
          () => read.start(),
          TypeError,
          "expected an absolute path",
        );
        const run = new Process({
          target: exitWith,
          args: [0],
          env: { PATH: "/tmp" },
          permissions: { run: ["deno"] },
          module: TARGETS,
        });
        assertThrows(() => run.start(), TypeError, "with env.PATH");
        assertStrictEquals(read.pid ?? run.pid, null);
      },
    );
  },
});

Deno.test({
  name:
    "Process.join() waits past setTimeout's limit, and for ever with Infinity",
  permissions: RUN,
  async fn() {
    const p = sleepingChild();
    const waiting = p.join(2 ** 32);
    const forever = p.join(Infinity);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const first = await Promise.race([
      waiting.then(() => "joined"),
      new Promise((resolve) => timer = setTimeout(resolve, 300, "waiting")),
    ]);
    clearTimeout(timer);
    assertEquals(first, "waiting");
    p.kill();
    await Promise.all([waiting, forever]);
    assertStrictEquals(p.exitCode, -9);
  },
});

Deno.test({
  name: "A child that exits leaves nothing it started behind",
  permissions: { run: true, read: true, write: true },
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const pidFile = `${dir}/sleeper.pid`;
      assertStrictEquals(
        await exitCodeOf({ target: leaveSleeper, args: [pidFile] }),
        0,
      );
      await waitGone(Number(await Deno.readTextFile(pidFile)));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "Process finds targets in folders with parentheses, and resolves a relative module option",
  permissions: { run: true, read: true, write: true },
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const folder = `${dir}/we(ird) dir`;
      await Deno.mkdir(folder);
      const mod = new URL("../mod.ts", import.meta.url).href;
      await Deno.writeTextFile(
        `${folder}/m.ts`,
        `import { Process } from ${JSON.stringify(mod)};\n` +
          "export function seven(): void { Deno.exit(7); }\n" +
          "export function make(): Process { return new Process({ target: seven }); }\n",
      );
      const { make } = await import(`file://${folder}/m.ts`);
      const p: Process = make();
      p.start();
      await p.join();
      assertStrictEquals(p.exitCode, 7);
      assertStrictEquals(
        await exitCodeOf({
          target: exitWith,
          args: [8],
          module: "./fixtures/targets.ts",
        }),
        8,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "From a subdirectory, a parent that may not read deno.json says which read is missing, once",
  permissions: { run: true, read: true, write: true },
  async fn() {
    const project = await Deno.makeTempDir();
    try {
      const mod = new URL("../mod.ts", import.meta.url).href;
      await Deno.writeTextFile(
        `${project}/deno.json`,
        JSON.stringify({ imports: { "@parallel/multiprocessing": mod } }),
      );
      // The README's Quick start, as main.ts.
      await Deno.writeTextFile(
        `${project}/main.ts`,
        [
          'import { Process } from "@parallel/multiprocessing";',
          "export function func(x: number, y: number): void {",
          "  console.log(x + y);",
          "}",
          "if (import.meta.main) {",
          "  const p = new Process({ target: func, args: [1, 2] });",
          "  p.start();",
          "  await p.join();",
          "  console.log(p.exitCode);",
          "}",
        ].join("\n"),
      );
      await Deno.mkdir(`${project}/sub`);
      const run = async (read: string) => {
        const output = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-run", `--allow-read=${read}`, "../main.ts"],
          cwd: `${project}/sub`,
          stdin: "null",
          env: { NO_COLOR: "1" },
        }).output();
        const decoder = new TextDecoder();
        return {
          stdout: decoder.decode(output.stdout),
          stderr: decoder.decode(output.stderr),
        };
      };
      const blocked = await run(".");
      const lines = blocked.stderr.split("\n").filter((line) =>
        line.startsWith("@parallel/multiprocessing:")
      );
      assertEquals(lines, [
        `@parallel/multiprocessing: children get no deno.json: this process may not read ${project}/deno.json, where Deno would look for one (if it is there, run with --allow-read=${project}/deno.json)`,
      ]);
      assertEquals(blocked.stdout, "1\n");
      // With the read it names, the Quick start works from there.
      const fixed = await run(`.,${project}/deno.json`);
      assertEquals(fixed.stdout, "3\n0\n", fixed.stderr);
    } finally {
      await Deno.remove(project, { recursive: true });
    }
  },
});
