/**
 * Redis connections. Two kinds, on purpose:
 * - `command`: for request paths (API). No offline queue and one try per command, so when Redis is down a
 *   request fails fast with 503 instead of hanging.
 * - `blocking`: for BullMQ workers and stream readers. Commands wait for Redis to come back
 *   (`maxRetriesPerRequest: null`, as BullMQ requires for workers).
 *
 * Either kind is a single Redis (`REDIS_URL`, `rediss://` for TLS) or, when `REDIS_CLUSTER_NODES` is set, an
 * ioredis `Cluster`. Every key the service writes starts with QUEUE_PREFIX, whose `{hash tag}` puts them all
 * in ONE slot: multi-key MULTI / EVAL / pipelines / XREAD stay legal on a cluster, and a failover moves the
 * whole service's data to the promoted replica at once. (The flip side: one master carries all of it — see
 * "Scaling out" in the README.)
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

export type RedisKind = 'command' | 'blocking';

/** A single Redis or a Redis Cluster: everything that reads or writes Redis accepts either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is and how to log in (from config: `config.redis`). */
export interface RedisSettings {
  /** single-node URL (`redis://` or `rediss://`); ignored when `clusterNodes` is set */
  url: string;
  /** seed nodes of a Redis Cluster (any few; the rest are discovered) */
  clusterNodes?: Array<{ host: string; port: number }> | undefined;
  /** TLS to every node (`rediss://` turns it on for a single node too) */
  tls?: boolean | undefined;
  /** PEM file of the CA that signed the servers' certificates (private CAs; public ones need nothing) */
  tlsCaFile?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

export function redisOptions(kind: RedisKind): RedisOptions {
  const base: RedisOptions = {
    connectTimeout: 5_000,
    // Reconnect forever with a capped delay: an outage ends, and we want to be there when it does.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  return kind === 'command'
    ? { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 5_000 }
    : { ...base, enableOfflineQueue: true, maxRetriesPerRequest: null };
}

function tlsOptions(settings: RedisSettings): ConnectionOptions | undefined {
  const wantsTls = settings.tls === true || /^rediss:\/\//i.test(settings.url);
  if (!wantsTls) return undefined;
  return settings.tlsCaFile ? { ca: readFileSync(settings.tlsCaFile) } : {};
}

/** Credentials and TLS, shared by single-node and cluster connections (absent values left out). */
function authOptions(settings: RedisSettings): RedisOptions {
  const tls = tlsOptions(settings);
  return {
    ...(tls ? { tls } : {}),
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.password ? { password: settings.password } : {}),
  };
}

/**
 * Cluster options with the same two semantics:
 * - `command`: no offline queue; a command to a master that is down is retried for ~1.6 s (16 × 100 ms, the
 *   client refreshing the slot map meanwhile), then fails → the API answers 503 during a failover, never hangs.
 * - `blocking`: offline queue on and `maxRetriesPerRequest: null` (as BullMQ requires); a command rides out a
 *   failover for up to ~30 s (100 × 300 ms) before it fails — more than `cluster-node-timeout` (15 s by
 *   default) plus the election.
 */
export function clusterOptions(kind: RedisKind, settings: RedisSettings, name?: string): ClusterOptions {
  const { retryStrategy, enableOfflineQueue, ...node } = redisOptions(kind);
  const tls = tlsOptions(settings);
  return {
    enableOfflineQueue,
    // No CLUSTER INFO ready check: a client that (re)connects while the cluster reports `cluster_state:fail`
    // (the seconds of a failover) fails the check and reconnects, and the promise of that connect() never
    // settles (ioredis 6.0). BullMQ awaits exactly that promise when it resets a worker's blocking connection,
    // so a worker's fetch loop hung after a failover (delayed jobs never promoted, close() never returning;
    // reproduced with test/integration/cluster.test.ts under load). Without the check, commands meet CLUSTERDOWN
    // instead, which is retried (retryDelayOnClusterDown) like any other failover error.
    enableReadyCheck: false,
    clusterRetryStrategy: retryStrategy ?? null,
    retryDelayOnClusterDown: kind === 'command' ? 100 : 300,
    retryDelayOnFailover: kind === 'command' ? 100 : 300,
    retryDelayOnTryAgain: 100,
    maxRedirections: kind === 'command' ? 16 : 100,
    slotsRefreshTimeout: 2_000,
    // Managed clusters with TLS announce node IPs; keep the hostname for the certificate check (SNI).
    ...(tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    redisOptions: { ...node, ...authOptions(settings), connectionName: name },
  };
}

/** Parses `host:port,host:port` (IPv6 as `[::1]:7000`); throws on an unreadable entry. */
export function parseClusterNodes(text: string): Array<{ host: string; port: number }> {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(entry);
      const port = Number(m?.[3]);
      if (!m || port < 1 || port > 65_535) throw new Error(`"${entry}" is not host:port`);
      return { host: m[1] ?? m[2] ?? '', port };
    });
}

/**
 * A connection of the given kind: a `Cluster` when `settings.clusterNodes` is set, else a single Redis.
 * A plain URL string is accepted too (single node, no extra credentials).
 */
export function createRedis(target: string | RedisSettings, kind: RedisKind, name?: string): RedisClient {
  const settings: RedisSettings = typeof target === 'string' ? { url: target } : target;
  const client: RedisClient =
    settings.clusterNodes && settings.clusterNodes.length > 0
      ? new Cluster(settings.clusterNodes, clusterOptions(kind, settings, name))
      : new Redis(settings.url, { ...redisOptions(kind), ...authOptions(settings), connectionName: name });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
  client.on('error', () => {});
  // A cluster also reports each node's errors (e.g. during a failover) as 'node error'.
  if (client instanceof Cluster) client.on('node error', () => {});
  return client;
}

/** Resolves when the client is connected, or rejects after `timeoutMs`. */
export async function waitReady(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}

/**
 * `WAIT replicas timeout` on the connection that made the caller's writes, sent to the node that holds `key`
 * (on a cluster a keyless WAIT would go to a random master): returns how many replicas acknowledged every
 * write this connection made so far. Replication is asynchronous; without this a master that dies right
 * after answering can take acknowledged writes with it. `replicas` 0 → no-op (returns 0).
 */
export async function waitForReplicas(
  redis: RedisClient,
  key: string,
  replicas: number,
  timeoutMs: number,
): Promise<number> {
  if (replicas <= 0) return 0;
  // A pipeline is routed by its keys' slot; the keyless WAIT rides along to the same node and connection.
  const rows = (await redis.pipeline().exists(key).wait(replicas, timeoutMs).exec()) ?? [];
  const [err, acked] = rows[1] ?? [new Error('WAIT: no reply'), 0];
  if (err) throw err;
  return Number(acked);
}

/** How many replicas the master holding `key` has connected right now (`INFO replication`). */
export async function connectedReplicas(redis: RedisClient, key: string): Promise<number> {
  const rows = (await redis.pipeline().exists(key).info('replication').exec()) ?? [];
  const [err, info] = rows[1] ?? [new Error('INFO: no reply'), ''];
  if (err) throw err;
  return Number(/^connected_slaves:(\d+)/m.exec(String(info))?.[1] ?? 0);
}
