import type { Redis } from 'ioredis';
import type { StartedTestContainer } from 'testcontainers';
import { containerRuntimeAvailable, startRedisContainer } from './container-runtime.ts';
import { spawnLocalRedis } from './redis-local.ts';
import { type ServiceKind, startupEnv, uniqueSuffix } from './service-kind.ts';

export interface StartRedisOptions {
  /** AOF persistence with `appendfsync always`: every acknowledged write survives `kill()`. @defaultValue false */
  appendonly?: boolean;
  /**
   * The test needs `kill()` / `restart()`: skip the environment's and container Redis and always spawn
   * a local `redis-server`. @defaultValue false
   */
  killable?: boolean;
}

export interface RedisHandle {
  /** `redis://host:port` to connect to (for `env`: `REDIS_URL` exactly as given). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly kind: ServiceKind;
  /**
   * Unique per handle, e.g. `test-3f9c0a7d21`. Use it as the BullMQ `prefix` and for any other keys: with
   * `kind === 'env'` the server is shared with other test files, and `stop()` deletes only keys containing
   * the prefix (`<prefix>:…` or BullMQ's hash-tagged `{<prefix>}:…`).
   */
  readonly prefix: string;
  /** True when `kill()` / `restart()` work: a local `redis-server` only. */
  readonly canKill: boolean;
  /** `{ REDIS_URL }` for the app under test. */
  env(): Record<string, string>;
  /** SIGKILL the server (outage simulation). Local only: throws otherwise (check `canKill`). */
  kill(): Promise<void>;
  /** Start again on the same port with the same data dir, so an AOF survives. Kills first if running. */
  restart(): Promise<void>;
  /** Clean shutdown and temp dir removal (local), container removal, or prefix cleanup (env). Idempotent. */
  stop(): Promise<void>;
}

function notKillable(kind: ServiceKind): () => Promise<never> {
  return () =>
    Promise.reject(
      new Error(
        `kill()/restart() need a local redis-server, this one is '${kind}': use startRedis({ killable: true })`,
      ),
    );
}

function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const ioredis = await import('ioredis');
  const client = new ioredis.Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    return await use(client);
  } finally {
    client.disconnect();
  }
}

async function envRedis(url: string, prefix: string): Promise<RedisHandle> {
  try {
    await withClient(url, (c) => c.ping());
  } catch (err) {
    throw new Error(`REDIS_URL=${redact(url)} does not answer PING (unset it to use a local redis-server)`, {
      cause: err,
    });
  }
  const parsed = new URL(url);
  let stopped = false;
  return {
    url,
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    kind: 'env',
    prefix,
    canKill: false,
    env: () => ({ REDIS_URL: url }),
    kill: notKillable('env'),
    restart: notKillable('env'),
    async stop() {
      if (stopped) return;
      stopped = true;
      await withClient(url, async (c) => {
        let cursor = '0';
        do {
          // `*prefix*` also catches BullMQ's hash-tagged form `{prefix}:queue:…`.
          const [next, keys] = await c.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
          if (keys.length > 0) await c.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
      });
    },
  };
}

function containerRedis(container: StartedTestContainer, prefix: string): RedisHandle {
  const host = container.getHost();
  const port = container.getMappedPort(6379);
  const url = `redis://${host}:${port}`;
  let stopped = false;
  return {
    url,
    host,
    port,
    kind: 'container',
    prefix,
    canKill: false,
    env: () => ({ REDIS_URL: url }),
    kill: notKillable('container'),
    restart: notKillable('container'),
    async stop() {
      if (stopped) return;
      stopped = true;
      await container.stop();
    },
  };
}

/**
 * A Redis for one test file: `REDIS_URL` from the environment when set, else a Testcontainers `redis:7`
 * when a container runtime answers, else a `redis-server` spawned on a free port (~50 ms).
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisHandle> {
  const appendonly = opts.appendonly ?? false;
  const prefix = `test-${uniqueSuffix()}`;
  if (!opts.killable) {
    if (startupEnv.REDIS_URL) return envRedis(startupEnv.REDIS_URL, prefix);
    if (await containerRuntimeAvailable())
      return containerRedis(await startRedisContainer(appendonly), prefix);
  }
  const local = await spawnLocalRedis(appendonly);
  const url = `redis://127.0.0.1:${local.port}`;
  return {
    url,
    host: '127.0.0.1',
    port: local.port,
    kind: 'local',
    prefix,
    canKill: true,
    env: () => ({ REDIS_URL: url }),
    kill: local.kill,
    restart: local.restart,
    stop: local.stop,
  };
}
