import { ApiKeys } from '../shared/api-keys.ts';
import { BatchStore } from '../shared/batches.ts';
import type { Config } from '../shared/config.ts';
import { ConversationStore } from '../shared/conversation-store.ts';
import { EventHub } from '../shared/events.ts';
import { createDeliverQueue } from '../shared/job-lifecycle.ts';
import { JobStore } from '../shared/job-store.ts';
import type { Logger } from '../shared/logger.ts';
import { setClientLabels } from '../shared/metrics.ts';
import { closeQueues, createStageQueues } from '../shared/queues.ts';
import { createRedis, type RedisClient } from '../shared/redis.ts';
import { createStorage } from '../shared/storage/index.ts';
import { startDeliverWorker } from './deliver.ts';
import { createProviders } from './providers.ts';
import { startRetention } from './retention.ts';
import { type StageWorkers, startStageWorkers } from './workers.ts';

export interface WorkerRuntime {
  stages: StageWorkers;
  /** the workers' Redis connection */
  connection: RedisClient;
  close(): Promise<void>;
}

/** Starts the stage workers named in WORKER_STAGES with their connections, storage and providers. */
export async function startWorker(config: Config, log: Logger): Promise<WorkerRuntime> {
  setClientLabels(config.metrics.clientLabels);
  const connection = createRedis(config.redis, 'blocking', 'voicebot-worker');
  const hubRedis = createRedis(config.redis, 'blocking', 'voicebot-worker-events');
  const storage = await createStorage(config);
  const queues = createStageQueues(connection, config);
  const hub = new EventHub(hubRedis, config.prefix);
  await hub.start();
  const store = new JobStore(connection, config.prefix, config.retentionSeconds);
  const deliverQueue = createDeliverQueue(connection, config);
  const stages = startStageWorkers({
    config,
    redis: connection,
    connection,
    store,
    storage,
    providers: createProviders(config),
    conversations: new ConversationStore(
      connection,
      config.prefix,
      config.chat.maxTurns,
      config.retentionSeconds,
    ),
    queues,
    deliverQueue,
    batches: new BatchStore(connection, config.prefix, config.retentionSeconds),
    hub,
    log,
  });
  const deliverWorker = startDeliverWorker({
    config,
    connection,
    store,
    storage,
    log,
    batches: new BatchStore(connection, config.prefix, config.retentionSeconds),
    keys: new ApiKeys(connection, config.prefix),
  });
  if (config.webhooks.secrets.length === 0)
    log.warn(
      'WEBHOOK_SECRET is not set: webhooks of clients without a secret of their own are sent unsigned',
    );
  const retention = await startRetention({ config, connection, store, storage, log });
  return {
    stages,
    connection,
    async close() {
      // Workers stop taking jobs and finish the ones in flight (bounded by the shutdown deadline).
      await stages.close();
      await deliverWorker.close();
      await retention.close();
      await deliverQueue.close();
      await hub.stop();
      await closeQueues(queues);
      connection.disconnect();
    },
  };
}
