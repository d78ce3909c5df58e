/**
 * Every BullMQ worker of the service is a QueueWorker: cheap when idle, and the one that ends 429 pauses.
 *
 * - An idle worker blocks on Redis for WORKER_IDLE_BLOCK_SECONDS (BullMQ's `drainDelay`) before it looks
 *   again; a new job wakes it at once (BullMQ's marker). BullMQ caps a wait for a *delayed* job at 10 s (a
 *   queue with one, e.g. the maintenance queue's next sweep or a webhook's retry, polled every 10 s); here the
 *   cap is the idle block too: a delayed job that comes due is still announced by its own marker, and a
 *   connection that hangs is still caught by BullMQ's watchdog after the block.
 * - A `pause-end` job (queue-pause.ts) is run here, never by the queue's own processor.
 */
import { type Job, type Processor, Worker, type WorkerOptions } from 'bullmq';
import { endPause, PAUSE_END_JOB } from './queue-pause.ts';
import type { RedisClient } from './redis.ts';

export class QueueWorker<D = unknown, R = unknown> extends Worker<D, R> {
  constructor(name: string, processor: Processor<D, R>, opts: WorkerOptions, redis: RedisClient) {
    const self: { keys?: Record<string, string | undefined> } = {};
    super(
      name,
      async (job: Job<D, R>, token?: string, signal?: AbortSignal) => {
        if (job.name === PAUSE_END_JOB && self.keys) {
          await endPause(redis, self.keys);
          return undefined as R;
        }
        return processor(job, token, signal);
      },
      opts,
    );
    self.keys = this.keys;
  }

  override get maximumBlockTimeout(): number {
    return Math.max(super.maximumBlockTimeout, this.opts.drainDelay ?? 0);
  }
}
