import { type Job, type Processor, UnrecoverableError, WaitingChildrenError, Worker } from 'bullmq';
import type { Config } from '../shared/config.ts';
import type { ConversationStore } from '../shared/conversation-store.ts';
import { classifyProviderError, PermanentError, RetryableError } from '../shared/errors.ts';
import { type EventType, publishEvent } from '../shared/events.ts';
import { endJob, type LifecycleDeps } from '../shared/job-lifecycle.ts';
import type { JobError, JobRecord } from '../shared/job-record.ts';
import type { JobStore } from '../shared/job-store.ts';
import type { Logger } from '../shared/logger.ts';
import { providerContext, recordUsage } from '../shared/metrics.ts';
import { enqueueStage, type StageQueues } from '../shared/queues.ts';
import type { RedisClient } from '../shared/redis.ts';
import { isTerminal, keys, nextStage, type Stage, stagePayloadSchema } from '../shared/stages.ts';
import type { Storage } from '../shared/storage/index.ts';
import { fetchAudioInto } from './fetch-audio.ts';
import type { Providers } from './providers.ts';
import type { StageFn } from './stages/stage.ts';

export interface RunnerDeps extends LifecycleDeps {
  config: Config;
  redis: RedisClient;
  store: JobStore;
  storage: Storage;
  providers: Providers;
  conversations: ConversationStore;
  queues: StageQueues;
  log: Logger;
}

export type StageResult = 'done' | 'skipped';

/**
 * Wraps a stage function into a BullMQ processor: load the job record, skip jobs that ended (canceled),
 * run the stage, record its output, hand on to the next stage or finish the job. Errors are classified
 * once here; BullMQ retries what is retryable; the last failure marks the job failed.
 */
export function stageProcessor(
  stage: Stage,
  run: StageFn,
  deps: RunnerDeps,
): Processor<unknown, StageResult> {
  const { config, redis, store, storage, providers, queues, conversations } = deps;
  const emit = (jobId: string, type: EventType, data: Record<string, unknown>) =>
    publishEvent(redis, config.prefix, config.retentionSeconds, jobId, type, { job_id: jobId, ...data });

  return async (job: Job, _token?: string, signal?: AbortSignal) => {
    const parsed = stagePayloadSchema.safeParse(job.data);
    if (!parsed.success) throw new PermanentError('invalid_job_data', `Invalid ${stage} job data.`);
    const { jobId } = parsed.data;
    const record = await store.get(jobId);
    // req_id: the API request that created the job, so one job is followed across every process's logs.
    const log = deps.log.child({
      job_id: jobId,
      req_id: record?.req_id ?? undefined,
      stage,
      attempt: job.attemptsMade + 1,
    });
    if (!record || isTerminal(record.status)) {
      log.info({ status: record?.status ?? 'missing' }, 'stage skipped: job already ended');
      return 'skipped';
    }
    const abort = signal ?? new AbortController().signal;
    const started = Date.now();
    if ((await store.update(jobId, { status: 'running', stage })) !== 'updated') return 'skipped';
    await emit(jobId, 'stage.started', { stage, attempt: job.attemptsMade + 1 });
    try {
      const input = await ensureInput(record, stage, deps, abort);
      // The provider calls made inside are attributed to this job's client and stage (usage metrics).
      const output = await providerContext.run({ clientId: record.client_id, stage, signal: abort }, () =>
        run({
          record: input,
          storage,
          providers,
          conversations,
          config,
          signal: abort,
          log,
          job,
          token: _token,
        }),
      );
      if (stage === 'transcribe' && output.duration_seconds) {
        recordUsage(
          config.metrics.prices,
          { client: record.client_id, stage, model: providers.transcribe.model },
          { audioSeconds: output.duration_seconds },
        );
      }
      // A recording without speech ends the job at transcription (no reply, no speech; see transcribe-audio).
      const next = output.no_speech ? undefined : nextStage(record.pipeline, stage);
      const completed = { stage, ...output, duration_ms: Date.now() - started };
      if (next) {
        if ((await store.update(jobId, { ...output, stage: next })) !== 'updated') return 'skipped';
        await emit(jobId, 'stage.completed', completed);
        await enqueueStage(queues, jobId, next, record.priority);
      } else {
        await emit(jobId, 'stage.completed', completed);
        await endJob(deps, jobId, 'succeeded', output);
      }
      log.info({ duration_ms: Date.now() - started }, 'stage completed');
      return 'done';
    } catch (err) {
      // The stage fanned out (chunked transcription) and waits for its children: not a failure.
      if (err instanceof WaitingChildrenError) throw err;
      const current = await store.get(jobId);
      if (abort.aborted && current?.status === 'canceled') {
        log.info('stage aborted: job canceled');
        return 'skipped';
      }
      const classified = classifyProviderError(err, stage);
      const waits = parsed.data.rateLimitWaits ?? 0;
      if (
        classified instanceof RetryableError &&
        classified.code === 'rate_limited' &&
        waits < config.worker.rateLimitMaxWaits
      ) {
        // Pause the whole stage queue for as long as the provider asked; the job goes back to wait without
        // spending an attempt. The cap keeps a job from looping forever on a provider that never recovers.
        const pauseMs = classified.retryAfterMs ?? 1000;
        await job.updateData({ ...parsed.data, rateLimitWaits: waits + 1 });
        await queues[stage].rateLimit(pauseMs);
        log.info({ pause_ms: pauseMs, waits: waits + 1 }, 'provider rate limited: stage paused');
        await emit(jobId, 'stage.retrying', {
          stage,
          error: { code: 'rate_limited', message: classified.message },
          pause_ms: pauseMs,
        });
        throw Worker.RateLimitError();
      }
      const attempts = job.opts.attempts ?? 1;
      const final = classified instanceof UnrecoverableError || job.attemptsMade + 1 >= attempts;
      const error: JobError = {
        code: classified.code,
        message: classified.message,
        stage,
        attempts: job.attemptsMade + 1,
      };
      if (final) {
        log.warn({ err: classified, code: classified.code }, 'stage failed: job failed');
        await endJob(deps, jobId, 'failed', { error });
      } else {
        log.warn({ code: classified.code, error: classified.message }, 'stage failed: will retry');
        await emit(jobId, 'stage.retrying', { stage, error });
      }
      throw classified;
    }
  };
}

/**
 * A stage job that failed for good must end its job record too. The processor does that for the errors it
 * classifies; this covers the rest: a job that stalled more than `maxStalledCount` times (its workers kept
 * dying; the processor never ran) and errors thrown before the processor could record anything (e.g. Redis
 * failing while loading the record). `endJob` is idempotent, so a job already failed stays as it is.
 */
export function onStalledOut(stage: Stage, deps: RunnerDeps) {
  const { log } = deps;
  return async (job: Job | undefined, err: Error) => {
    if (!job) return;
    const stalled = /stalled more than/i.test(err.message);
    const final =
      stalled || err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    const parsed = stagePayloadSchema.safeParse(job.data);
    if (!parsed.success) return;
    const { jobId } = parsed.data;
    const error: JobError = stalled
      ? {
          code: 'worker_lost',
          message: `The ${stage} stage was interrupted too often (its workers stopped while running it).`,
          stage,
          attempts: job.attemptsMade,
        }
      : {
          code: 'stage_failed',
          message: `The ${stage} stage failed: ${err.message.slice(0, 300)}`,
          stage,
          attempts: job.attemptsMade,
        };
    try {
      if (await endJob(deps, jobId, 'failed', { error }))
        log.error({ job_id: jobId, stage, code: error.code }, 'job failed');
    } catch (e) {
      log.error({ err: e, job_id: jobId }, 'could not record a stalled-out job');
    }
  };
}

/** Audio given by URL is fetched into storage before transcription (once: a stored input is a checkpoint). */
async function ensureInput(
  record: JobRecord,
  stage: Stage,
  deps: RunnerDeps,
  signal: AbortSignal,
): Promise<JobRecord> {
  const { storage, store, config } = deps;
  if (stage !== 'transcribe' || !record.source_url || (await storage.exists(keys.input(record.id), signal)))
    return record;
  const { mime, bytes } = await fetchAudioInto(storage, keys.input(record.id), record.source_url, {
    maxBytes: config.limits.uploadBytes,
    timeoutMs: config.limits.audioFetchTimeoutMs,
    allowPrivate: config.webhooks.allowPrivateNetworks,
    signal,
  });
  await store.update(record.id, { input_type: mime, input_bytes: bytes });
  return { ...record, input_type: mime, input_bytes: bytes };
}
