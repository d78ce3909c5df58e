/**
 * The `transcribe-chunk` queue: one chunk of long audio per job, a child of the job's transcribe stage job
 * (a BullMQ flow). A chunk reads its audio from storage, transcribes it and writes its transcript under a
 * deterministic key — which is also its checkpoint, so a retried or re-added chunk never pays twice. A
 * chunk that fails for good fails the whole job at once (the parent then finds the job ended).
 */
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import { classifyProviderError, RetryableError } from '../../shared/errors.ts';
import type { EventHub } from '../../shared/events.ts';
import { endJob } from '../../shared/job-lifecycle.ts';
import type { RedisClient } from '../../shared/redis.ts';
import { CHUNK_QUEUE, isTerminal, keys } from '../../shared/stages.ts';
import type { RunnerDeps } from '../stage-runner.ts';
import { COMPACT } from './media.ts';
import { transcribeFile } from './provider.ts';
import { chunkRequest } from './request-plan.ts';
import { download, sweepStaleWorkDirs, withWorkDir } from './workdir.ts';

export const chunkPayloadSchema = z.object({
  jobId: z.uuid(),
  index: z.number().int().min(0),
  count: z.number().int().min(1),
  rateLimitWaits: z.number().int().min(0).optional(),
});
export type ChunkPayload = z.infer<typeof chunkPayloadSchema>;

/** Chunk jobs retry like the transcribe stage (its attempts and backoff) and are removed by age. */
export function createChunkQueue(connection: RedisClient, config: Config): Queue<ChunkPayload> {
  return new Queue<ChunkPayload>(CHUNK_QUEUE, {
    connection,
    prefix: config.prefix,
    defaultJobOptions: {
      attempts: config.worker.settings.transcribe.attempts,
      backoff: { type: 'exponential', delay: config.worker.backoffMs, jitter: 0.5 },
      removeOnComplete: { age: 3600, count: 5000 },
      removeOnFail: { age: config.retentionSeconds, count: 50_000 },
    },
  });
}

export interface ChunkWorker {
  queue: Queue<ChunkPayload>;
  worker: Worker;
  close(): Promise<void>;
}

/** Runs chunk jobs with the transcribe stage's concurrency, rate limit and provider. */
export function startChunkWorker(deps: RunnerDeps & { connection: RedisClient; hub: EventHub }): ChunkWorker {
  const { config, connection, hub, log } = deps;
  const queue = createChunkQueue(connection, config);
  const settings = config.worker.settings.transcribe;
  /** running chunk jobs by job id, so a canceled job aborts its chunks */
  const active = new Map<string, Set<string>>();
  const worker = new Worker<ChunkPayload>(
    CHUNK_QUEUE,
    async (job, _token, signal) => {
      const jobId = job.data.jobId;
      const set = active.get(jobId) ?? new Set<string>();
      set.add(job.id ?? '');
      active.set(jobId, set);
      try {
        return await processChunk(deps, queue, job, signal ?? new AbortController().signal);
      } finally {
        set.delete(job.id ?? '');
        if (set.size === 0) active.delete(jobId);
      }
    },
    {
      connection,
      prefix: config.prefix,
      concurrency: settings.concurrency,
      limiter:
        settings.rpm > 0 ? { max: settings.rpm, duration: 60_000 } : { max: 1_000_000, duration: 1_000 },
      drainDelay: 1,
      lockDuration: config.worker.lockDurationMs,
      stalledInterval: config.worker.stalledIntervalMs,
      maxStalledCount: config.worker.maxStalledCount,
    },
  );
  worker.on('error', (err) => log.error({ err, queue: CHUNK_QUEUE }, 'chunk worker error'));
  sweepStaleWorkDirs()
    .then((n) => n > 0 && log.info({ removed: n }, 'removed stale transcription work dirs'))
    .catch(() => {});
  const unsubscribe = hub.subscribeAll((event) => {
    if (event.type !== 'job.canceled') return;
    for (const id of active.get(event.jobId) ?? []) worker.cancelJob(id, 'canceled');
  });
  return {
    queue,
    worker,
    async close() {
      unsubscribe();
      await worker.close();
      await queue.close();
    },
  };
}

async function processChunk(
  deps: RunnerDeps,
  queue: Queue<ChunkPayload>,
  job: Job<ChunkPayload>,
  signal: AbortSignal,
): Promise<'done' | 'skipped'> {
  const parsed = chunkPayloadSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError('invalid chunk job data');
  const { jobId, index, count } = parsed.data;
  const { store, storage, providers, config } = deps;
  const log = deps.log.child({
    job_id: jobId,
    stage: 'transcribe',
    chunk: index,
    attempt: job.attemptsMade + 1,
  });
  const record = await store.get(jobId);
  if (!record || isTerminal(record.status)) return 'skipped';
  const resultKey = keys.chunkTranscript(jobId, index);
  if (await storage.exists(resultKey, signal)) return 'done';
  const started = Date.now();
  try {
    const part = await withWorkDir(async (dir) => {
      const path = `${dir}/chunk.${COMPACT.ext}`;
      await download(storage, keys.chunkAudio(jobId, index, COMPACT.ext), path, signal);
      return transcribeFile(
        providers.transcribe,
        { path, name: `chunk-${index}.${COMPACT.ext}`, mime: COMPACT.mime },
        {
          language: record.language_hint,
          signal,
          request: await chunkRequest(storage, record, providers.transcribe.model, config, signal),
        },
      );
    });
    await storage.put(resultKey, JSON.stringify(part), { contentType: 'application/json', signal });
    log.info({ duration_ms: Date.now() - started, chunks: count }, 'chunk transcribed');
    return 'done';
  } catch (err) {
    const current = await store.get(jobId);
    if (signal.aborted && current?.status === 'canceled') return 'skipped';
    const classified = classifyProviderError(err, 'transcribe');
    const waits = parsed.data.rateLimitWaits ?? 0;
    if (
      classified instanceof RetryableError &&
      classified.code === 'rate_limited' &&
      waits < config.worker.rateLimitMaxWaits
    ) {
      await job.updateData({ ...parsed.data, rateLimitWaits: waits + 1 });
      await queue.rateLimit(classified.retryAfterMs ?? 1000);
      throw Worker.RateLimitError();
    }
    const attempts = job.opts.attempts ?? 1;
    const final = classified instanceof UnrecoverableError || job.attemptsMade + 1 >= attempts;
    if (final) {
      log.warn({ err: classified, code: classified.code }, 'chunk failed: job failed');
      await endJob(deps, jobId, 'failed', {
        error: {
          code: classified.code,
          message: `Chunk ${index + 1} of ${count}: ${classified.message}`,
          stage: 'transcribe',
          attempts: job.attemptsMade + 1,
        },
      });
    } else log.warn({ code: classified.code, error: classified.message }, 'chunk failed: will retry');
    throw classified;
  }
}
