import type { Worker } from 'bullmq';
import type { EventHub } from '../shared/events.ts';
import { stalledJobs, timedProcessor } from '../shared/metrics.ts';
import type { Stage } from '../shared/pipelines.ts';
import { runOf, stageJobId, workerOptions } from '../shared/queue-registry.ts';
import { QueueWorker } from '../shared/queue-worker.ts';
import type { RedisClient } from '../shared/redis.ts';
import { recordTraceparent, tracedProcessor } from '../shared/tracing.ts';
import { CANCELED, onStalledOut, type RunnerDeps, stageProcessor } from './stage-runner.ts';
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
 * A job canceled through the API aborts its running stage here, via the processor's signal: the cancel
 * transition publishes the job id on the cancel channel, the only thing workers listen to.
 */
export async function startStageWorkers(
  deps: RunnerDeps & { connection: RedisClient; hub: EventHub },
): Promise<StageWorkers> {
  const { config, connection, hub, log } = deps;
  // Long audio: the transcribe stage fans out into chunk jobs, run wherever the transcribe stage runs.
  const chunks = config.worker.stages.includes('transcribe') ? await startChunkWorker(deps) : undefined;
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
    const worker = new QueueWorker(
      stage,
      timedProcessor(stage, traced),
      workerOptions(stage, config, connection),
      connection,
    );
    worker.on('error', (err) => log.error({ err, stage }, 'worker error'));
    worker.on('stalled', (jobId) => log.warn({ bull_job: jobId, stage }, 'stalled job recovered'));
    worker.on('stalled', () => stalledJobs.inc({ queue: stage }));
    worker.on('failed', onStalledOut(stage, deps));
    return worker;
  });
  const unsubscribe = await hub.onCancel((jobId) => {
    // The stage job of the job's current run (a retried job's later runs have their own ids).
    deps.redis
      .hget(deps.store.key(jobId), 'retries')
      .then((retries) => {
        const run = runOf({ retries: Number(retries) || null });
        for (const [i, stage] of config.worker.stages.entries())
          workers[i]?.cancelJob(stageJobId(jobId, stage, run), CANCELED);
      })
      .catch((err: unknown) => log.error({ err, job_id: jobId }, 'could not cancel a running stage'));
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
