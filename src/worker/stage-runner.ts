import {
  type Job,
  type Processor,
  type Queue,
  UnrecoverableError,
  WaitingChildrenError,
  Worker,
} from 'bullmq';
import type { Config } from '../shared/config.ts';
import type { ConversationStore } from '../shared/conversation-store.ts';
import { classifyStageError, PermanentError, RetryableError } from '../shared/errors.ts';
import type { JobError, JobRecord } from '../shared/job-record.ts';
import type { JobStore } from '../shared/job-store.ts';
import type { Lifecycle } from '../shared/lifecycle/lifecycle.ts';
import type { Logger } from '../shared/logger.ts';
import { providerContext, recordUsage } from '../shared/metrics.ts';
import { nextStage, type Stage } from '../shared/pipelines.ts';
import { pauseQueue } from '../shared/queue-pause.ts';
import { isFinalAttempt, type QueueSet, runOf, stagePayloadSchema } from '../shared/queue-registry.ts';
import type { RedisClient } from '../shared/redis.ts';
import type { Storage } from '../shared/storage/index.ts';
import { annotate } from '../shared/tracing.ts';
import type { Providers } from './providers.ts';
import type { StageFn } from './stages/stage.ts';

export interface RunnerDeps {
  config: Config;
  redis: RedisClient;
  store: JobStore;
  lifecycle: Lifecycle;
  storage: Storage;
  providers: Providers;
  conversations: ConversationStore;
  queues: QueueSet;
  log: Logger;
}

export type StageResult = 'done' | 'skipped';

/** The reason a canceled job's running stage (or chunk) is aborted with. */
export const CANCELED = 'canceled';

/**
 * Wraps a stage function into a BullMQ processor: the start transition (which returns the record, or nothing
 * when the job ended or moved on), the stage, then one transition that records its output and hands on to the
 * next stage or ends the job. Failures go through `handleFailure`.
 */
export function stageProcessor(
  stage: Stage,
  run: StageFn,
  deps: RunnerDeps,
): Processor<unknown, StageResult> {
  const { config, lifecycle, storage, providers, conversations } = deps;
  return async (job: Job, token?: string, signal?: AbortSignal) => {
    const parsed = stagePayloadSchema.safeParse(job.data);
    if (!parsed.success) throw new PermanentError('invalid_job_data', `Invalid ${stage} job data.`);
    const { jobId } = parsed.data;
    const attempt = job.attemptsMade + 1;
    const jobRun = parsed.data.run ?? 1;
    const record = await lifecycle.start(jobId, stage, attempt, jobRun);
    if (!record) return 'skipped';
    // req_id: the API request that created the job, so one job is followed across every process's logs.
    const log = deps.log.child({ job_id: jobId, req_id: record.req_id ?? undefined, stage, attempt });
    const abort = signal ?? new AbortController().signal;
    const started = Date.now();
    try {
      // A first start (BullMQ counts every start) of the job's first run cannot find anything stored before;
      // a retried job's later run can (the failed run's checkpoints: they are reused, not paid again).
      const fresh = job.attemptsStarted <= 1 && jobRun === 1;
      const input = run.prepareInput
        ? await run.prepareInput(record, {
            storage,
            config,
            signal: abort,
            fresh,
            patch: async (fields) => {
              await lifecycle.patch(record.id, fields, { stage });
            },
          })
        : record;
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
          emit: async (type, data) => {
            await lifecycle.patch(jobId, {}, { stage, event: { type, data } });
          },
          job,
          token,
          fresh,
        }),
      );
      const used = run.usage?.(output, input);
      if (used) {
        recordUsage(
          config.metrics.prices,
          { client: record.client_id, stage, model: used.model },
          used.usage,
        );
        if (used.attributes) annotate(used.attributes);
      }
      // A recording without speech ends the job at transcription (no reply, no speech; see transcribe-audio).
      const next = output.no_speech ? undefined : nextStage(record.pipeline, stage);
      // stage.completed carries what the stage produced (small texts: transcript, reply, summary), so a client
      // following the job sees each result as soon as it exists.
      const completed = { stage, ...output, duration_ms: Date.now() - started };
      const recorded = next
        ? await lifecycle.handOff(record, stage, next, output, completed)
        : await lifecycle.finish(record, 'succeeded', output, { stage, run: jobRun, completed });
      log.info({ duration_ms: completed.duration_ms }, 'stage completed');
      return recorded ? 'done' : 'skipped';
    } catch (err) {
      // The stage fanned out (chunked transcription) and waits for its children: not a failure.
      if (err instanceof WaitingChildrenError) throw err;
      return handleFailure(deps, {
        job,
        queue: deps.queues.stages[stage],
        record,
        stage,
        err,
        signal: abort,
        log,
        rateLimitWaits: parsed.data.rateLimitWaits ?? 0,
      });
    }
  };
}

/**
 * What the stages and the chunks do when their work throws: a canceled job's abort is no failure; a provider's
 * 429 pauses the whole queue for as long as it asked (without spending an attempt, up to a cap); the last
 * attempt (or a permanent error) fails the job, with one code a person can act on; an earlier one publishes
 * stage.retrying and lets BullMQ retry. An error that is a bug (`internal`) is logged with its stack.
 */
export async function handleFailure(
  deps: RunnerDeps,
  f: {
    job: Job;
    queue: Queue;
    record: JobRecord;
    stage: Stage;
    err: unknown;
    signal: AbortSignal;
    log: Logger;
    rateLimitWaits: number;
    /** e.g. "Chunk 2 of 5: " for a chunk's failure */
    context?: string;
  },
): Promise<'skipped'> {
  const { lifecycle, config } = deps;
  const { job, record, stage, log } = f;
  if (f.signal.aborted && f.signal.reason === CANCELED) {
    log.info('stage aborted: job canceled');
    return 'skipped';
  }
  const classified = classifyStageError(f.err, stage);
  if (
    classified instanceof RetryableError &&
    classified.code === 'rate_limited' &&
    f.rateLimitWaits < config.worker.rateLimitMaxWaits
  ) {
    // The job goes back to wait without spending an attempt; the cap keeps it from looping forever on a
    // provider that never recovers.
    const pauseMs = classified.retryAfterMs ?? 1000;
    await job.updateData({ ...job.data, rateLimitWaits: f.rateLimitWaits + 1 });
    await pauseQueue(deps.redis, f.queue, pauseMs, config.worker.settings[stage].rpm > 0);
    log.info({ pause_ms: pauseMs, waits: f.rateLimitWaits + 1 }, 'provider rate limited: stage paused');
    await lifecycle.patch(
      record.id,
      {},
      {
        stage,
        event: {
          type: 'stage.retrying',
          data: { stage, error: { code: 'rate_limited', message: classified.message }, pause_ms: pauseMs },
        },
      },
    );
    throw Worker.RateLimitError();
  }
  const error: JobError = {
    code: classified.code,
    message: `${f.context ?? ''}${classified.message}`,
    stage,
    attempts: job.attemptsMade + 1,
  };
  if (classified.code === 'internal') log.error({ err: f.err }, 'stage failed: internal error');
  if (isFinalAttempt(job, classified)) {
    log.warn({ code: classified.code, error: classified.message }, 'stage failed: job failed');
    await lifecycle.finish(record, 'failed', { error }, { stage, run: runOf(record) });
  } else {
    log.warn({ code: classified.code, error: classified.message }, 'stage failed: will retry');
    await lifecycle.patch(
      record.id,
      {},
      { stage, event: { type: 'stage.retrying', data: { stage, error } } },
    );
  }
  throw classified;
}

/**
 * A stage job that failed for good must end its job record too. The processor does that for the errors it
 * classifies; this covers the rest: a job that stalled more than `maxStalledCount` times (its workers kept
 * dying; the processor never ran) and errors thrown before the processor could record anything (e.g. Redis
 * failing during the start transition). Ending is idempotent, so a job already failed stays as it is.
 */
export function onStalledOut(stage: Stage, deps: RunnerDeps) {
  const { log, store, lifecycle } = deps;
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
      const record = await store.get(jobId);
      // Only while the job is still at this stage: a stage job that handed off before it stalled out (its
      // worker died between the hand-off and BullMQ's completion) does not fail the job that moved on; and only
      // in the run this stage job belongs to (a run retried since is not failed by its old stage job).
      if (!record) return;
      if (await lifecycle.finish(record, 'failed', { error }, { stage, run: parsed.data.run ?? 1 }))
        log.error({ job_id: jobId, stage, code: error.code }, 'job failed');
      else
        log.info(
          { job_id: jobId, stage, job_stage: record.stage, status: record.status },
          'stage job failed after its job moved on or ended: job left as it is',
        );
    } catch (e) {
      log.error({ err: e, job_id: jobId }, 'could not record a stalled-out job');
    }
  };
}
