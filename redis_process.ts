// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
/**
 * The seed's `RedisProcess`: a {@linkcode Process} subclass that opens its
 * own Redis connection in the child, writes `values` under `key` and reads
 * it back, so that many processes work on Redis at once. On `npm:ioredis`,
 * loaded only in the child, only by this code.
 *
 * @example Four children, four keys
 * ```ts
 * import { RedisProcess } from "@parallel/multiprocessing/redis-process";
 *
 * if (import.meta.main) {
 *   const children = [1, 2, 3, 4].map((i) =>
 *     new RedisProcess({ db: 0, key: `key-${i}`, values: `value-${i}` })
 *   );
 *   for (const p of children) p.start();
 *   for (const p of children) await p.join();
 * }
 * ```
 *
 * @module
 */

// ioredis is loaded only in the child, by `[PREPARE]`: importing this
// module never loads it. Its own types are not re-exported (they do not
// pass `deno doc --lint`); the interfaces below describe what we use.

/**
 * Where Redis is, as ioredis connection options. Other ioredis options pass
 * through as they are; all must survive structured clone.
 */
export interface RedisConnectionOptions {
  /**
   * The server's host.
   *
   * @default {"127.0.0.1"}
   */
  host?: string;
  /**
   * The server's port.
   *
   * @default {6379}
   */
  port?: number;
  /** ACL user name. */
  username?: string;
  /** Password (or ACL password). */
  password?: string;
  /** Any other ioredis option. */
  [option: string]: unknown;
}

/**
 * The ioredis client that {@linkcode RedisProcess.connect} returns, typed
 * by the commands this package documents; `call()` sends any other. (It is
 * ioredis's `Redis`: cast to that type for its full API.)
 */
export interface RedisClient {
  /** GET. */
  get(key: string): Promise<string | null>;
  /** GET, as bytes. */
  getBuffer(key: string): Promise<Uint8Array | null>;
  /** SET. */
  set(key: string, value: RedisValue): Promise<unknown>;
  /** MGET. */
  mget(...keys: string[]): Promise<(string | null)[]>;
  /** INCR. */
  incr(key: string): Promise<number>;
  /** INCRBY. */
  incrby(key: string, increment: number): Promise<number>;
  /** DEL. */
  del(...keys: string[]): Promise<number>;
  /** SELECT. */
  select(db: number): Promise<unknown>;
  /** Any command. */
  call(command: string, ...args: RedisValue[]): Promise<unknown>;
  /** A pipeline: commands sent in one round trip by `exec()`. */
  pipeline(): RedisPipeline;
  /** QUIT: closes the connection cleanly. */
  quit(): Promise<unknown>;
  /** Closes the connection at once. */
  disconnect(): void;
}

/** An ioredis pipeline, as {@linkcode RedisClient.pipeline} returns it. */
export interface RedisPipeline {
  /** Queues SET. */
  set(key: string, value: RedisValue): RedisPipeline;
  /** Queues GET. */
  get(key: string): RedisPipeline;
  /** Queues INCR. */
  incr(key: string): RedisPipeline;
  /** Sends the queue; each result is `[error, value]`. */
  exec(): Promise<[Error | null, unknown][] | null>;
}
import { describe } from "./_util/repr.ts";
import { IOREDIS } from "./_runtime/ioredis.ts";
import { CLEANUP, PREPARE } from "./_runtime/state.ts";
import { Process, type ProcessOptions } from "./process.ts";

/** What `values` may be: Redis stores strings, numbers and bytes. */
export type RedisValue = string | number | Uint8Array;

/** Options for {@linkcode RedisProcess}. */
export interface RedisProcessOptions
  extends Omit<ProcessOptions<[]>, "target" | "args"> {
  /** The Redis logical database index, an integer from 0. */
  db: number;
  /** The key `set()` writes and `get()` reads. */
  key: string;
  /** What `set()` writes. */
  values: RedisValue;
  /**
   * Where Redis is: a `redis://` URL or ioredis options (which must clone).
   *
   * @default {undefined} (`REDIS_URL` in the child's environment, else `redis://127.0.0.1:6379`)
   */
  redis?: string | RedisConnectionOptions;
  /**
   * ioredis auto-pipelining: commands issued in the same tick go in one
   * round trip, which lifts one connection's throughput several times.
   *
   * @default {true}
   */
  autoPipelining?: boolean;
}

const DEFAULT_URL = "redis://127.0.0.1:6379";
/** ioredis's module, as its types say; loaded from IOREDIS (`_runtime/ioredis.ts`). */
type IoRedis = typeof import("ioredis");

/** How long the child waits for Redis before giving up, in ms. */
const CONNECT_TIMEOUT = 3000;
/**
 * How long a command other than a blocking one (BLPOP, XREAD BLOCK…) waits
 * for its answer, in ms, unless the `redis` options set ioredis's
 * `commandTimeout`: a stalled server (stopped, or cut off by a partition)
 * fails the child instead of hanging it.
 */
const COMMAND_TIMEOUT = 10_000;
/** How long the child waits for QUIT's answer before it disconnects. */
const QUIT_TIMEOUT = 1000;

// The client lives outside the object: subclasses are rebuilt in the child
// without their constructors, so a #private field would not exist there.
const clients = new WeakMap<RedisProcess, RedisClient>();

/**
 * A process that works on Redis with its own connection, as the seed's
 * `RedisProcess(multiprocessing.Process)`. `run()` calls `set()` then
 * `get()`; subclasses override `run()` and use {@linkcode connect}.
 *
 * The connection is made in the child, never in the parent, and never
 * crosses the process boundary. If Redis cannot be reached, the child
 * prints one line saying why and exits with code 1 within a few seconds; a
 * command that gets no answer within 10 s (a stalled server) fails with
 * ioredis's "Command timed out". Blocking commands (BLPOP, XREAD BLOCK…)
 * wait as long as they ask; `commandTimeout` in the `redis` options sets
 * ioredis's own timeout, for every command, instead.
 *
 * The child needs `net` to the Redis host and `env` in full (ioredis lists
 * every environment variable when it loads).
 *
 * @example A subclass that counts
 * ```ts
 * import { RedisProcess } from "@parallel/multiprocessing";
 *
 * export class Counter extends RedisProcess {
 *   override async run(): Promise<void> {
 *     for (let i = 0; i < 1000; i++) await this.connect.incr(this.key);
 *   }
 * }
 * ```
 */
export class RedisProcess extends Process {
  /** The Redis logical database index. */
  db: number;
  /** The key `set()` writes and `get()` reads. */
  key: string;
  /** What `set()` writes. */
  values: RedisValue;
  /** Where Redis is, if given; see {@linkcode RedisProcessOptions.redis}. */
  redis: string | RedisConnectionOptions | undefined;
  /** Whether the client auto-pipelines. */
  autoPipelining: boolean;

  /**
   * Creates a Redis process; nothing connects until it runs in the child.
   *
   * @param options The database, key and values, and the Process options.
   * @throws {TypeError} If `key`, `values`, `redis` or `db` has the wrong
   * type, or `key` is empty.
   * @throws {RangeError} If `db` is negative or not an integer.
   */
  constructor(options: RedisProcessOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot create RedisProcess: expected an options object, received ${
          describe(options)
        }`,
      );
    }
    const { db, key, values, redis, autoPipelining = true, ...rest } = options;
    super(rest);
    if (typeof db !== "number") {
      throw new TypeError(
        `Cannot create RedisProcess: expected db to be a number, received ${
          describe(db)
        }`,
      );
    }
    if (!Number.isInteger(db) || db < 0) {
      throw new RangeError(
        `Cannot create RedisProcess: expected db to be an integer >= 0, received ${db}`,
      );
    }
    if (typeof key !== "string" || key === "") {
      throw new TypeError(
        `Cannot create RedisProcess: expected key to be a non-empty string, received ${
          describe(key)
        }`,
      );
    }
    if (
      typeof values !== "string" &&
      !(typeof values === "number" && Number.isFinite(values)) &&
      !(values instanceof Uint8Array)
    ) {
      throw new TypeError(
        "Cannot create RedisProcess: expected values to be a string, a finite number or a Uint8Array, " +
          `received ${describe(values)}`,
      );
    }
    if (
      redis !== undefined && typeof redis !== "string" &&
      (typeof redis !== "object" || redis === null)
    ) {
      throw new TypeError(
        "Cannot create RedisProcess: expected redis to be a URL string or ioredis options, " +
          `received ${describe(redis)}`,
      );
    }
    this.db = db;
    this.key = key;
    this.values = values;
    this.redis = redis;
    this.autoPipelining = autoPipelining;
  }

  /**
   * The ioredis client, connected to `db`, inside the child.
   *
   * @throws {Error} Outside the child, where no connection is ever made.
   */
  get connect(): RedisClient {
    const client = clients.get(this);
    if (!client) {
      throw new Error(
        `Cannot use ${this.name}.connect here: the connection exists only in the child, ` +
          "while run() runs",
      );
    }
    return client;
  }

  /**
   * Writes `values` under `key`.
   *
   * @returns A promise that resolves once Redis has stored it.
   */
  async set(): Promise<void> {
    await this.connect.set(this.key, toRedis(this.values));
  }

  /**
   * Reads `key` back: a string, bytes when `values` are bytes, or `null`.
   *
   * @returns The stored value.
   */
  async get(): Promise<string | Uint8Array | null> {
    if (this.values instanceof Uint8Array) {
      const bytes = await this.connect.getBuffer(this.key);
      return bytes === null ? null : new Uint8Array(bytes);
    }
    return await this.connect.get(this.key);
  }

  /**
   * Writes many keys in one round trip (an ioredis pipeline).
   *
   * @param entries The keys and what to write under them.
   * @returns A promise that resolves once Redis has stored them all.
   */
  async setMany(entries: Iterable<[string, RedisValue]>): Promise<void> {
    const pipeline = this.connect.pipeline();
    for (const [key, value] of entries) pipeline.set(key, toRedis(value));
    await checkPipeline(await pipeline.exec());
  }

  /**
   * Reads many keys in one round trip (an ioredis pipeline).
   *
   * @param keys The keys to read.
   * @returns Their values, `null` where a key is missing.
   */
  async getMany(keys: Iterable<string>): Promise<(string | null)[]> {
    const pipeline = this.connect.pipeline();
    for (const key of keys) pipeline.get(key);
    return await checkPipeline(await pipeline.exec()) as (string | null)[];
  }

  /**
   * As the seed: `set()`, then `get()`.
   *
   * @returns What `get()` read.
   */
  override async run(): Promise<unknown> {
    await this.set();
    return await this.get();
  }

  /**
   * In the child, before `run()`: loads ioredis and connects, or prints one
   * line saying why it cannot and exits with code 1.
   */
  async [PREPARE](): Promise<void> {
    const where = describeServer(this.redis);
    let Client;
    let Command;
    try {
      ({ Redis: Client, Command } = await import(IOREDIS) as IoRedis);
      ({ Buffer } = await import("node:buffer"));
    } catch (error) {
      const { name, message } = error as Error;
      console.error(`Cannot load ioredis in ${this.name}: ${name}: ${message}`);
      Deno.exit(1);
    }
    try {
      let lastError: Error | undefined;
      const options = connectionOptions(this.redis);
      const client = new Client({
        ...options,
        lazyConnect: true,
        enableAutoPipelining: this.autoPipelining,
        connectTimeout: CONNECT_TIMEOUT,
        maxRetriesPerRequest: 0,
        // No endless reconnect loop: a lost connection fails the child.
        retryStrategy: () => null,
      });
      client.on("error", (error: Error) => lastError = error);
      if (!("commandTimeout" in options)) {
        // ioredis's commandTimeout would end blocking commands too.
        const send = client.sendCommand.bind(client);
        client.sendCommand = (command, stream) => {
          if (!Command.checkFlag("BLOCKING_COMMANDS", command.name)) {
            command.setTimeout(COMMAND_TIMEOUT);
          }
          return send(command, stream);
        };
      }
      const connected = client as unknown as RedisClient;
      try {
        // A server that accepts but never answers must not hang the child.
        await withTimeout(client.connect(), "no answer");
        if (this.db !== 0) {
          await withTimeout(connected.select(this.db), "no answer to SELECT")
            .catch(
              (error: Error) => {
                throw new Error(
                  `Cannot select Redis database ${this.db} at ${where}: ${error.message}`,
                );
              },
            );
        }
      } catch (error) {
        client.disconnect();
        throw (error as Error).message?.startsWith("Cannot select")
          ? error
          : lastError ?? error;
      }
      clients.set(this, connected);
    } catch (error) {
      console.error(explain(error, where));
      Deno.exit(1);
    }
  }

  /** In the child, after `run()`: closes the connection so the child exits. */
  async [CLEANUP](): Promise<void> {
    const client = clients.get(this);
    if (!client) return;
    clients.delete(this);
    try {
      // Not for long: a stalled server would hold the child's exit.
      await withTimeout(client.quit(), "no answer to QUIT", QUIT_TIMEOUT);
    } catch {
      client.disconnect();
    }
  }
}

// node:buffer's Buffer, loaded with ioredis: ioredis sends only Buffers as
// bytes (a Uint8Array would go as "1,2,3").
let Buffer: typeof import("node:buffer").Buffer | undefined;

function toRedis(value: RedisValue): RedisValue {
  if (!(value instanceof Uint8Array) || !Buffer) return value;
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function withTimeout<T>(
  promise: Promise<T>,
  what: string,
  ms: number = CONNECT_TIMEOUT,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function connectionOptions(
  redis: string | RedisConnectionOptions | undefined,
): RedisConnectionOptions {
  if (typeof redis === "object") return { ...redis };
  const url = new URL(redis ?? Deno.env.get("REDIS_URL") ?? DEFAULT_URL);
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new TypeError(
      `Cannot connect to Redis: expected a redis:// or rediss:// URL, received ${url.href}`,
    );
  }
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 6379,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    // rediss:// is Redis over TLS.
    ...(url.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

function describeServer(
  redis: string | RedisConnectionOptions | undefined,
): string {
  try {
    const { host = "127.0.0.1", port = 6379 } = connectionOptions(redis);
    return `${host}:${port}`;
  } catch {
    return String(redis);
  }
}

/** One line for a failure to load ioredis or to reach Redis. */
function explain(error: unknown, where: string): string {
  const { name, message, code } = error as Error & { code?: string };
  if (error instanceof Deno.errors.NotCapable) {
    return `Cannot connect to Redis at ${where}: ${message}`;
  }
  if (message.startsWith("Cannot select")) return message;
  const reason = code === "ECONNREFUSED"
    ? "connection refused"
    : /^no answer/.test(message)
    ? message
    : code === "ETIMEDOUT" || /timeout/i.test(message)
    ? `no answer within ${CONNECT_TIMEOUT} ms`
    : /WRONGPASS|NOAUTH|invalid password/i.test(message)
    ? `authentication failed (${message})`
    : `${name}: ${message}`;
  return `Cannot connect to Redis at ${where}: ${reason}`;
}

async function checkPipeline(
  results: [Error | null, unknown][] | null,
): Promise<unknown[]> {
  if (!results) {
    throw new Error("Cannot run Redis pipeline: no results came back");
  }
  const failed = results.find(([error]) => error);
  if (failed) throw failed[0];
  return await Promise.resolve(results.map(([, value]) => value));
}
