/**
 * The services both processes build the same way — Redis connections, storage, queues, the stores, the
 * lifecycle and the event hub — and the one order they close in. The API and the worker differ only in their
 * Redis connection's role (see redis.ts) and in what they add on top (routes; stage workers, webhook delivery).
 */
import { ApiKeys } from './api-keys.ts';
import { BatchStore } from './batches.ts';
import type { Config } from './config.ts';
import { EventHub } from './events.ts';
import { JobStore } from './job-store.ts';
import { Lifecycle } from './lifecycle/lifecycle.ts';
import { openQueues, type QueueSet } from './queue-registry.ts';
import { createRedis, type RedisClient, waitReady } from './redis.ts';
import { createStorage, type Storage } from './storage/index.ts';

/**
 * Which process the services are for.
 * - `api`: a fail-fast `command` connection (no offline queue: requests get 503 quickly while Redis is away),
 *   ready before the queues are opened;
 * - `worker`: a `blocking` connection (commands wait for Redis to come back, as BullMQ workers need), and the
 *   lifecycle's crash hooks (WORKER_CRASH_*, for the crash tests).
 */
export type ServiceRole = 'api' | 'worker';

export interface Services {
  config: Config;
  /** the process's Redis connection (its kind by role) */
  redis: RedisClient;
  storage: Storage;
  queues: QueueSet;
  store: JobStore;
  batches: BatchStore;
  keys: ApiKeys;
  /** the only writer of job records: one atomic script per transition */
  lifecycle: Lifecycle;
  /** job events; a subscriber connection of its own */
  hub: EventHub;
}

export interface BuiltServices extends Services {
  /** Stops the event hub, closes the queues, then the Redis connection (after what was built on top closed). */
  close(): Promise<void>;
}

export async function buildServices(config: Config, role: ServiceRole): Promise<BuiltServices> {
  const redis = createRedis(config.redis, role === 'api' ? 'command' : 'blocking', `voicebot-${role}`);
  // The API listens to job events for its clients; workers to cancellations only.
  const subRedis = createRedis(config.redis, 'blocking', `voicebot-${role}-events`);
  const storage = await createStorage(config);
  // The API's Redis must answer first (a supervisor restarts it if not): the queues check the server version
  // when created, and on a Cluster BullMQ does not wait for 'ready' — with no offline queue that check would
  // fail and leave every queue broken for good. A worker's connection queues commands until Redis is there.
  if (role === 'api') await waitReady(redis, 30_000);
  const queues = openQueues(redis, config);
  const lifecycle = new Lifecycle(redis, {
    prefix: config.prefix,
    retentionSeconds: config.retentionSeconds,
    queues,
    ...(role === 'worker'
      ? { crashAfterTransition: config.worker.crashAfterTransition, crashAt: config.worker.crashAt }
      : {}),
  });
  // An installed BullMQ that does not add jobs the way the lifecycle embeds it stops the process here.
  await lifecycle.checkBullmq();
  const hub = new EventHub(subRedis, redis, config.prefix, (id, delta) => lifecycle.watch(id, delta));
  await hub.start();
  return {
    config,
    redis,
    storage,
    queues,
    store: new JobStore(redis, config.prefix, config.retentionSeconds),
    batches: new BatchStore(redis, config.prefix, config.retentionSeconds),
    keys: new ApiKeys(redis, config.prefix),
    lifecycle,
    hub,
    async close() {
      await hub.stop();
      await queues.close();
      redis.disconnect();
    },
  };
}
