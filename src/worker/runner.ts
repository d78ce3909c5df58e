import { ApiKeys } from '../shared/api-keys.ts';
import { BatchStore } from '../shared/batches.ts';
import type { Config } from '../shared/config.ts';
import { ConversationStore } from '../shared/conversation-store.ts';
import { EventHub } from '../shared/events.ts';
import { JobStore } from '../shared/job-store.ts';
import { Lifecycle } from '../shared/lifecycle/lifecycle.ts';
import type { Logger } from '../shared/logger.ts';
import { setClientLabels } from '../shared/metrics.ts';
import { openQueues } from '../shared/queue-registry.ts';
import { createRedis, type RedisClient } from '../shared/redis.ts';
import { createStorage } from '../shared/storage/index.ts';
import { startDeliverWorker } from '../shared/webhooks/delivery.ts';
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
  // Workers listen to cancellations only (a subscriber connection), never to every job's events.
  const subRedis = createRedis(config.redis, 'blocking', 'voicebot-worker-events');
  const storage = await createStorage(config);
  const queues = openQueues(connection, config);
  const store = new JobStore(connection, config.prefix, config.retentionSeconds);
  const lifecycle = new Lifecycle(connection, {
    prefix: config.prefix,
    retentionSeconds: config.retentionSeconds,
    queues,
    crashAfterTransition: config.worker.crashAfterTransition,
    crashAt: config.worker.crashAt,
  });
  // An installed BullMQ that does not add jobs the way the lifecycle embeds it stops the workers here.
  await lifecycle.checkBullmq();
  const hub = new EventHub(subRedis, connection, config.prefix, (id, delta) => lifecycle.watch(id, delta));
  await hub.start();
  const stages = await startStageWorkers({
    config,
    redis: connection,
    connection,
    store,
    lifecycle,
    storage,
    providers: createProviders(config),
    conversations: new ConversationStore(
      connection,
      config.prefix,
      config.chat.maxTurns,
      config.retentionSeconds,
    ),
    queues,
    hub,
    log,
  });
  const deliverWorker = startDeliverWorker({
    config,
    connection,
    store,
    lifecycle,
    storage,
    log,
    batches: new BatchStore(connection, config.prefix, config.retentionSeconds),
    keys: new ApiKeys(connection, config.prefix),
  });
  if (config.webhooks.secrets.length === 0)
    log.warn(
      'WEBHOOK_SECRET is not set: webhooks of clients without a secret of their own are sent unsigned',
    );
  const retention = await startRetention({ config, connection, store, lifecycle, storage, log });
  return {
    stages,
    connection,
    async close() {
      // Workers stop taking jobs and finish the ones in flight (bounded by the shutdown deadline).
      await stages.close();
      await deliverWorker.close();
      await retention.close();
      await hub.stop();
      await queues.close();
      connection.disconnect();
    },
  };
}
