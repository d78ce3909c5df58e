/**
 * Baseline for the orchestration benchmark: bare BullMQ workers making the same three hops per job as the
 * service (transcribe → chat → speak, one queue each) with no-op processors. Each processor only hands the
 * job to the next queue, with the service's job options and deterministic job ids; the last one just
 * completes. No job record, no events of our own, no storage, no provider call: the cost of the queue alone.
 *
 * With OPENAI_BASE_URL set, the processors also do the work, as plainly as possible: transcribe sends the
 * stored input (DATA_DIR/objects/jobs/<id>/input, written by the bare intake) to the provider with the
 * openai SDK, chat asks for a reply, speak streams the speech into DATA_DIR; texts travel in the BullMQ job
 * data. That variant shows how much of the service's cost per job is the provider calls themselves.
 *
 *   REDIS_URL=… QUEUE_PREFIX=… STAGE_CONCURRENCY=16 [OPENAI_BASE_URL=… DATA_DIR=…] node bench/baselines/bare-bullmq.ts
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import OpenAI, { toFile } from 'openai';

const STAGES = ['transcribe', 'chat', 'speak'] as const;
type Stage = (typeof STAGES)[number];
interface Data {
  jobId: string;
  text?: string;
}

const env = process.env;
const prefix = env.QUEUE_PREFIX ?? '{voicebot}';
const concurrency = Number(env.STAGE_CONCURRENCY ?? 8);
const dataDir = env.DATA_DIR ?? './data';
const client = env.OPENAI_BASE_URL
  ? new OpenAI({ apiKey: env.OPENAI_API_KEY ?? 'bench', baseURL: env.OPENAI_BASE_URL, maxRetries: 0 })
  : undefined;
// One shared connection, as the service's worker uses (BullMQ opens its blocking connections itself).
const connection = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const defaultJobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
};
const queues = Object.fromEntries(
  STAGES.map((s) => [s, new Queue(s, { connection, prefix, defaultJobOptions })]),
) as Record<Stage, Queue>;

/** The stage's provider call (only with OPENAI_BASE_URL); returns the text for the next stage. */
async function work(stage: Stage, data: Data, ai: OpenAI): Promise<string | undefined> {
  if (stage === 'transcribe') {
    const audio = await readFile(join(dataDir, 'objects', 'jobs', data.jobId, 'input'));
    const r = await ai.audio.transcriptions.create({
      file: await toFile(audio, 'input.wav', { type: 'audio/wav' }),
      model: 'gpt-4o-mini-transcribe',
    });
    return r.text;
  }
  if (stage === 'chat') {
    const r = await ai.chat.completions.create({
      model: 'gpt-5.4-mini',
      messages: [{ role: 'user', content: data.text ?? '' }],
    });
    return r.choices[0]?.message.content ?? '';
  }
  const speech = await ai.audio.speech.create({
    model: 'gpt-4o-mini-tts',
    input: data.text ?? '',
    voice: 'nova',
  });
  if (!speech.body) throw new Error('no speech body');
  await pipeline(
    Readable.fromWeb(speech.body as WebReadableStream<Uint8Array>),
    createWriteStream(join(dataDir, 'objects', 'jobs', data.jobId, 'reply.mp3')),
  );
  return undefined;
}

const workers = STAGES.map((stage, i) => {
  const next = STAGES[i + 1];
  return new Worker(
    stage,
    async (job: Job<Data>) => {
      const text = client ? await work(stage, job.data, client) : undefined;
      if (next) {
        const data: Data = text === undefined ? { jobId: job.data.jobId } : { jobId: job.data.jobId, text };
        await queues[next].add(next, data, { jobId: `${job.data.jobId}_${next}` });
      }
      return 'done';
    },
    { connection, prefix, concurrency },
  );
});
for (const w of workers) w.on('error', (err) => console.error(`worker error: ${err.message}`));

const stop = () => {
  Promise.all(workers.map((w) => w.close()))
    .then(() => Promise.all(Object.values(queues).map((q) => q.close())))
    .finally(() => {
      connection.disconnect();
      process.exit(0);
    });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
