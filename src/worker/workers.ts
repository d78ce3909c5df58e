import { Worker } from 'bullmq';
import type { EventHub } from '../shared/events.ts';
import { stalledJobs, timedProcessor } from '../shared/metrics.ts';
import type { RedisClient } from '../shared/redis.ts';
import { type Stage, stageJobId } from '../shared/stages.ts';
import { recordTraceparent, tracedProcessor } from '../shared/tracing.ts';
import { onStalledOut, type RunnerDeps, stageProcessor } from './stage-runner.ts';
import { chat } from './stages/chat.ts';
import { speak } from './stages/speak.ts';
import type { StageFn } from './stages/stage.ts';
import { summarize } from './stages/summarize.ts';
import { createTranscribe } from './stages/transcribe.ts';
import { startChunkWorker } from './transcription/chunk-worker.ts';

const STAGE_FNS: Record<Exclude<Stage, 'transcribe'>, StageFn> = { chat, speak, summarize };

export interface StageWorkers {
  workers: Worker[];
  close(): Promise<void>;
}

/**
 * Starts one BullMQ worker per configured stage (`WORKER_STAGES`), each with its own concurrency.
 * A job canceled through the API aborts its running stage here, via the processor's signal.
 */
export function startStageWorkers(
  deps: RunnerDeps & { connection: RedisClient; hub: EventHub },
): StageWorkers {
  const { config, connection, hub, log } = deps;
  // Long audio: the transcribe stage fans out into chunk jobs, run wherever the transcribe stage runs.
  const chunks = config.worker.stages.includes('transcribe') ? startChunkWorker(deps) : undefined;
  const stageFn = (stage: Stage): StageFn =>
    stage === 'transcribe' && chunks
      ? createTranscribe(chunks.queue)
      : STAGE_FNS[stage as Exclude<Stage, 'transcribe'>];
  const workers = config.worker.stages.map((stage) => {
    const run = stageProcessor(stage, stageFn(stage), deps);
    const traced = tracedProcessor(`stage ${stage}`, stage, recordTraceparent(deps.store), run, (job) => ({
      'voicebot.job_id': String((job.data as { jobId?: string } | undefined)?.jobId ?? ''),
      'voicebot.stage': stage,
    }));
    const worker = new Worker(stage, timedProcessor(stage, traced), {
      connection,
      prefix: config.prefix,
      concurrency: config.worker.settings[stage].concurrency,
      // The proactive limit (e.g. an OpenAI tier's requests per minute); a limiter must be set for the
      // queue-wide pause on 429 (queue.rateLimit) to take effect, so "no limit" is a very high one.
      limiter:
        config.worker.settings[stage].rpm > 0
          ? { max: config.worker.settings[stage].rpm, duration: 60_000 }
          : { max: 1_000_000, duration: 1_000 },
      // A worker that dies mid-stage loses its lock; another picks the job up after `stalledInterval`.
      // Long-poll at most 1 s: with priorities (fair queuing) BullMQ does not wake a worker when a 429 pause
      // (queue.rateLimit) ends, so the poll interval bounds how long a paused stage stays idle after it.
      drainDelay: 1,
      lockDuration: config.worker.lockDurationMs,
      stalledInterval: config.worker.stalledIntervalMs,
      maxStalledCount: config.worker.maxStalledCount,
      metrics: { maxDataPoints: 60 * 24 },
    });
    worker.on('error', (err) => log.error({ err, stage }, 'worker error'));
    worker.on('stalled', (jobId) => log.warn({ bull_job: jobId, stage }, 'stalled job recovered'));
    worker.on('stalled', () => stalledJobs.inc({ queue: stage }));
    worker.on('failed', onStalledOut(stage, deps));
    return worker;
  });
  const unsubscribe = hub.subscribeAll((event) => {
    if (event.type !== 'job.canceled') return;
    for (const [i, stage] of config.worker.stages.entries())
      workers[i]?.cancelJob(stageJobId(event.jobId, stage), 'canceled');
  });
  log.info({ stages: config.worker.stages }, 'stage workers started');
  return {
    workers,
    async close() {
      unsubscribe();
      await Promise.all(workers.map((w) => w.close()));
      await chunks?.close();
    },
  };
}
