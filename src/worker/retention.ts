import type { Queue } from 'bullmq';
import type { Config } from '../shared/config.ts';
import { keys } from '../shared/job-files.ts';
import type { JobStore } from '../shared/job-store.ts';
import type { Lifecycle } from '../shared/lifecycle/lifecycle.ts';
import type { Logger } from '../shared/logger.ts';
import { orphansFreed } from '../shared/metrics.ts';
import { MAINTENANCE_QUEUE, workerOptions } from '../shared/queue-registry.ts';
import { QueueWorker } from '../shared/queue-worker.ts';
import type { RedisClient } from '../shared/redis.ts';
import type { Storage } from '../shared/storage/index.ts';

const SWEEP_BATCH = 500;

export interface SweepDeps {
  store: JobStore;
  lifecycle: Lifecycle;
  storage: Storage;
  log: Logger;
  retentionSeconds: number;
}

/** What one maintenance sweep did. */
export interface SweepResult {
  /** ended jobs past retention: files deleted, every index that named them trimmed */
  expired: number;
  /** deleted jobs (tombstones) whose files were still to delete (a DELETE cut short) */
  deletes: number;
  /** ids freed from in-flight sets because their record was gone */
  orphans: number;
}

/**
 * One maintenance pass: finishes deletes cut short, retires jobs past retention, frees orphaned in-flight ids.
 * Every step is idempotent, so a pass that dies half-way is finished by the next.
 */
export async function sweep(deps: SweepDeps, now = Date.now()): Promise<SweepResult> {
  const deletes = await finishDeletes(deps);
  const expired = await sweepExpired(deps, now);
  const orphans = await freeOrphans(deps);
  return { expired, deletes, orphans };
}

/**
 * Deletes the stored files of jobs that ended more than the retention period ago, then removes them from every
 * index that names them (the client's job list, the batch's job list, the retention index). Returns how many.
 */
export async function sweepExpired(deps: SweepDeps, now = Date.now()): Promise<number> {
  const { store, storage, lifecycle, retentionSeconds } = deps;
  let total = 0;
  for (;;) {
    const ids = await store.finishedBefore(now - retentionSeconds * 1000, SWEEP_BATCH);
    if (ids.length === 0) return total;
    for (const id of ids) await storage.deletePrefix(keys.prefix(id));
    await lifecycle.retire(ids);
    total += ids.length;
    if (ids.length < SWEEP_BATCH) return total;
  }
}

/** Deletes the files of tombstoned jobs whose DELETE did not get to it (see Lifecycle.tombstone). */
async function finishDeletes({ store, storage, lifecycle }: SweepDeps): Promise<number> {
  const ids = await store.deleting();
  for (const id of ids) await storage.deletePrefix(keys.prefix(id));
  await lifecycle.filesDeleted(ids);
  return ids.length;
}

/**
 * Frees ids left in a client's in-flight set with no record behind them: such an id holds a slot of the
 * client's cap for ever, and no transition will ever remove it (none runs on a missing record).
 */
async function freeOrphans({ store, lifecycle, log }: SweepDeps): Promise<number> {
  let total = 0;
  for (const clientId of await store.clientsWithActive()) {
    const missing = await store.missingActive(clientId);
    if (missing.length === 0) continue;
    const freed = await lifecycle.freeOrphans(clientId, missing);
    if (freed.length === 0) continue;
    orphansFreed.inc(freed.length);
    log.warn(
      { client_id: clientId, job_ids: freed },
      'maintenance sweep freed in-flight ids whose job record was gone',
    );
    total += freed.length;
  }
  return total;
}

/**
 * Retention and repair, run by a BullMQ job scheduler (one run per interval across all worker processes): job
 * records expire by TTL once they end; this sweep deletes their stored files and trims their indexes, finishes
 * deletes cut short, and frees orphaned in-flight ids (see `sweep`).
 */
export async function startRetention(deps: {
  config: Config;
  connection: RedisClient;
  store: JobStore;
  lifecycle: Lifecycle;
  storage: Storage;
  log: Logger;
  /** the maintenance queue's handle, opened by the queue registry (its job options keep few finished runs) */
  queue: Queue;
  everyMs?: number;
}) {
  const { config, connection, log, queue } = deps;
  await queue.upsertJobScheduler(
    'retention-sweep',
    { every: deps.everyMs ?? 3_600_000 },
    { name: 'retention-sweep' },
  );
  const worker = new QueueWorker(
    MAINTENANCE_QUEUE,
    async () => {
      const result = await sweep({ ...deps, retentionSeconds: config.retentionSeconds });
      if (result.expired + result.deletes + result.orphans > 0) log.info(result, 'maintenance sweep');
      return result;
    },
    workerOptions(MAINTENANCE_QUEUE, config, connection),
    connection,
  );
  worker.on('error', (err) => log.error({ err }, 'retention worker error'));
  return {
    async close() {
      await worker.close();
    },
  };
}
