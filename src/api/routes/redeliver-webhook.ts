import type { RequestHandler } from 'express';
import { z } from 'zod';
import { HttpError } from '../../shared/errors.ts';
import { isTerminal } from '../../shared/job-states.ts';
import type { ApiDeps } from '../deps.ts';
import { loadJob } from '../load-job.ts';
import { json, problem } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';
import { jobIdParams } from '../submission-docs.ts';

const redeliverAccepted = z
  .strictObject({ id: z.uuid(), webhook: z.strictObject({ status: z.literal('pending') }) })
  .meta({ id: 'RedeliveryAccepted' });

/** POST /v1/jobs/:id/webhook/redeliver — sends the job's terminal event again (same webhook-id). */
function redeliverWebhook(deps: ApiDeps): RequestHandler {
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

export const route = defineRoute({
  operation: {
    method: 'post',
    path: '/v1/jobs/:id/webhook/redeliver',
    operationId: 'redeliverJobWebhook',
    access: 'client',
    tags: ['jobs'],
    summary: 'Send a finished job’s webhook again (same webhook-id)',
    request: { params: jobIdParams },
    errors: [404],
    responses: {
      202: { description: 'Queued for delivery', content: json(redeliverAccepted) },
      409: problem('The job has no webhook_url, or has not ended yet'),
    },
  },
  handlers: (deps) => [redeliverWebhook(deps)],
});
