import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { JobRecord } from '../../shared/job-record.ts';
import { JOB_STATUSES } from '../../shared/job-states.ts';
import type { ListPosition } from '../../shared/job-store.ts';
import { jobView } from '../../shared/job-view.ts';
import { PIPELINE_NAMES } from '../../shared/pipelines.ts';
import { URGENCIES } from '../../shared/summary.ts';
import { jobListSchema } from '../../shared/view-schemas.ts';
import type { ApiDeps } from '../deps.ts';
import { linkBase } from '../link-base.ts';
import { json } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';
import { parseOr400 } from '../validate.ts';

const querySchema = z.strictObject({
  status: z.enum(JOB_STATUSES).optional(),
  batch_id: z.uuid().optional(),
  pipeline: z.enum(PIPELINE_NAMES).optional(),
  handled: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('Only jobs marked handled (true) or not (false)'),
  urgency: z
    .enum([...URGENCIES, 'none'])
    .optional()
    .describe('The voicemail summary’s urgency; `none`: no summary (yet)'),
  q: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .describe('Text search over caller name, callback number and summary'),
  cursor: z
    .string()
    .regex(/^\d+(-\d+)?$/, 'cursor must come from next_cursor')
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
type ListQuery = z.infer<typeof querySchema>;

/** Job ids read per round trip while filtering, and at most per request (then a partial page and a cursor). */
const SCAN_CHUNK = 250;
const SCAN_BUDGET = 5000;

/**
 * GET /v1/jobs?status=&pipeline=&handled=&urgency=&q=&batch_id=&cursor=&limit= — the caller's jobs, newest
 * first (a batch's in item order), one page at a time. Another client's jobs never appear. Filters are
 * applied while reading the list; a request reads at most SCAN_BUDGET jobs, so a rare match can come back
 * as a short page with a `next_cursor` to go on from.
 */
function listJobs(deps: ApiDeps): RequestHandler {
  const { store, batches, storage, config } = deps;
  return async (req, res) => {
    const q = parseOr400(querySchema, { ...req.query }, 'query');
    const keep = (r: JobRecord | undefined): r is JobRecord =>
      r !== undefined && r.client_id === req.clientId && matches(r, q);
    const data = [];
    let next: string | null = null;
    if (q.batch_id) {
      let offset = Number(q.cursor?.split('-')[0] ?? 0);
      const batch = await batches.get(q.batch_id);
      // Filtering by status reads pages until the page is full or the batch ends.
      for (
        let scanned = 0;
        batch?.client_id === req.clientId && data.length < q.limit && scanned < 20;
        scanned++
      ) {
        // Never more than the page still needs: the next page starts right after the last item read.
        const ids = await batches.jobIds(q.batch_id, offset, offset + q.limit - data.length - 1);
        offset += ids.length;
        next = offset < batch.total && ids.length > 0 ? String(offset) : null;
        for (const record of await store.getMany(ids))
          if (keep(record)) data.push(await jobView(record, storage, config, linkBase(req, config)));
        if (next === null) break;
      }
    } else {
      let pos = parsePosition(q.cursor);
      const chunk = filtered(q) ? SCAN_CHUNK : q.limit;
      for (let scanned = 0; data.length < q.limit; ) {
        const page = await store.pageForClient(req.clientId, Math.min(chunk, SCAN_BUDGET - scanned), pos);
        scanned += page.ids.length;
        const records = await store.getMany(page.ids);
        let cut = false;
        for (const [i, record] of records.entries()) {
          const score = page.scores[i] ?? 0;
          pos = { score, skip: pos?.score === score ? pos.skip + 1 : 1 };
          if (keep(record)) data.push(await jobView(record, storage, config, linkBase(req, config)));
          if (data.length === q.limit) {
            cut = i < records.length - 1 || page.next !== null;
            break;
          }
        }
        if (cut || (page.next !== null && scanned >= SCAN_BUDGET)) next = formatPosition(pos);
        if (cut || page.next === null || scanned >= SCAN_BUDGET) break;
      }
    }
    res.set('Cache-Control', 'no-store').json({ object: 'list', data, next_cursor: next });
  };
}

const filtered = (q: ListQuery) =>
  q.status !== undefined ||
  q.pipeline !== undefined ||
  q.handled !== undefined ||
  q.urgency !== undefined ||
  q.q !== undefined;

function matches(r: JobRecord, q: ListQuery): boolean {
  if (q.status && r.status !== q.status) return false;
  if (q.pipeline && r.pipeline !== q.pipeline) return false;
  if (q.handled !== undefined && (r.handled_at !== null) !== q.handled) return false;
  if (q.urgency && (r.summary?.urgency ?? 'none') !== q.urgency) return false;
  if (q.q) {
    const s = r.summary;
    const needle = q.q.toLowerCase();
    const text = [s?.caller_name, s?.callback_number, s?.summary].join('\n').toLowerCase();
    const digits = needle.replace(/\D/g, '');
    const inNumber = digits.length >= 3 && (s?.callback_number ?? '').replace(/\D/g, '').includes(digits);
    if (!text.includes(needle) && !inNumber) return false;
  }
  return true;
}

/** `next_cursor` is `<created-at ms>-<jobs of that ms already listed>` (a bare number: none). */
function parsePosition(cursor: string | undefined): ListPosition | undefined {
  if (cursor === undefined) return undefined;
  const [score, skip] = cursor.split('-');
  return { score: Number(score), skip: Number(skip ?? 0) };
}

const formatPosition = (p: ListPosition | undefined) => (p ? `${p.score}-${p.skip}` : null);

export const route = defineRoute({
  operation: {
    method: 'get',
    path: '/v1/jobs',
    operationId: 'listJobs',
    access: 'client',
    tags: ['jobs'],
    summary: 'List your jobs, newest first (a batch’s in item order)',
    request: { query: querySchema },
    responses: { 200: { description: 'One page', content: json(jobListSchema) } },
  },
  handlers: (deps) => [listJobs(deps)],
});
