import type { RequestHandler } from 'express';
import { HttpError } from '../../shared/errors.ts';
import { isTerminal } from '../../shared/job-states.ts';
import type { ApiDeps } from '../deps.ts';
import { loadJob } from './get-job.ts';

/** POST /v1/jobs/:id/webhook/redeliver — sends the job's terminal event again (same webhook-id). */
export function redeliverWebhook(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const record = await loadJob(deps, req);
    if (!record.webhook_url) throw new HttpError(409, 'no_webhook', 'This job has no webhook_url.');
    if (!isTerminal(record.status))
      throw new HttpError(
        409,
        'not_finished',
        'The job has not ended yet; its webhook is sent when it does.',
      );
    await deps.lifecycle.redeliver(record, Date.now());
    res.status(202).json({ id: record.id, webhook: { status: 'pending' } });
  };
}
