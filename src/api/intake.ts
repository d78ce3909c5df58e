import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import { batchFields } from '../shared/batches.ts';
import { assertPublicUrl, UnsafeUrlError } from '../shared/client-urls/guard.ts';
import { HttpError } from '../shared/errors.ts';
import { keys } from '../shared/job-files.ts';
import type { JobRecord } from '../shared/job-record.ts';
import type { AcceptResult } from '../shared/lifecycle/lifecycle.ts';
import { acceptsInput, firstStage } from '../shared/pipelines.ts';
import { connectedReplicas, waitForReplicas } from '../shared/redis.ts';
import { currentTraceparent } from '../shared/tracing.ts';
import { assertWebhookSignable } from '../shared/webhooks/policy.ts';
import type { ApiDeps } from './deps.ts';
import { fingerprintOf, type IdempotencyClaim, idempotencyClaim, replayedId } from './idempotency.ts';
import { type CreateJobBody, createJobSchema } from './job-schemas.ts';
import { jsonBody } from './json-body.ts';
import {
  abortUploads,
  audioBatchUpload,
  audioUpload,
  uploadedJobIds,
  uploadJobId,
} from './middleware/audio-upload.ts';
import { checkTranscriptOptions, keytermMerge } from './transcript-intake.ts';
import { parseOr400 } from './validate.ts';

/**
 * Parses a job submission — multipart (`audio` file or `text` field), JSON or a urlencoded form — streaming
 * any audio into storage under a job id chosen here. Pair with `cleanupOnError` so a refused request
 * leaves nothing stored.
 */
export function parseSubmission(deps: ApiDeps, opts: { batch?: boolean } = {}): RequestHandler[] {
  const { uploadBytes, batchItems } = deps.config.limits;
  const upload = opts.batch
    ? audioBatchUpload(deps.storage, uploadBytes, batchItems)
    : audioUpload(deps.storage, uploadBytes);
  const json = jsonBody(opts.batch ? '8mb' : '256kb');
  const form = express.urlencoded({ extended: false, limit: '256kb', parameterLimit: 20 });
  return [
    (req, _res, next) => {
      // A single job's id is chosen before its body is read; a batch's files each get their own.
      if (!opts.batch) (req as Request & { jobId: string }).jobId = randomUUID();
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
    abortUploads(req);
    const ids = new Set([uploadJobId(req), ...uploadedJobIds(req)].filter(Boolean));
    Promise.all([...ids].map((id) => deps.storage.deletePrefix(keys.prefix(id))))
      .catch((e) => req.log.error({ err: e }, 'cleanup after refused request failed'))
      .finally(() => next(err));
  };
}

/** A validated job, ready to be recorded and enqueued. */
export interface JobSpec {
  kind: 'audio' | 'text';
  body: CreateJobBody;
  /** the uploaded audio, already in storage under the job's input key */
  file?: Express.Multer.File | undefined;
}

/** Checks a parsed submission: exactly one input, accepted by the pipeline; a webhook_url we may call. */
export async function validateJob(
  deps: ApiDeps,
  body: CreateJobBody,
  file: Express.Multer.File | undefined,
  clientId: string,
): Promise<JobSpec> {
  const inputs = [file, body.text, body.audio_url].filter((v) => v !== undefined).length;
  if (inputs > 1)
    throw new HttpError(400, 'ambiguous_input', 'Send one input: an audio file, audio_url or text.');
  if (inputs === 0)
    throw new HttpError(
      400,
      'missing_input',
      'Send an audio file (multipart field "audio"), audio_url or text.',
    );
  if (body.webhook_url) await assertAllowedUrl(deps, body.webhook_url, 'webhook_url');
  if (body.webhook_url) await assertWebhookSignable(deps, clientId);
  if (body.audio_url) await assertAllowedUrl(deps, body.audio_url, 'audio_url');
  const kind = body.text ? 'text' : 'audio';
  if (!acceptsInput(body.pipeline, kind)) {
    throw new HttpError(
      400,
      'input_not_accepted',
      `The ${body.pipeline} pipeline does not take ${kind} input.`,
    );
  }
  await checkTranscriptOptions(deps, body, kind, file);
  return { kind, body, file };
}

async function assertAllowedUrl(deps: ApiDeps, url: string, field: string): Promise<void> {
  try {
    await assertPublicUrl(url, deps.config.webhooks.allowPrivateNetworks);
  } catch (err) {
    if (!(err instanceof UnsafeUrlError)) throw err;
    throw new HttpError(422, `${field}_refused`, `${field} refused: ${err.message}.`);
  }
}

export const tooManyInFlight = (active: number, cap: number) =>
  new HttpError(
    429,
    'too_many_jobs_in_flight',
    `You have ${active} jobs in flight; the limit is ${cap}. Wait for some to finish.`,
    { headers: { 'Retry-After': '10' } },
  );

/**
 * Records a validated job and enqueues its first stage, in one atomic transition after the upload: admission
 * (the client's cap of jobs in flight unless `cap` says otherwise; the Idempotency-Key claim), the record,
 * `job.queued` and the first stage's BullMQ job. Fair queuing: a client's n-th job in flight gets BullMQ
 * priority n at every stage, so one client's 10,000 queued jobs do not hold another's first job.
 */
export async function acceptJob(
  deps: ApiDeps,
  spec: JobSpec,
  ctx: {
    id: string;
    clientId: string;
    log: Request['log'];
    /** the API request's id, kept on the job so every process logs it with the job id */
    reqId?: string;
    idempotency?: IdempotencyClaim;
  },
): Promise<{ record: JobRecord; replayOf?: string }> {
  const { config, lifecycle } = deps;
  const record = newRecord(deps, spec, ctx);
  const result = await lifecycle.accept(record, {
    cap: config.limits.jobsInFlight,
    fair: config.fairQueuing,
    ...(ctx.idempotency ? { idempotency: ctx.idempotency } : {}),
    keyterms: keytermMerge(spec.body, spec.kind),
  });
  if (result.outcome === 'full') throw tooManyInFlight(result.active, config.limits.jobsInFlight);
  if (result.outcome === 'replay') {
    return { record, replayOf: replayedId(result.stored, ctx.idempotency?.fingerprint ?? '') };
  }
  admitted(deps, record, result);
  await awaitReplicas(deps, record.id, ctx.log);
  logAccepted(record, spec, ctx.log);
  return { record };
}

/**
 * Records a batch and all its jobs, enqueued, in one atomic step (Lifecycle.acceptBatch): the client's cap of
 * jobs in flight is checked for the whole batch at once, the Idempotency-Key claimed with it, and a crash or a
 * refusal leaves no part of it. Returns the id of the batch to replay instead when the key was used before.
 */
export async function acceptBatch(
  deps: ApiDeps,
  specs: Array<{ id: string; spec: JobSpec }>,
  ctx: {
    clientId: string;
    log: Request['log'];
    reqId?: string;
    batch: { id: string; webhook_url: string | null; metadata: Record<string, unknown> | null };
    idempotency?: IdempotencyClaim | undefined;
  },
): Promise<{ records: JobRecord[]; replayOf?: string }> {
  const { config, lifecycle } = deps;
  const { batch } = ctx;
  const items = specs.map(({ id, spec }) => ({
    spec,
    record: newRecord(
      deps,
      // The batch's jobs have no webhook of their own: the batch.completed event reports them.
      { ...spec, body: { ...spec.body, webhook_url: undefined } },
      { id, clientId: ctx.clientId, batchId: batch.id, reqId: ctx.reqId },
    ),
    keyterms: keytermMerge(spec.body, spec.kind),
  }));
  const records = items.map((it) => it.record);
  const result = await lifecycle.acceptBatch(items, {
    cap: config.limits.jobsInFlight,
    fair: config.fairQueuing,
    idempotency: ctx.idempotency,
    batch: {
      id: batch.id,
      fields: batchFields({
        id: batch.id,
        client_id: ctx.clientId,
        total: items.length,
        webhook_url: batch.webhook_url,
        metadata: batch.metadata,
        created_at: records[0]?.created_at ?? new Date().toISOString(),
      }),
    },
  });
  if (result.outcome === 'full') throw tooManyInFlight(result.active, config.limits.jobsInFlight);
  if (result.outcome === 'replay')
    return { records, replayOf: replayedId(result.stored, ctx.idempotency?.fingerprint ?? '') };
  for (const [i, record] of records.entries())
    admitted(deps, record, {
      outcome: 'accepted',
      rank: result.ranks[i] ?? 0,
      transcriptOptions: result.transcriptOptions[i] ?? null,
    });
  await awaitReplicas(deps, records[0]?.id ?? '', ctx.log);
  for (const { record, spec } of items) logAccepted(record, spec, ctx.log);
  return { records };
}

/** A new job's record, as accept writes it (exported for the admission tests). */
export function newRecord(
  deps: ApiDeps,
  spec: JobSpec,
  ctx: { id: string; clientId: string; batchId?: string; reqId?: string | undefined },
): JobRecord {
  const { body, kind, file } = spec;
  const now = new Date().toISOString();
  return {
    id: ctx.id,
    client_id: ctx.clientId,
    req_id: ctx.reqId ?? null,
    trace_parent: currentTraceparent(),
    batch_id: ctx.batchId ?? null,
    mode: body.mode === 'interactive' ? 'interactive' : null,
    stream_reply:
      body.pipeline === 'voicebot' && (body.stream_reply ?? body.mode === 'interactive') ? true : null,
    retries: null,
    priority: null,
    status: 'queued',
    stage: firstStage(body.pipeline, kind),
    pipeline: body.pipeline,
    input_kind: kind,
    input_type: file?.mimetype ?? null,
    input_bytes: file?.size ?? null,
    source_url: body.audio_url ?? null,
    voice: body.voice ?? null,
    instructions: body.instructions ?? null,
    metadata: body.metadata ?? null,
    webhook_url: body.webhook_url ?? null,
    webhook: null,
    conversation_id: body.conversation_id ?? null,
    transcript: kind === 'text' && body.pipeline !== 'speak' ? (body.text ?? null) : null,
    reply_text: body.pipeline === 'speak' ? (body.text ?? null) : null,
    audio_key: null,
    language_hint: body.language ?? null,
    language: null,
    duration_seconds: null,
    artifacts: null,
    summary: null,
    transcript_options: null,
    transcription_model: null,
    warnings: null,
    speakers: null,
    redactions: null,
    no_speech: null,
    handled_at: null,
    error: null,
    provider: deps.config.simulator.enabled ? 'simulator' : 'openai',
    created_at: now,
    updated_at: now,
    finished_at: null,
    deleted_at: null,
  };
}

/** What the accept transition decided for an admitted job: its fair-queuing priority, its merged options. */
function admitted(deps: ApiDeps, record: JobRecord, result: AcceptResult): void {
  if (result.outcome !== 'accepted') throw new Error(`job ${record.id} was not admitted (${result.outcome})`);
  if (deps.config.fairQueuing) record.priority = Math.min(result.rank, MAX_PRIORITY);
  if (result.transcriptOptions) record.transcript_options = JSON.parse(result.transcriptOptions);
}

function logAccepted(record: JobRecord, spec: JobSpec, log: Request['log']): void {
  log.info(
    {
      job_id: record.id,
      client_id: record.client_id,
      input: spec.kind,
      pipeline: spec.body.pipeline,
      bytes: spec.file?.size,
      ...(record.batch_id ? { batch_id: record.batch_id } : {}),
    },
    'job accepted',
  );
}

/**
 * With REDIS_WAIT_REPLICAS > 0 the job's writes (record, queue entry, idempotency claim: all made on this
 * connection) must reach that many replicas before the client hears 202, so a failover right after the answer
 * cannot lose an acknowledged job. A shortfall within REDIS_WAIT_TIMEOUT_MS is logged and the job accepted.
 * A master with no replica connected at all (e.g. the one a failover just promoted) is not waited for during
 * the next 5 s: the timeout would be added to every request, and there is no replica to promote meanwhile.
 */
async function awaitReplicas(deps: ApiDeps, id: string, log: Request['log']): Promise<void> {
  const { replicas, timeoutMs } = deps.config.redisWait;
  if (replicas <= 0 || (noReplicaUntil.get(deps.redis) ?? 0) > Date.now()) return;
  const key = deps.store.key(id);
  const acked = await waitForReplicas(deps.redis, key, replicas, timeoutMs);
  if (acked >= replicas) return;
  const connected = await connectedReplicas(deps.redis, key).catch(() => undefined);
  if (connected === 0) noReplicaUntil.set(deps.redis, Date.now() + 5_000);
  log.warn(
    { job_id: id, acked, wanted: replicas, connected_replicas: connected },
    'job accepted before enough replicas acknowledged it',
  );
}
const noReplicaUntil = new WeakMap<object, number>();

/** BullMQ's highest priority number. */
const MAX_PRIORITY = 2_097_151;

/** POST /v1/jobs and POST /api/voicebot/: one job from the parsed request, idempotent with `Idempotency-Key`. */
export async function submitJob(
  deps: ApiDeps,
  req: Request,
): Promise<{ record: JobRecord; replayed: boolean }> {
  const body = parseOr400(createJobSchema(deps.config.limits.textChars), { ...(req.body ?? {}) }, 'job');
  const spec = await validateJob(deps, body, req.file, req.clientId);
  const id = uploadJobId(req);
  const idempotency = idempotencyClaim(deps, req, fingerprintOf(body, req.file), id);
  const { record, replayOf } = await acceptJob(deps, spec, {
    id,
    clientId: req.clientId,
    log: req.log,
    reqId: req.id,
    ...(idempotency ? { idempotency } : {}),
  });
  if (replayOf === undefined) return { record, replayed: false };
  await deps.storage.deletePrefix(keys.prefix(id));
  const original = await deps.store.get(replayOf);
  if (!original)
    throw new HttpError(409, 'request_in_progress', 'The request with this Idempotency-Key has expired.');
  return { record: original, replayed: true };
}
