import type { RequestHandler } from 'express';
import { jobView } from '../../shared/job-view.ts';
import { isTerminal, keys } from '../../shared/stages.ts';
import type { ApiDeps } from '../deps.ts';
import { linkBase } from '../link-base.ts';
import { loadJob } from './get-job.ts';

/**
 * DELETE /v1/jobs/:id — a queued or running job is canceled (its running stage is aborted, no later stage
 * runs); a finished job has its stored input and outputs deleted, keeping a tombstone record.
 */
export function cancelJob(deps: ApiDeps): RequestHandler {
  const { store, storage, config, lifecycle } = deps;
  return async (req, res) => {
    const record = await loadJob(deps, req);
    if (!isTerminal(record.status) && (await lifecycle.finish(record, 'canceled'))) {
      // The transition publishes the cancel: workers abort the running stage through its signal.
    } else if (!record.deleted_at) {
      await storage.deletePrefix(keys.prefix(record.id));
      await lifecycle.patch(
        record.id,
        { deleted_at: new Date().toISOString() },
        {
          anyStatus: true,
          remove: ['transcript', 'reply_text', 'audio_key', 'metadata', 'summary', 'artifacts'],
        },
      );
    }
    const updated = (await store.get(record.id)) ?? record;
    res.set('Cache-Control', 'no-store').json(await jobView(updated, storage, config, linkBase(req, config)));
  };
}
