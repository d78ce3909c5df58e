import type { Config } from '../shared/config.ts';
import { ConversationStore } from '../shared/conversation-store.ts';
import type { Logger } from '../shared/logger.ts';
import { setClientLabels } from '../shared/metrics.ts';
import type { RedisClient } from '../shared/redis.ts';
import { buildServices } from '../shared/services.ts';
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
  const services = await buildServices(config, 'worker');
  const { redis: connection, store, lifecycle, storage, queues, hub } = services;
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
  // What the delivery worker and the maintenance sweep both work with.
  const housekeeping = { config, connection, store, lifecycle, storage, log };
  const deliverWorker = startDeliverWorker({
    ...housekeeping,
    batches: services.batches,
    keys: services.keys,
  });
  if (config.webhooks.secrets.length === 0)
    log.warn(
      'WEBHOOK_SECRET is not set: webhooks of clients without a secret of their own are sent unsigned',
    );
  const retention = await startRetention({ ...housekeeping, queue: queues.maintenance });
  return {
    stages,
    connection,
    async close() {
      // Workers stop taking jobs and finish the ones in flight (bounded by the shutdown deadline).
      await stages.close();
      await deliverWorker.close();
      await retention.close();
      await services.close();
    },
  };
}
