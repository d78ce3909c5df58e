import type { RequestHandler } from 'express';
import { z } from 'zod';
import { batchView } from '../../shared/batch-view.ts';
import { notFound } from '../../shared/errors.ts';
import { batchViewSchema } from '../../shared/view-schemas.ts';
import type { ApiDeps } from '../deps.ts';
import { linkBase } from '../link-base.ts';
import { json } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';
import { parseOr400 } from '../validate.ts';

const querySchema = z.strictObject({
  cursor: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(0).max(100).default(20),
});

/** GET /v1/batches/:id?cursor=&limit= — counts per status and one page of items. */
function getBatch(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const q = parseOr400(querySchema, { ...req.query }, 'query');
    const id = z.uuid().safeParse(req.params.id);
    const batch = id.success ? await deps.batches.get(id.data) : undefined;
    if (!batch || batch.client_id !== req.clientId)
      throw notFound(`No batch with id "${String(req.params.id).slice(0, 100)}".`);
    res
      .set('Cache-Control', 'no-store')
      .json(await batchView(batch, deps, { offset: q.cursor, limit: q.limit }, linkBase(req, deps.config)));
  };
}

export const route = defineRoute({
  operation: {
    method: 'get',
    path: '/v1/batches/:id',
    operationId: 'getBatch',
    access: 'client',
    tags: ['batches'],
    summary: 'A batch: counts per status and a page of its items',
    request: { params: z.object({ id: z.uuid() }), query: querySchema },
    errors: [404],
    responses: { 200: { description: 'The batch', content: json(batchViewSchema) } },
  },
  handlers: (deps) => [getBatch(deps)],
});
