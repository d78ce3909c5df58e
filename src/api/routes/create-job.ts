import type { RequestHandler } from 'express';
import { jobView } from '../../shared/job-view.ts';
import type { ApiDeps } from '../deps.ts';
import { submitJob } from '../intake.ts';
import { linkBase } from '../link-base.ts';

/**
 * POST /v1/jobs → 202 {id, status: "queued", …} with a Location header. With an `Idempotency-Key` seen before
 * (same client, same body, within 24 h) the original job is answered again, marked `Idempotent-Replayed`.
 */
export function createJob(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const { record, replayed } = await submitJob(deps, req);
    if (replayed) res.set('Idempotent-Replayed', 'true');
    res
      .status(202)
      .location(`/v1/jobs/${record.id}`)
      .json(await jobView(record, deps.storage, deps.config, linkBase(req, deps.config)));
  };
}
