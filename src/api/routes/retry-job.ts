import type { RequestHandler } from 'express';
import { jobView } from '../../shared/job-view.ts';
import type { ApiDeps } from '../deps.ts';
import { linkBase } from '../link-base.ts';
import { retryFilterSchema, retryJob, retryMatching, retryRefusal } from '../retry-jobs.ts';
import { parseOr400 } from '../validate.ts';
import { loadJob } from './get-job.ts';

/**
 * POST /v1/jobs/:id/retry — re-opens a failed or canceled job at the stage it ended in (a new run, its
 * completed stages kept). 409 for a job in another state, 429 when the caller has its cap of jobs in flight
 * (nothing changed).
 */
export function retryOne(deps: ApiDeps): RequestHandler {
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
export function retryMany(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const filter = parseOr400(retryFilterSchema, req.body ?? {}, 'body');
    res.json(await retryMatching(deps, { ...filter, client: req.clientId }));
  };
}
