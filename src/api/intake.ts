import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import { HttpError } from '../shared/errors.ts';
import { publishEvent } from '../shared/events.ts';
import type { JobRecord } from '../shared/job-record.ts';
import { enqueueStage } from '../shared/queues.ts';
import { acceptsInput, firstStage, keys } from '../shared/stages.ts';
import { assertPublicUrl, UnsafeUrlError } from '../shared/webhooks/ssrf.ts';
import type { ApiDeps } from './deps.ts';
import { createJobSchema } from './job-schemas.ts';
import { audioUpload, uploadJobId } from './middleware/audio-upload.ts';
import { parseOr400 } from './validate.ts';

/**
 * Parses a job submission — multipart (`audio` file or `text` field), JSON or a urlencoded form — streaming
 * any audio into storage under a job id chosen here. Pair with `cleanupOnError` so a refused request
 * leaves nothing stored.
 */
export function parseSubmission(deps: ApiDeps): RequestHandler[] {
  const upload = audioUpload(deps.storage, deps.config.limits.uploadBytes);
  const json = express.json({ limit: '256kb', strict: true });
  const form = express.urlencoded({ extended: false, limit: '256kb', parameterLimit: 20 });
  return [
    (req, _res, next) => {
      (req as Request & { jobId: string }).jobId = randomUUID();
      next();
    },
    (req, res, next) => {
      if (req.is('multipart/form-data')) return upload(req, res, next);
      if (req.is('application/json')) return json(req, res, next);
      if (req.is('application/x-www-form-urlencoded')) return form(req, res, next);
      if (!req.headers['content-type'] && Number(req.headers['content-length'] ?? 0) === 0) {
        return next(
          new HttpError(400, 'empty_request', 'Send an audio file (multipart field "audio") or text.'),
        );
      }
      next(
        new HttpError(
          415,
          'unsupported_media_type',
          'Send multipart/form-data (audio or text), application/json or a urlencoded form.',
        ),
      );
    },
  ];
}

/** Removes whatever a failed submission stored, then passes the error on. */
export function cleanupOnError(deps: ApiDeps): ErrorRequestHandler {
  return (err, req, _res, next) => {
    const id = uploadJobId(req);
    if (!id) return next(err);
    deps.storage
      .deletePrefix(keys.prefix(id))
      .catch((e) => req.log.error({ err: e }, 'cleanup after refused request failed'))
      .finally(() => next(err));
  };
}

/** Validates the parsed submission, stores text input, records the job and enqueues its first stage. */
export async function submitJob(deps: ApiDeps, req: Request): Promise<JobRecord> {
  const { config, store, storage, queues, redis } = deps;
  const body = parseOr400(createJobSchema(config.limits.textChars), { ...(req.body ?? {}) }, 'job');
  const id = uploadJobId(req);
  const file = req.file;
  if (file && body.text)
    throw new HttpError(400, 'ambiguous_input', 'Send either an audio file or text, not both.');
  if (!file && !body.text)
    throw new HttpError(400, 'missing_input', 'Send an audio file (multipart field "audio") or text.');
  if (body.webhook_url) {
    try {
      await assertPublicUrl(body.webhook_url, config.webhooks.allowPrivateNetworks);
    } catch (err) {
      if (!(err instanceof UnsafeUrlError)) throw err;
      throw new HttpError(422, 'webhook_url_refused', `webhook_url refused: ${err.message}.`);
    }
  }
  const kind = file ? 'audio' : 'text';
  if (!acceptsInput(body.pipeline, kind)) {
    throw new HttpError(
      400,
      'input_not_accepted',
      `The ${body.pipeline} pipeline does not take ${kind} input.`,
    );
  }
  if (body.text) {
    const key = body.pipeline === 'speak' ? keys.reply(id) : keys.transcript(id);
    await storage.put(key, body.text, { contentType: 'text/plain; charset=utf-8' });
  }
  const now = new Date().toISOString();
  const record: JobRecord = {
    id,
    status: 'queued',
    stage: firstStage(body.pipeline, kind),
    pipeline: body.pipeline,
    input_kind: kind,
    input_type: file?.mimetype ?? null,
    input_bytes: file?.size ?? null,
    voice: body.voice ?? null,
    instructions: body.instructions ?? null,
    metadata: body.metadata ?? null,
    webhook_url: body.webhook_url ?? null,
    webhook: null,
    conversation_id: body.conversation_id ?? null,
    transcript: kind === 'text' && body.pipeline !== 'speak' ? (body.text ?? null) : null,
    reply_text: body.pipeline === 'speak' ? (body.text ?? null) : null,
    audio_key: null,
    error: null,
    provider: config.simulator.enabled ? 'simulator' : 'openai',
    created_at: now,
    updated_at: now,
    finished_at: null,
    deleted_at: null,
  };
  await store.create(record);
  try {
    await enqueueStage(queues, id, record.stage ?? firstStage(body.pipeline, kind));
  } catch (err) {
    await redis.del(store.key(id)).catch(() => {});
    throw err;
  }
  await publishEvent(redis, config.prefix, config.retentionSeconds, id, 'job.queued', {
    job_id: id,
    status: 'queued',
  }).catch((err) => req.log.warn({ err }, 'could not publish job.queued'));
  req.log.info({ job_id: id, input: kind, pipeline: body.pipeline, bytes: file?.size }, 'job accepted');
  return record;
}
