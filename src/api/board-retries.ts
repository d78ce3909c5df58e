/**
 * Bull Board's Retry buttons on the stage queues, routed through the job lifecycle. BullMQ's own retry would
 * move the failed stage job back to wait, where the stage's start transition skips it (its voicebot job has
 * ended) and BullMQ marks it completed: nothing resumes and nothing says why. Here, Retry on a failed stage
 * job re-opens its voicebot job (Lifecycle.retry, as POST /v1/jobs/{id}/retry does) and "Retry all" on a
 * stage queue's failed jobs re-opens every failed job that ended in that stage. The dashboard's other
 * queues (deliver, chunks, maintenance) keep BullMQ's own buttons.
 */
import express, { type Request, type Response } from 'express';
import type { Config } from '../shared/config.ts';
import { STAGES, type Stage } from '../shared/pipelines.ts';
import type { ApiDeps } from './deps.ts';
import { retryJob, retryMatching, retryRefusal } from './retry-jobs.ts';

const isStage = (name: string | undefined): name is Stage => STAGES.includes(name as Stage);

/** What the dashboard says on a stage queue, next to its name. */
export const STAGE_QUEUE_DESCRIPTION =
  'Retry re-opens the voicebot job at the stage it failed in (as POST /v1/jobs/{id}/retry or `voicebot retry`), keeping the stages it completed.';

/** A refusal in Bull Board's own error shape, with a sentence that says why. */
function refuse(res: Response, status: number, message: string) {
  res.status(status).json({ error: { key: 'ERRORS.JOB_NOT_RETRIABLE' }, message });
}

/** Express router mounted under the dashboard's path, in front of Bull Board's own API. */
export function boardStageRetries(deps: ApiDeps, config: Config): express.Router {
  const router = express.Router();
  router.put('/api/queues/:queueName/:jobId/retry', async (req: Request, res, next) => {
    const { queueName, jobId } = req.params as { queueName: string; jobId: string };
    if (!isStage(queueName) || config.admin.readOnly) return next();
    const id = /^([0-9a-f-]{36})_/.exec(jobId)?.[1];
    const record = id ? await deps.store.get(id) : undefined;
    if (!record) return refuse(res, 404, `No voicebot job for stage job ${jobId}.`);
    const refusal = retryRefusal(await retryJob(deps, record), record.id, config.limits.jobsInFlight);
    if (refusal) return refuse(res, refusal.status, refusal.message);
    deps.log.info({ job_id: record.id, stage: queueName }, 'job retried from the queue dashboard');
    res.status(204).end();
  });
  router.put('/api/queues/:queueName/retry/:queueStatus', async (req: Request, res, next) => {
    const { queueName, queueStatus } = req.params as { queueName: string; queueStatus: string };
    if (!isStage(queueName) || config.admin.readOnly) return next();
    if (queueStatus !== 'failed')
      return refuse(res, 400, 'Only failed stage jobs are retried: their voicebot jobs are re-opened.');
    const summary = await retryMatching(deps, { status: 'failed', stage: queueName, limit: 100_000 });
    deps.log.info({ stage: queueName, ...summary }, 'failed jobs retried from the queue dashboard');
    res.json({ retried: summary.retried, skipped: summary.skipped });
  });
  return router;
}
