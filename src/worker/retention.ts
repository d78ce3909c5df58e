import { Queue, Worker } from 'bullmq';
import type { Config } from '../shared/config.ts';
import type { JobStore } from '../shared/job-store.ts';
import type { Logger } from '../shared/logger.ts';
import type { RedisClient } from '../shared/redis.ts';
import { keys, MAINTENANCE_QUEUE } from '../shared/stages.ts';
import type { Storage } from '../shared/storage/index.ts';

const SWEEP_BATCH = 500;

/** Deletes the stored files of jobs that ended more than the retention period ago. Returns how many. */
export async function sweepExpired(
  store: JobStore,
  storage: Storage,
  retentionSeconds: number,
  now = Date.now(),
): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = await store.finishedBefore(now - retentionSeconds * 1000, SWEEP_BATCH);
    if (ids.length === 0) return total;
    for (const id of ids) await storage.deletePrefix(keys.prefix(id));
    await store.forgetFinished(ids);
    total += ids.length;
    if (ids.length < SWEEP_BATCH) return total;
  }
}

/**
 * Retention: job records expire by TTL once they end; their stored input and outputs are deleted by this
 * sweep, run by a BullMQ job scheduler (one run per interval across all worker processes).
 */
export async function startRetention(deps: {
  config: Config;
  connection: RedisClient;
  store: JobStore;
  storage: Storage;
  log: Logger;
  everyMs?: number;
}) {
  const { config, connection, store, storage, log } = deps;
  const queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix: config.prefix });
  await queue.upsertJobScheduler(
    'retention-sweep',
    { every: deps.everyMs ?? 3_600_000 },
    {
      name: 'retention-sweep',
      opts: { removeOnComplete: { count: 10 }, removeOnFail: { count: 50 } },
    },
  );
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async () => {
      const deleted = await sweepExpired(store, storage, config.retentionSeconds);
      if (deleted > 0) log.info({ deleted }, 'retention sweep deleted expired job files');
      return { deleted };
    },
    { connection, prefix: config.prefix, concurrency: 1 },
  );
  worker.on('error', (err) => log.error({ err }, 'retention worker error'));
  return {
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
