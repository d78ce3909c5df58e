import type { RequestHandler } from 'express';
import { z } from 'zod';
import { jobView } from '../../shared/job-view.ts';
import { jobViewSchema } from '../../shared/view-schemas.ts';
import type { ApiDeps } from '../deps.ts';
import { cleanupOnError, parseSubmission, submitJob } from '../intake.ts';
import { linkBase } from '../link-base.ts';
import { json } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';
import { jobSubmission, SUBMIT_ERRORS } from '../submission-docs.ts';

/**
 * POST /v1/jobs → 202 {id, status: "queued", …} with a Location header. With an `Idempotency-Key` seen before
 * (same client, same body, within 24 h) the original job is answered again, marked `Idempotent-Replayed`.
 */
function createJob(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const { record, replayed } = await submitJob(deps, req);
    if (replayed) res.set('Idempotent-Replayed', 'true');
    res
      .status(202)
      .location(`/v1/jobs/${record.id}`)
      .json(await jobView(record, deps.storage, deps.config, linkBase(req, deps.config)));
  };
}

export const route = defineRoute({
  operation: (config) => ({
    method: 'post',
    path: '/v1/jobs',
    operationId: 'createJob',
    access: 'client',
    tags: ['jobs'],
    summary: 'Submit a job: an audio file, an audio_url or text',
    request: jobSubmission(config),
    errors: SUBMIT_ERRORS,
    responses: {
      202: {
        description: 'Accepted and queued (or, with a replayed Idempotency-Key, the original job)',
        headers: z.object({ location: z.string(), 'idempotent-replayed': z.literal('true').optional() }),
        content: json(jobViewSchema),
      },
    },
  }),
  handlers: (deps) => [...parseSubmission(deps), createJob(deps)],
  onError: cleanupOnError,
});
