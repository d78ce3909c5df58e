/**
 * The `transcribe-chunk` queue: one chunk of long audio per job, a child of the job's transcribe stage job
 * (a BullMQ flow). A chunk reads its audio from storage, transcribes it and writes its transcript under a
 * deterministic key — which is also its checkpoint, so a retried or re-added chunk never pays twice. A
 * chunk that fails for good fails the whole job at once (the parent then finds the job ended).
 */
import { type Job, type Queue, UnrecoverableError, type Worker } from 'bullmq';
import type { EventHub } from '../../shared/events.ts';
import { keys } from '../../shared/job-files.ts';
import { isTerminal } from '../../shared/job-states.ts';
import {
  CHUNK_QUEUE,
  type ChunkPayload,
  chunkPayloadSchema,
  workerOptions,
} from '../../shared/queue-registry.ts';
import { QueueWorker } from '../../shared/queue-worker.ts';
import type { RedisClient } from '../../shared/redis.ts';
import { CANCELED, handleFailure, type RunnerDeps } from '../stage-runner.ts';
import { COMPACT } from './media.ts';
import { transcribeFile } from './provider.ts';
import { chunkRequest } from './request-plan.ts';
import { traceChunk } from './trace-chunk.ts';
import { localFile, sweepStaleWorkDirs, withWorkDir } from './workdir.ts';

export type { ChunkPayload } from '../../shared/queue-registry.ts';

export interface ChunkWorker {
  queue: Queue<ChunkPayload>;
  worker: Worker;
  close(): Promise<void>;
}

/** Runs chunk jobs with the transcribe stage's concurrency, rate limit and provider. */
export async function startChunkWorker(
  deps: RunnerDeps & { connection: RedisClient; hub: EventHub },
): Promise<ChunkWorker> {
  const { config, connection, hub, log } = deps;
  const queue = deps.queues.chunk as Queue<ChunkPayload>;
  /** running chunk jobs by job id, so a canceled job aborts its chunks */
  const active = new Map<string, Set<string>>();
  const worker = new QueueWorker<ChunkPayload>(
    CHUNK_QUEUE,
    traceChunk(deps, async (job, _token, signal) => {
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
    }),
    workerOptions(CHUNK_QUEUE, config, connection),
    connection,
  );
  worker.on('error', (err) => log.error({ err, queue: CHUNK_QUEUE }, 'chunk worker error'));
  sweepStaleWorkDirs()
    .then((n) => n > 0 && log.info({ removed: n }, 'removed stale transcription work dirs'))
    .catch(() => {});
  const unsubscribe = await hub.onCancel((jobId) => {
    for (const id of active.get(jobId) ?? []) worker.cancelJob(id, CANCELED);
  });
  return {
    queue,
    worker,
    async close() {
      unsubscribe();
      await worker.close();
    },
  };
}

/**
 * One chunk: its transcript is written under a deterministic key (its checkpoint). Failures are handled as a
 * stage's are (`handleFailure`): a chunk that fails for good fails the whole job at once.
 */
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
      const path = await localFile(
        storage,
        keys.chunkAudio(jobId, index, COMPACT.ext),
        dir,
        `chunk.${COMPACT.ext}`,
        signal,
      );
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
    return handleFailure(deps, {
      job,
      queue,
      record,
      stage: 'transcribe',
      err,
      signal,
      log,
      rateLimitWaits: parsed.data.rateLimitWaits ?? 0,
      context: `Chunk ${index + 1} of ${count}: `,
    });
  }
}
