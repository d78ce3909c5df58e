/**
 * Redis connections. Two kinds, on purpose:
 * - `command`: for request paths (API). No offline queue and one try per command, so when Redis is down a
 *   request fails fast with 503 instead of hanging.
 * - `blocking`: for BullMQ workers and stream readers. Commands wait for Redis to come back
 *   (`maxRetriesPerRequest: null`, as BullMQ requires for workers).
 */
import { Redis, type RedisOptions } from 'ioredis';

export type RedisKind = 'command' | 'blocking';

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

export function createRedis(url: string, kind: RedisKind, name?: string): Redis {
  const client = new Redis(url, { ...redisOptions(kind), connectionName: name });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
  client.on('error', () => {});
  return client;
}

/** Resolves when the client is connected, or rejects after `timeoutMs`. */
export async function waitReady(client: Redis, timeoutMs = 10_000): Promise<void> {
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
