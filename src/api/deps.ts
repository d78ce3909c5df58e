import type { Queue } from 'bullmq';
import type { ApiKeys } from '../shared/api-keys.ts';
import type { BatchStore } from '../shared/batches.ts';
import type { Config } from '../shared/config.ts';
import type { EventHub } from '../shared/events.ts';
import type { DeliveryPayload } from '../shared/job-lifecycle.ts';
import type { JobStore } from '../shared/job-store.ts';
import type { Logger } from '../shared/logger.ts';
import type { StageQueues } from '../shared/queues.ts';
import type { RedisClient } from '../shared/redis.ts';
import type { Storage } from '../shared/storage/index.ts';

/** Everything the API's handlers use, built once by the server entry. */
export interface ApiDeps {
  config: Config;
  /** fail-fast connection (no offline queue): requests get 503 quickly while Redis is away */
  redis: RedisClient;
  store: JobStore;
  storage: Storage;
  queues: StageQueues;
  batches: BatchStore;
  keys: ApiKeys;
  deliverQueue: Queue<DeliveryPayload>;
  hub: EventHub;
  log: Logger;
}
