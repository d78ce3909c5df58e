/**
 * The queue registry: every BullMQ queue of the service — the stages, long audio's chunks, webhooks and
 * housekeeping — with its payload schema, the BullMQ ids of its jobs, job options and worker options, in one
 * place. API and worker both open their queues here; nothing else names a queue or sets its options.
 */
import { type Job, type JobsOptions, Queue, UnrecoverableError, type WorkerOptions } from 'bullmq';
import { z } from 'zod';
import type { Config } from './config.ts';
import { WEBHOOK_EVENT_TYPES } from './job-states.ts';
import { STAGES, type Stage } from './pipelines.ts';
import type { RedisClient } from './redis.ts';

/**
 * How a job is queued at every stage: `batch` in order (with the client's fair-queuing rank), `interactive` (a
 * person waits for it: talk turns) ahead of all batch work — unprioritized and LIFO, so BullMQ takes it before
 * any waiting or prioritized batch job.
 */
export const JOB_MODES = ['batch', 'interactive'] as const;
export type JobMode = (typeof JOB_MODES)[number];

/** The delivery queue (webhooks) is not a pipeline stage: it runs after a job ends. */
export const DELIVER_QUEUE = 'deliver';
/** Housekeeping (retention sweeps), driven by a BullMQ job scheduler. */
export const MAINTENANCE_QUEUE = 'maintenance';
/** Chunks of long audio, transcribed in parallel as children of the job's transcribe stage (a BullMQ flow). */
export const CHUNK_QUEUE = 'transcribe-chunk';

/** What a stage queue's job carries: an id, never audio or secrets. Everything else is in the job record. */
export const stagePayloadSchema = z.object({
  jobId: z.uuid(),
  /** times this stage job was sent back because the provider rate limited it (capped: no endless loop) */
  rateLimitWaits: z.number().int().min(0).optional(),
  /** the job's run this stage job belongs to (absent: 1); a retry (POST /v1/jobs/:id/retry) starts run n + 1 */
  run: z.number().int().min(2).optional(),
});
export type StagePayload = z.infer<typeof stagePayloadSchema>;

/**
 * BullMQ job id of one stage of one job's run: deterministic, so a repeated hand-off is ignored by BullMQ. A
 * retried job's later runs get their own ids (`_r<run>`): the earlier run's stage job stays as it ended.
 */
export const stageJobId = (jobId: string, stage: Stage, run = 1) =>
  `${jobId}_${stage}${run > 1 ? `_r${run}` : ''}`;

/** A job's run: 1, then one more per retry. */
export const runOf = (record: { retries: number | null }) => (record.retries ?? 0) + 1;

/** BullMQ job id of one chunk of one job's transcription (in one run of the job, like stageJobId). */
export const chunkJobId = (jobId: string, index: number, run = 1) =>
  `${jobId}_chunk_${index}${run > 1 ? `_r${run}` : ''}`;

/** What a chunk queue's job carries. */
export const chunkPayloadSchema = z.object({
  jobId: z.uuid(),
  index: z.number().int().min(0),
  count: z.number().int().min(1),
  rateLimitWaits: z.number().int().min(0).optional(),
});
export type ChunkPayload = z.infer<typeof chunkPayloadSchema>;

/** What the deliver queue's jobs carry: ids only; the payload is built (and the URL signed) at send time. */
export const deliveryPayloadSchema = z.object({
  /** the job (or, for batch.completed, the batch) the event is about */
  jobId: z.string().min(1),
  batchId: z.string().optional(),
  eventType: z.enum(WEBHOOK_EVENT_TYPES),
  /** `webhook-id`: the same for every attempt and redelivery of one event, so receivers can deduplicate. */
  eventId: z.string().min(1),
  /** which delivery of the event: 0 (or absent) the first, a redelivery's sequence after (newer is larger) */
  delivery: z.number().int().nonnegative().optional(),
});
export type DeliveryPayload = z.infer<typeof deliveryPayloadSchema>;

/** BullMQ options that place a stage job of a job in `mode` (the fair rank applies to batch jobs only). */
export const stageQueueOptions = (
  mode: JobMode | null,
  priority: number | null,
): { lifo?: true; priority?: number } =>
  mode === 'interactive' ? { lifo: true } : priority ? { priority } : {};

/** Every queue name of the service. */
export const ALL_QUEUE_NAMES = [...STAGES, CHUNK_QUEUE, DELIVER_QUEUE, MAINTENANCE_QUEUE] as const;
export type QueueName = (typeof ALL_QUEUE_NAMES)[number];

/**
 * Default job options per queue. Stage and chunk jobs retry with exponential backoff and jitter (BullMQ is the
 * one retry layer); delivery jobs follow the webhook schedule; finished jobs are removed by age and count.
 */
export function jobOptions(name: QueueName, config: Config): JobsOptions {
  const removeOnFail = { age: config.retentionSeconds, count: 50_000 };
  if (name === DELIVER_QUEUE) {
    return {
      attempts: config.webhooks.retryScheduleMs.length,
      backoff: { type: 'webhook' },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail,
    };
  }
  if (name === MAINTENANCE_QUEUE) return { removeOnComplete: { count: 10 }, removeOnFail: { count: 50 } };
  const stage: Stage = name === CHUNK_QUEUE ? 'transcribe' : name;
  return {
    attempts: config.worker.settings[stage].attempts,
    backoff: { type: 'exponential', delay: config.worker.backoffMs, jitter: 0.5 },
    removeOnComplete: { age: 3600, count: 5000 },
    removeOnFail,
  };
}

/**
 * The housekeeping queues (webhook deliveries, retention sweeps) look for a stalled job this many times less
 * often than the stages (every 5 min by default): a delivery or a sweep whose worker died can wait a few
 * minutes, and every check of every queue costs about 7 Redis commands, idle or not.
 */
const HOUSEKEEPING_STALL_FACTOR = 10;

/**
 * Worker options per queue (concurrency, proactive rate limit, locks, stall handling, idle block). Workers
 * are `QueueWorker`s (queue-worker.ts), which also use the idle block as the longest wait for a delayed job.
 */
export function workerOptions(name: QueueName, config: Config, connection: RedisClient): WorkerOptions {
  const base = {
    connection,
    prefix: config.prefix,
    // A worker that dies mid-job loses its lock; another picks the job up after `stalledInterval`.
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount: config.worker.maxStalledCount,
    // An idle worker blocks this long on Redis before looking again; a new job, or the end of a 429 pause
    // (queue-pause.ts), wakes it at once.
    drainDelay: config.worker.idleBlockSeconds,
  };
  const housekeeping = {
    ...base,
    stalledInterval: config.worker.stalledIntervalMs * HOUSEKEEPING_STALL_FACTOR,
  };
  if (name === DELIVER_QUEUE) return { ...housekeeping, concurrency: 16 };
  if (name === MAINTENANCE_QUEUE) return { ...housekeeping, concurrency: 1 };
  const stage: Stage = name === CHUNK_QUEUE ? 'transcribe' : name;
  const settings = config.worker.settings[stage];
  return {
    ...base,
    concurrency: settings.concurrency,
    // The proactive limit (e.g. an OpenAI tier's requests per minute). Without one, BullMQ skips its limiter
    // work on every job (a GET, an INCR and an HEXISTS per hop); a 429 then turns on a queue-wide limit
    // for the pause only (queue-pause.ts).
    ...(settings.rpm > 0 ? { limiter: { max: settings.rpm, duration: 60_000 } } : {}),
  };
}

/** Is this the job's last try? (an unrecoverable error, or its attempts used up) */
export function isFinalAttempt(job: Job, err?: unknown): boolean {
  return err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

export type StageQueues = Record<Stage, Queue>;

/** Handles on every queue, sharing one connection (they add none of their own). */
export interface QueueSet {
  stages: StageQueues;
  chunk: Queue;
  deliver: Queue;
  maintenance: Queue;
  all: Queue[];
  close(): Promise<void>;
}

export function openQueues(connection: RedisClient, config: Config): QueueSet {
  const open = (name: QueueName) => {
    const queue = new Queue(name, {
      connection,
      prefix: config.prefix,
      defaultJobOptions: jobOptions(name, config),
    });
    // Connection errors during a Redis outage surface where commands fail (503s, retried stages); without a
    // listener BullMQ would print each reconnect attempt to the console.
    queue.on('error', () => {});
    return queue;
  };
  const byName = Object.fromEntries(ALL_QUEUE_NAMES.map((n) => [n, open(n)])) as Record<QueueName, Queue>;
  const all = Object.values(byName);
  return {
    stages: Object.fromEntries(STAGES.map((s) => [s, byName[s]])) as StageQueues,
    chunk: byName[CHUNK_QUEUE],
    deliver: byName[DELIVER_QUEUE],
    maintenance: byName[MAINTENANCE_QUEUE],
    all,
    close: async () => {
      await Promise.all(all.map((q) => q.close()));
    },
  };
}
