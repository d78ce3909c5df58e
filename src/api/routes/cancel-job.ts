import type { RequestHandler } from 'express';
import { keys } from '../../shared/job-files.ts';
import { isTerminal } from '../../shared/job-states.ts';
import { jobView } from '../../shared/job-view.ts';
import { jobViewSchema } from '../../shared/view-schemas.ts';
import type { ApiDeps } from '../deps.ts';
import { linkBase } from '../link-base.ts';
import { loadJob } from '../load-job.ts';
import { json } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';
import { jobIdParams } from '../submission-docs.ts';

/**
 * DELETE /v1/jobs/:id — a queued or running job is canceled (its running stage is aborted, no later stage
 * runs); an ended job is deleted: first its record becomes a tombstone (one transition: outputs dropped,
 * `deleted_at` set, the delete listed as in progress), then its stored files are deleted. Both steps are
 * idempotent: a DELETE cut short between them answers as deleted from then on, and the next DELETE or the
 * maintenance sweep deletes the files.
 */
function cancelJob(deps: ApiDeps): RequestHandler {
  const { store, storage, config, lifecycle } = deps;
  return async (req, res) => {
    const record = await loadJob(deps, req);
    if (!isTerminal(record.status) && (await lifecycle.finish(record, 'canceled'))) {
      // The transition publishes the cancel: workers abort the running stage through its signal.
    } else if ((await lifecycle.tombstone(record.id)) !== 'running') {
      await storage.deletePrefix(keys.prefix(record.id));
      await lifecycle.filesDeleted([record.id]);
    }
    const updated = (await store.get(record.id)) ?? record;
    res.set('Cache-Control', 'no-store').json(await jobView(updated, storage, config, linkBase(req, config)));
  };
}

export const route = defineRoute({
  operation: {
    method: 'delete',
    path: '/v1/jobs/:id',
    operationId: 'cancelJob',
    access: 'client',
    tags: ['jobs'],
    summary: 'Cancel a queued or running job; on a finished job, delete its stored files',
    description:
      'On a finished job the record is marked deleted first (`deleted_at` set, outputs removed) and its stored input and outputs are deleted after; the record stays until its retention ends. Repeating the request is safe: a delete that was cut short answers as deleted and its files are deleted by the next DELETE or by the maintenance sweep.',
    request: { params: jobIdParams },
    errors: [404],
    responses: {
      200: { description: 'The job after cancellation or deletion', content: json(jobViewSchema) },
    },
  },
  handlers: (deps) => [cancelJob(deps)],
});
