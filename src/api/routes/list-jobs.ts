import type { RequestHandler } from 'express';
import { z } from 'zod';
import { jobView } from '../../shared/job-view.ts';
import { JOB_STATUSES } from '../../shared/stages.ts';
import type { ApiDeps } from '../deps.ts';
import { linkBase } from '../link-base.ts';
import { parseOr400 } from '../validate.ts';

export const querySchema = z.strictObject({
  status: z.enum(JOB_STATUSES).optional(),
  batch_id: z.uuid().optional(),
  cursor: z.string().regex(/^\d+$/, 'cursor must come from next_cursor').optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/**
 * GET /v1/jobs?status=&batch_id=&cursor=&limit= — the caller's jobs, newest first (a batch's in item order),
 * one page at a time. Another client's jobs never appear.
 */
export function listJobs(deps: ApiDeps): RequestHandler {
  const { store, batches, storage, config } = deps;
  return async (req, res) => {
    const q = parseOr400(querySchema, { ...req.query }, 'query');
    const data = [];
    let cursor = q.cursor;
    let next: string | null = null;
    // Filtering by status reads pages until the page is full or the list ends.
    for (let scanned = 0; data.length < q.limit && scanned < 20; scanned++) {
      let ids: string[];
      if (q.batch_id) {
        const batch = await batches.get(q.batch_id);
        if (!batch || batch.client_id !== req.clientId) break;
        const offset = Number(cursor ?? 0);
        ids = await batches.jobIds(q.batch_id, offset, offset + q.limit - 1);
        next = offset + ids.length < batch.total ? String(offset + ids.length) : null;
      } else {
        const page = await store.pageForClient(
          req.clientId,
          q.limit,
          cursor === undefined ? undefined : Number(cursor),
        );
        ids = page.ids;
        next = page.next === null ? null : String(page.next);
      }
      for (const record of await store.getMany(ids)) {
        if (record && record.client_id === req.clientId && (!q.status || record.status === q.status)) {
          data.push(await jobView(record, storage, config, linkBase(req, config)));
        }
      }
      if (next === null) break;
      cursor = next;
    }
    res.set('Cache-Control', 'no-store').json({ object: 'list', data, next_cursor: next });
  };
}
