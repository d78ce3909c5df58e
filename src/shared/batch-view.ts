import type { BatchRecord, BatchStore } from './batches.ts';
import type { Config } from './config.ts';
import { JOB_STATUSES, type JobStatus } from './job-states.ts';
import type { JobStore } from './job-store.ts';
import { jobView } from './job-view.ts';
import type { Storage } from './storage/index.ts';

/** Counts of a batch's jobs per status (every item, read in one pipeline). */
export async function batchCounts(
  batch: BatchRecord,
  batches: BatchStore,
  store: JobStore,
): Promise<Record<JobStatus, number>> {
  const ids = await batches.jobIds(batch.id);
  const pipe = store.redis.pipeline();
  for (const id of ids) pipe.hget(store.key(id), 'status');
  const statuses = ((await pipe.exec()) ?? []).map(([, s]) => s as JobStatus | null);
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  for (const s of statuses) if (s) counts[s]++;
  return counts;
}

/** The batch as clients see it: counts per status and one page of its items (jobs with fresh URLs). */
export async function batchView(
  batch: BatchRecord,
  deps: { batches: BatchStore; store: JobStore; storage: Storage; config: Config },
  page: { offset: number; limit: number },
  baseUrl?: string,
) {
  const ids = await deps.batches.jobIds(batch.id, page.offset, page.offset + page.limit - 1);
  const records = await deps.store.getMany(ids);
  const items = await Promise.all(
    records.map(async (r, i) => ({
      index: page.offset + i,
      job: r ? await jobView(r, deps.storage, deps.config, baseUrl) : null,
    })),
  );
  const next = page.offset + ids.length;
  return {
    id: batch.id,
    object: 'batch' as const,
    status: batch.completed_at ? ('completed' as const) : ('running' as const),
    total: batch.total,
    counts: await batchCounts(batch, deps.batches, deps.store),
    created_at: batch.created_at,
    completed_at: batch.completed_at,
    webhook_url: batch.webhook_url,
    metadata: batch.metadata,
    items,
    next_cursor: next < batch.total ? String(next) : null,
    links: { self: `/v1/batches/${batch.id}`, jobs: `/v1/jobs?batch_id=${batch.id}` },
  };
}
