import type { RequestHandler } from 'express';
import { jobView } from '../../shared/job-view.ts';
import { jobViewSchema } from '../../shared/view-schemas.ts';
import type { ApiDeps } from '../deps.ts';
import { linkBase } from '../link-base.ts';
import { loadJob } from '../load-job.ts';
import { json } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';
import { jobIdParams } from '../submission-docs.ts';

/** GET /v1/jobs/:id → the job, with a freshly presigned audio_url. */
function getJob(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const record = await loadJob(deps, req);
    res
      .set('Cache-Control', 'no-store')
      .json(await jobView(record, deps.storage, deps.config, linkBase(req, deps.config)));
  };
}

export const route = defineRoute({
  operation: {
    method: 'get',
    path: '/v1/jobs/:id',
    operationId: 'getJob',
    access: 'client',
    tags: ['jobs'],
    summary: 'A job: status, transcript, reply, fresh presigned audio_url',
    request: { params: jobIdParams },
    errors: [404],
    responses: { 200: { description: 'The job', content: json(jobViewSchema) } },
  },
  handlers: (deps) => [getJob(deps)],
});
