import type { RequestHandler } from 'express';
import type { ApiDeps } from '../deps.ts';
import { jsonBody } from '../json-body.ts';
import { json, problem } from '../openapi-responses.ts';
import { adminRetryFilterSchema, retryMatching, retrySummarySchema } from '../retry-jobs.ts';
import { defineRoute } from '../route.ts';
import { parseOr400 } from '../validate.ts';

/** POST /admin/jobs/retry — an operator re-opens ended jobs of every client (or one) that match a filter. */
function adminRetryJobs(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const filter = parseOr400(adminRetryFilterSchema, req.body ?? {}, 'body');
    const summary = await retryMatching(deps, filter);
    deps.log.info({ filter, ...summary }, 'failed jobs retried by an operator');
    res.set('Cache-Control', 'no-store').json(summary);
  };
}

export const route = defineRoute({
  operation: {
    method: 'post',
    path: '/admin/jobs/retry',
    operationId: 'adminRetryJobs',
    access: 'admin',
    tags: ['operations'],
    summary: 'Resume ended jobs of every client (or one) that match a filter',
    description: 'As POST /v1/jobs/retry, across clients; each client’s cap of jobs in flight still holds.',
    request: { body: { required: false, content: json(adminRetryFilterSchema) } },
    errors: [400],
    responses: {
      200: { description: 'How many were re-opened', content: json(retrySummarySchema) },
      401: problem('ADMIN_TOKEN was not sent'),
      403: problem('No ADMIN_TOKEN is set (outside development): the admin routes are disabled'),
    },
  },
  handlers: (deps) => [jsonBody('4kb'), adminRetryJobs(deps)],
});
