/**
 * Resuming failed jobs. One job (`POST /v1/jobs/:id/retry`), every job matching a filter (`POST /v1/jobs/retry`
 * for the caller's jobs, `POST /admin/jobs/retry` for any client's) and Bull Board's Retry on a stage queue all
 * go through the same transition, Lifecycle.retry: the job is re-opened at the stage it ended in, keeping every
 * completed stage's output, as a new run.
 */
import { z } from 'zod';
import { HttpError, notFound } from '../shared/errors.ts';
import type { JobRecord } from '../shared/job-record.ts';
import { RETRYABLE_STATUSES } from '../shared/job-states.ts';
import type { RetryResult } from '../shared/lifecycle/lifecycle.ts';
import { STAGES } from '../shared/pipelines.ts';
import type { ApiDeps } from './deps.ts';
import { tooManyInFlight } from './intake.ts';

export const retryFilterSchema = z.strictObject({
  status: z
    .enum(RETRYABLE_STATUSES)
    .default('failed')
    .describe('Which ended jobs to re-open (default failed)'),
  error_code: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe('Only jobs whose `error.code` is this, e.g. provider_server_error'),
  stage: z.enum(STAGES).optional().describe('Only jobs that ended in this stage'),
  since: z.iso.datetime({ offset: true }).optional().describe('Only jobs that ended at or after this time'),
  until: z.iso.datetime({ offset: true }).optional().describe('Only jobs that ended at or before this time'),
  limit: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(10_000)
    .describe('Re-open at most this many (oldest ended first)'),
});
export type RetryFilter = z.infer<typeof retryFilterSchema>;

export const adminRetryFilterSchema = retryFilterSchema.extend({
  client: z.string().min(1).max(200).optional().describe('Only this client’s jobs (default: every client’s)'),
});

export const retrySummarySchema = z
  .strictObject({
    object: z.literal('retry_summary'),
    matched: z.number().int().describe('Ended jobs that matched the filter'),
    retried: z.number().int().describe('Jobs re-opened (each at the stage it ended in)'),
    skipped: z
      .number()
      .int()
      .describe('Matched jobs not re-opened: changed meanwhile, their files deleted, or over the cap'),
    cap_reached: z
      .boolean()
      .describe('Stopped because a client reached MAX_JOBS_IN_FLIGHT: run again once jobs have ended'),
  })
  .meta({ id: 'RetrySummary', description: 'What a bulk retry re-opened' });
export type RetrySummary = z.infer<typeof retrySummarySchema>;

/** Ended jobs read per round trip while matching, and re-opened at once. */
const CHUNK = 200;
/** At most this many ended jobs are looked at by one request. */
const SCAN_MAX = 200_000;

/**
 * Re-opens one job through the lifecycle transition; a record that moved on since it was read (another run
 * began and ended meanwhile) is read again, a few times at most.
 */
export async function retryJob(deps: ApiDeps, record: JobRecord): Promise<RetryResult> {
  let current: JobRecord | undefined = record;
  for (let i = 0; i < 3 && current; i++) {
    const result = await deps.lifecycle.retry(current, { cap: deps.config.limits.jobsInFlight });
    if (result.outcome !== 'changed') return result;
    current = await deps.store.get(record.id);
  }
  return current ? { outcome: 'changed' } : { outcome: 'missing' };
}

/** A single retry's outcome as the HTTP answer it becomes (nothing for `retried`). */
export function retryRefusal(result: RetryResult, id: string, cap: number): HttpError | undefined {
  switch (result.outcome) {
    case 'retried':
      return undefined;
    case 'full':
      return tooManyInFlight(result.active, cap);
    case 'missing':
      return notFound(`No job with id "${id}".`);
    case 'not_retryable':
      return new HttpError(
        409,
        'not_retryable',
        `The job is ${result.status}: only a failed or canceled job can be retried.`,
      );
    case 'deleted':
      return new HttpError(
        409,
        'files_deleted',
        'The job’s stored files were deleted: it cannot be resumed.',
      );
    case 'changed':
      return new HttpError(409, 'conflict', 'The job changed while it was being retried; try again.');
  }
}

const matches = (r: JobRecord | undefined, f: RetryFilter & { client?: string | undefined }) =>
  r !== undefined &&
  r.status === f.status &&
  !r.deleted_at &&
  (f.client === undefined || r.client_id === f.client) &&
  (f.error_code === undefined || r.error?.code === f.error_code) &&
  (f.stage === undefined || r.stage === f.stage);

/**
 * Re-opens every ended job matching the filter, oldest ended first, from the retention index (every ended
 * job, by end time). Stops when a client reaches its cap of jobs in flight (`cap_reached`).
 */
export async function retryMatching(
  deps: ApiDeps,
  filter: RetryFilter & { client?: string | undefined },
): Promise<RetrySummary> {
  const { redis, store } = deps;
  const ids = await redis.zrangebyscore(
    store.finishedKey,
    filter.since ? Date.parse(filter.since) : '-inf',
    filter.until ? Date.parse(filter.until) : '+inf',
    'LIMIT',
    0,
    SCAN_MAX,
  );
  const summary: RetrySummary = {
    object: 'retry_summary',
    matched: 0,
    retried: 0,
    skipped: 0,
    cap_reached: false,
  };
  for (let i = 0; i < ids.length && summary.retried < filter.limit && !summary.cap_reached; i += CHUNK) {
    const found = (await store.getMany(ids.slice(i, i + CHUNK))).filter((r): r is JobRecord =>
      matches(r, filter),
    );
    const chosen = found.slice(0, filter.limit - summary.retried);
    summary.matched += chosen.length;
    const results = await Promise.all(chosen.map((r) => retryJob(deps, r)));
    for (const r of results) {
      if (r.outcome === 'retried') summary.retried++;
      else summary.skipped++;
      if (r.outcome === 'full') summary.cap_reached = true;
    }
  }
  return summary;
}
