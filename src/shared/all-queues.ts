import { Queue } from 'bullmq';
import type { RedisClient } from './redis.ts';
import { CHUNK_QUEUE, DELIVER_QUEUE, MAINTENANCE_QUEUE, STAGES } from './stages.ts';

/** Every BullMQ queue of the service: the stage queues, long audio's chunks, webhooks and housekeeping. */
export const ALL_QUEUE_NAMES = [...STAGES, CHUNK_QUEUE, DELIVER_QUEUE, MAINTENANCE_QUEUE] as const;

/**
 * Handles on every queue for operators (the dashboard and the queue-depth metrics), sharing `connection`:
 * they add no connection of their own, and closing them leaves the connection to its owner.
 */
export function openAllQueues(
  connection: RedisClient,
  prefix: string,
): { queues: Queue[]; close(): Promise<void> } {
  const queues = ALL_QUEUE_NAMES.map((name) => {
    const queue = new Queue(name, { connection, prefix });
    // Connection errors are the connection owner's to report (and show as voicebot_queue_metrics_up 0).
    queue.on('error', () => {});
    return queue;
  });
  return {
    queues,
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
