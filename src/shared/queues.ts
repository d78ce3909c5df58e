import { type JobsOptions, Queue } from 'bullmq';
import type { Config } from './config.ts';
import type { RedisClient } from './redis.ts';
import { STAGES, type Stage, stageJobId } from './stages.ts';

export type StageQueues = Record<Stage, Queue>;

/**
 * Default options of every stage job: retries with exponential backoff and jitter (BullMQ is the one retry
 * layer), and finished jobs removed by age and count so Redis does not grow without bound. The job record
 * (not the BullMQ job) is what clients read, and it has its own retention.
 */
export function stageJobOptions(config: Config, stage: Stage): JobsOptions {
  return {
    attempts: config.worker.settings[stage].attempts,
    backoff: { type: 'exponential', delay: config.worker.backoffMs, jitter: 0.5 },
    removeOnComplete: { age: 3600, count: 5000 },
    removeOnFail: { age: config.retentionSeconds, count: 50_000 },
  };
}

/** One BullMQ queue per stage, on a shared connection. */
export function createStageQueues(connection: RedisClient, config: Config): StageQueues {
  const entries = STAGES.map((stage) => {
    const queue = new Queue(stage, {
      connection,
      prefix: config.prefix,
      defaultJobOptions: stageJobOptions(config, stage),
    });
    // Connection errors during a Redis outage surface where commands fail (503s, retried stages); without
    // a listener BullMQ would print each reconnect attempt to the console.
    queue.on('error', () => {});
    return [stage, queue];
  });
  return Object.fromEntries(entries) as StageQueues;
}

/** Hands a job to a stage. Idempotent: the BullMQ job id is derived from the job id and stage. */
export async function enqueueStage(
  queues: StageQueues,
  jobId: string,
  stage: Stage,
  priority?: number | null,
): Promise<void> {
  await queues[stage].add(
    stage,
    { jobId },
    { jobId: stageJobId(jobId, stage), ...(priority ? { priority } : {}) },
  );
}

export async function closeQueues(queues: StageQueues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
