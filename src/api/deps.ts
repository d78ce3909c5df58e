import type { ApiKeys } from '../shared/api-keys.ts';
import type { BatchStore } from '../shared/batches.ts';
import type { Config } from '../shared/config.ts';
import type { EventHub } from '../shared/events.ts';
import type { JobStore } from '../shared/job-store.ts';
import type { Lifecycle } from '../shared/lifecycle/lifecycle.ts';
import type { Logger } from '../shared/logger.ts';
import type { QueueSet } from '../shared/queue-registry.ts';
import type { RedisClient } from '../shared/redis.ts';
import type { Storage } from '../shared/storage/index.ts';

/** Everything the API's handlers use, built once by the server entry. */
export interface ApiDeps {
  config: Config;
  /** fail-fast connection (no offline queue): requests get 503 quickly while Redis is away */
  redis: RedisClient;
  store: JobStore;
  /** the only writer of job records: one atomic script per transition */
  lifecycle: Lifecycle;
  storage: Storage;
  queues: QueueSet;
  batches: BatchStore;
  keys: ApiKeys;
  hub: EventHub;
  log: Logger;
}
