import type { RequestHandler } from 'express';
import { z } from 'zod';
import { notFound } from '../../shared/errors.ts';
import { jobView } from '../../shared/job-view.ts';
import { jobViewSchema } from '../../shared/view-schemas.ts';
import type { ApiDeps } from '../deps.ts';
import { jsonBody } from '../json-body.ts';
import { linkBase } from '../link-base.ts';
import { loadJob } from '../load-job.ts';
import { json } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';
import { jobIdParams } from '../submission-docs.ts';
import { parseOr400 } from '../validate.ts';

const updateJobSchema = z
  .strictObject({
    handled: z.boolean().describe('Mark the job (a voicemail) handled, or unhandled again'),
  })
  .meta({ id: 'JobUpdate' });

/**
 * PATCH /v1/jobs/:id `{"handled": true|false}` → the job. What a person records about a job (the inbox's
 * handled mark), whatever its status; every browser of the same client sees it.
 */
function updateJob(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const record = await loadJob(deps, req);
    const body = parseOr400(updateJobSchema, req.body ?? {}, 'update');
    // The first time it was marked stays; unmarking removes it. Whatever the job's status.
    const marked = body.handled
      ? record.handled_at !== null ||
        (await deps.lifecycle.patch(record.id, { handled_at: new Date().toISOString() }, { anyStatus: true }))
      : await deps.lifecycle.patch(record.id, {}, { anyStatus: true, remove: ['handled_at'] });
    if (!marked) throw notFound(`No job with id "${record.id}".`);
    const updated = await deps.store.get(record.id);
    if (!updated) throw notFound(`No job with id "${record.id}".`);
    res
      .set('Cache-Control', 'no-store')
      .json(await jobView(updated, deps.storage, deps.config, linkBase(req, deps.config)));
  };
}

export const route = defineRoute({
  operation: {
    method: 'patch',
    path: '/v1/jobs/:id',
    operationId: 'updateJob',
    access: 'client',
    tags: ['jobs'],
    summary: 'Mark a job (a voicemail) handled or unhandled',
    request: { params: jobIdParams, body: { required: true, content: json(updateJobSchema) } },
    errors: [400, 404],
    responses: { 200: { description: 'The job', content: json(jobViewSchema) } },
  },
  handlers: (deps) => [jsonBody('1kb'), updateJob(deps)],
});
