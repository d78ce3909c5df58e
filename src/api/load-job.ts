import type { Request } from 'express';
import { notFound } from '../shared/errors.ts';
import type { JobRecord } from '../shared/job-record.ts';
import type { ApiDeps } from './deps.ts';
import { jobIdSchema } from './job-schemas.ts';

/** Loads the job named by `:id`, or 404 (a malformed id names no job). */
export async function loadJob(deps: ApiDeps, req: Request): Promise<JobRecord> {
  const id = jobIdSchema.safeParse(req.params.id);
  const record = id.success ? await deps.store.get(id.data) : undefined;
  // Another client's job does not exist as far as this caller can tell.
  if (!record || record.client_id !== req.clientId)
    throw notFound(`No job with id "${String(req.params.id).slice(0, 100)}".`);
  return record;
}
