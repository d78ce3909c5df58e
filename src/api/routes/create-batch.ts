import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { batchView } from '../../shared/batch-view.ts';
import { HttpError } from '../../shared/errors.ts';
import { keys } from '../../shared/job-files.ts';
import { transcriptOptionsShape } from '../../shared/transcript-options.ts';
import { batchViewSchema } from '../../shared/view-schemas.ts';
import type { ApiDeps } from '../deps.ts';
import { fingerprintOf, idempotencyClaim } from '../idempotency.ts';
import { acceptBatch, cleanupOnError, type JobSpec, parseSubmission, validateJob } from '../intake.ts';
import { audioUrlSchema, jobOptionsShape, metadataSchema } from '../job-schemas.ts';
import { linkBase } from '../link-base.ts';
import { uploadedJobIds } from '../middleware/audio-upload.ts';
import { json } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';
import { audioFile, idempotencyHeader, multipartOptions, SUBMIT_ERRORS } from '../submission-docs.ts';
import { parseOr400 } from '../validate.ts';

function batchSchema(maxItems: number, maxTextChars: number) {
  const item = z.strictObject({
    text: z.string().trim().min(1).max(maxTextChars).optional(),
    audio_url: audioUrlSchema.optional(),
    metadata: metadataSchema.optional(),
    ...transcriptOptionsShape,
  });
  return z.strictObject({
    ...jobOptionsShape,
    items: z.array(item).max(maxItems, `a batch holds at most ${maxItems} items`).optional(),
  });
}

/**
 * POST /v1/batches — up to MAX_BATCH_ITEMS jobs at once: JSON `{items: [{audio_url | text, metadata}],
 * webhook_url, …shared options}` or multipart with many `audio` files and the shared options as fields.
 * → 202 with the batch; a `batch.completed` webhook follows once every item has ended.
 */
function createBatch(deps: ApiDeps): RequestHandler {
  const { config, batches } = deps;
  return async (req, res) => {
    const body = parseOr400(
      batchSchema(config.limits.batchItems, config.limits.textChars),
      { ...(req.body ?? {}) },
      'batch',
    );
    const files = Array.isArray(req.files) ? req.files : [];
    const { items = [], metadata, ...shared } = body;
    if (files.length > 0 && items.length > 0)
      throw new HttpError(400, 'ambiguous_input', 'Send items (JSON) or audio files, not both.');
    const count = files.length + items.length;
    if (count === 0)
      throw new HttpError(
        400,
        'missing_input',
        'A batch needs items: a JSON "items" array or multipart "audio" files.',
      );
    const fileIds = uploadedJobIds(req);
    const specs: Array<{ id: string; spec: JobSpec }> = [];
    for (const [i, file] of files.entries()) {
      specs.push({
        id: fileIds[i] ?? randomUUID(),
        spec: await validateJob(deps, { ...shared, metadata: { index: i } }, file, req.clientId),
      });
    }
    for (const [i, item] of items.entries()) {
      try {
        specs.push({
          id: randomUUID(),
          spec: await validateJob(
            deps,
            { ...shared, ...item, metadata: item.metadata ?? { index: i } },
            undefined,
            req.clientId,
          ),
        });
      } catch (err) {
        if (err instanceof HttpError)
          throw new HttpError(err.status, err.code, `items[${i}]: ${err.message}`);
        throw err;
      }
    }
    const batchId = randomUUID();
    // The Idempotency-Key is claimed in the same atomic step that records the batch (or not at all).
    const idempotency = idempotencyClaim(
      deps,
      req,
      fingerprintOf(body, { sha256: files.map((f) => f.sha256).join(',') }),
      batchId,
    );
    const { replayOf } = await acceptBatch(deps, specs, {
      clientId: req.clientId,
      log: req.log,
      reqId: req.id,
      batch: { id: batchId, webhook_url: shared.webhook_url ?? null, metadata: metadata ?? null },
      idempotency,
    });
    if (replayOf) {
      await Promise.all(fileIds.map((id) => deps.storage.deletePrefix(keys.prefix(id))));
      const original = await batches.get(replayOf);
      if (!original)
        throw new HttpError(409, 'request_in_progress', 'The request with this Idempotency-Key has expired.');
      res.set('Idempotent-Replayed', 'true');
      res
        .status(202)
        .location(`/v1/batches/${original.id}`)
        .json(await batchView(original, deps, { offset: 0, limit: 0 }, linkBase(req, deps.config)));
      return;
    }
    const batch = await batches.get(batchId);
    if (!batch) throw new Error('batch vanished after creation');
    req.log.info({ batch_id: batchId, items: count }, 'batch accepted');
    res
      .status(202)
      .location(`/v1/batches/${batchId}`)
      .json(await batchView(batch, deps, { offset: 0, limit: 0 }, linkBase(req, deps.config)));
  };
}

export const route = defineRoute({
  operation: (config) => ({
    method: 'post',
    path: '/v1/batches',
    operationId: 'createBatch',
    access: 'client',
    tags: ['batches'],
    summary: `Submit up to ${config.limits.batchItems} jobs at once`,
    request: {
      body: {
        required: true,
        content: {
          'application/json': { schema: batchSchema(config.limits.batchItems, config.limits.textChars) },
          'multipart/form-data': {
            schema: z.object({ audio: z.array(audioFile), ...multipartOptions }),
          },
        },
      },
      headers: idempotencyHeader,
    },
    errors: SUBMIT_ERRORS,
    responses: {
      202: {
        description: 'Accepted; one batch.completed webhook follows once every item has ended',
        headers: z.object({ location: z.string() }),
        content: json(batchViewSchema),
      },
    },
  }),
  handlers: (deps) => [...parseSubmission(deps, { batch: true }), createBatch(deps)],
  onError: cleanupOnError,
});
