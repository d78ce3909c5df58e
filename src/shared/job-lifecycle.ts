import { Queue } from 'bullmq';
import type { BatchStore } from './batches.ts';
import type { Config } from './config.ts';
import { type EventType, publishEvent } from './events.ts';
import type { JobRecord } from './job-record.ts';
import type { JobStore } from './job-store.ts';
import type { RedisClient } from './redis.ts';
import { DELIVER_QUEUE } from './stages.ts';

/** What the deliver queue's jobs carry: ids only; the payload is built (and the URL signed) at send time. */
export interface DeliveryPayload {
  /** the job (or, for batch.completed, the batch) the event is about */
  jobId: string;
  batchId?: string;
  eventType: EventType | 'batch.completed';
  /** `webhook-id`: the same for every attempt and redelivery of one event, so receivers can deduplicate. */
  eventId: string;
}

export interface LifecycleDeps {
  config: Config;
  redis: RedisClient;
  store: JobStore;
  batches: BatchStore;
  deliverQueue: Queue<DeliveryPayload>;
}

/**
 * Delivery jobs retry on the webhook schedule (`WEBHOOK_RETRY_SCHEDULE`): one attempt per entry, the
 * delay before each retry read from the schedule (or a longer Retry-After) by the deliver worker's backoff.
 */
export function createDeliverQueue(connection: RedisClient, config: Config): Queue<DeliveryPayload> {
  const queue = new Queue<DeliveryPayload>(DELIVER_QUEUE, {
    connection,
    prefix: config.prefix,
    defaultJobOptions: {
      attempts: config.webhooks.retryScheduleMs.length,
      backoff: { type: 'webhook' },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: config.retentionSeconds, count: 50_000 },
    },
  });
  queue.on('error', () => {}); // failures surface where commands fail; see createStageQueues
  return queue;
}

/** Queues the webhook of a job's terminal event (the first delivery, or a redelivery with `seq`). */
export async function enqueueDelivery(deps: LifecycleDeps, record: JobRecord, seq = 0): Promise<void> {
  if (!record.webhook_url || !['succeeded', 'failed', 'canceled'].includes(record.status)) return;
  const eventType = `job.${record.status}` as EventType;
  const eventId = `msg_${record.id.replaceAll('-', '')}_${record.status}`;
  await deps.redis.hset(
    deps.store.key(record.id),
    'webhook',
    JSON.stringify({
      event_id: eventId,
      event_type: eventType,
      status: 'pending',
      attempts: record.webhook?.attempts ?? [],
    }),
  );
  await deps.deliverQueue.add(
    eventType,
    { jobId: record.id, eventType, eventId },
    { jobId: `${record.id}_deliver_${seq}` },
  );
}

/**
 * Ends a job once: terminal status on the record, the terminal event for SSE and waiting requests, and —
 * when the job has a webhook_url — a delivery on its own queue (not from a QueueEvents listener, which can
 * miss events). Returns false when the job had already ended.
 */
export async function endJob(
  deps: LifecycleDeps,
  jobId: string,
  status: 'succeeded' | 'failed' | 'canceled',
  patch: Partial<JobRecord> = {},
): Promise<boolean> {
  const { config, redis, store } = deps;
  if ((await store.finish(jobId, status, patch)) !== 'updated') return false;
  await publishEvent(redis, config.prefix, config.retentionSeconds, jobId, `job.${status}`, {
    job_id: jobId,
    status,
    ...(patch.error ? { error: patch.error } : {}),
  });
  const record = await store.get(jobId);
  if (record) await enqueueDelivery(deps, record);
  if (record?.batch_id && (await deps.batches.jobEnded(record.batch_id))) {
    const batch = await deps.batches.get(record.batch_id);
    if (batch?.webhook_url) {
      await deps.deliverQueue.add(
        'batch.completed',
        {
          jobId: batch.id,
          batchId: batch.id,
          eventType: 'batch.completed',
          eventId: `msg_${batch.id.replaceAll('-', '')}_completed`,
        },
        { jobId: `batch_${batch.id}_deliver` },
      );
    }
  }
  return true;
}
