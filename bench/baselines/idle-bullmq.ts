/**
 * Baseline for the idle benchmark: bare BullMQ workers with BullMQ's default options (drainDelay 5 s,
 * stalledInterval 30 s) on the same queues as a voicebot worker process (the four stages, transcribe-chunk,
 * deliver, maintenance), no-op processors, nothing else. Prints "ready" once every worker runs.
 *
 *   REDIS_URL=… QUEUE_PREFIX=… node bench/baselines/idle-bullmq.ts
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const QUEUES = ['transcribe', 'chat', 'speak', 'summarize', 'transcribe-chunk', 'deliver', 'maintenance'];
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const prefix = process.env.QUEUE_PREFIX ?? '{voicebot}';
const workers = QUEUES.map((name) => new Worker(name, async () => undefined, { connection, prefix }));
await Promise.all(workers.map((w) => w.waitUntilReady()));
console.log('ready');
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.once(sig, () => {
    void Promise.all(workers.map((w) => w.close())).then(() => process.exit(0));
  });
