import type { RequestHandler } from 'express';
import { publishEvent } from '../../shared/events.ts';
import { isTerminal, keys } from '../../shared/stages.ts';
import type { ApiDeps } from '../deps.ts';
import { jobView } from '../job-view.ts';
import { loadJob } from './get-job.ts';

/**
 * DELETE /v1/jobs/:id — a queued or running job is canceled (its running stage is aborted, no later stage
 * runs); a finished job has its stored input and outputs deleted, keeping a tombstone record.
 */
export function cancelJob(deps: ApiDeps): RequestHandler {
  const { store, storage, redis, config } = deps;
  return async (req, res) => {
    const record = await loadJob(deps, req);
    if (!isTerminal(record.status) && (await store.finish(record.id, 'canceled')) === 'updated') {
      await publishEvent(redis, config.prefix, config.retentionSeconds, record.id, 'job.canceled', {
        job_id: record.id,
        status: 'canceled',
      });
    } else if (!record.deleted_at) {
      await storage.deletePrefix(keys.prefix(record.id));
      await store.overwrite(record.id, { deleted_at: new Date().toISOString() }, [
        'transcript',
        'reply_text',
        'audio_key',
        'metadata',
      ]);
    }
    const updated = (await store.get(record.id)) ?? record;
    res.set('Cache-Control', 'no-store').json(await jobView(updated, storage, config));
  };
}
