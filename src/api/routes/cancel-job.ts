import type { RequestHandler } from 'express';
import { keys } from '../../shared/job-files.ts';
import { isTerminal } from '../../shared/job-states.ts';
import { jobView } from '../../shared/job-view.ts';
import type { ApiDeps } from '../deps.ts';
import { linkBase } from '../link-base.ts';
import { loadJob } from './get-job.ts';

/**
 * DELETE /v1/jobs/:id — a queued or running job is canceled (its running stage is aborted, no later stage
 * runs); an ended job is deleted: first its record becomes a tombstone (one transition: outputs dropped,
 * `deleted_at` set, the delete listed as in progress), then its stored files are deleted. Both steps are
 * idempotent: a DELETE cut short between them answers as deleted from then on, and the next DELETE or the
 * maintenance sweep deletes the files.
 */
export function cancelJob(deps: ApiDeps): RequestHandler {
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
