import type { RequestHandler } from 'express';
import { z } from 'zod';
import { jobView } from '../../shared/job-view.ts';
import { jobViewSchema } from '../../shared/view-schemas.ts';
import type { ApiDeps } from '../deps.ts';
import { jsonBody } from '../json-body.ts';
import { linkBase } from '../link-base.ts';
import { loadJob } from '../load-job.ts';
import { json, problem } from '../openapi-responses.ts';
import {
  retryFilterSchema,
  retryJob,
  retryMatching,
  retryRefusal,
  retrySummarySchema,
} from '../retry-jobs.ts';
import { defineRoute } from '../route.ts';
import { jobIdParams } from '../submission-docs.ts';
import { parseOr400 } from '../validate.ts';

/**
 * POST /v1/jobs/:id/retry — re-opens a failed or canceled job at the stage it ended in (a new run, its
 * completed stages kept). 409 for a job in another state, 429 when the caller has its cap of jobs in flight
 * (nothing changed).
 */
function retryOne(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const record = await loadJob(deps, req);
    const refusal = retryRefusal(await retryJob(deps, record), record.id, deps.config.limits.jobsInFlight);
    if (refusal) throw refusal;
    const updated = (await deps.store.get(record.id)) ?? record;
    res
      .status(202)
      .set('Location', `/v1/jobs/${record.id}`)
      .json(await jobView(updated, deps.storage, deps.config, linkBase(req, deps.config)));
  };
}

/** POST /v1/jobs/retry — re-opens every one of the caller's ended jobs that matches the filter. */
function retryMany(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const filter = parseOr400(retryFilterSchema, req.body ?? {}, 'body');
    res.json(await retryMatching(deps, { ...filter, client: req.clientId }));
  };
}

export const retryOneRoute = defineRoute({
  operation: {
    method: 'post',
    path: '/v1/jobs/:id/retry',
    operationId: 'retryJob',
    access: 'client',
    tags: ['jobs'],
    summary: 'Resume a failed or canceled job at the stage it ended in',
    description:
      'The job is re-opened as a new run (`attempt` + 1, `job.retried` event): every stage it completed keeps its output and is not run (nor paid) again. Its terminal webhook for the new run has its own webhook-id (suffix `_r<attempt>`). Counts against MAX_JOBS_IN_FLIGHT.',
    request: { params: jobIdParams },
    errors: [404],
    responses: {
      202: {
        description: 'Re-opened and queued at its stage',
        headers: z.object({ location: z.string() }),
        content: json(jobViewSchema),
      },
      409: problem('The job is not failed or canceled (e.g. already retried), or its files were deleted'),
      429: problem('You have MAX_JOBS_IN_FLIGHT jobs in flight (nothing changed), or rate limited'),
    },
  },
  handlers: (deps) => [retryOne(deps)],
});

export const retryManyRoute = defineRoute({
  operation: {
    method: 'post',
    path: '/v1/jobs/retry',
    operationId: 'retryJobs',
    access: 'client',
    tags: ['jobs'],
    summary: 'Resume every one of your ended jobs that matches a filter (e.g. after a provider outage)',
    description:
      'Each matching job is re-opened as POST /v1/jobs/{id}/retry does, oldest ended first, until `limit` or your cap of jobs in flight (`cap_reached`: run again once jobs have ended).',
    request: { body: { required: false, content: json(retryFilterSchema) } },
    responses: { 200: { description: 'How many were re-opened', content: json(retrySummarySchema) } },
  },
  handlers: (deps) => [jsonBody('4kb'), retryMany(deps)],
});
