/**
 * The OpenAPI 3.1 document (`GET /openapi.json`), generated from the same zod schemas that validate requests
 * (src/api/job-schemas.ts, the routes' query schemas) and that describe responses (src/shared/view-schemas.ts).
 * `OPENAPI_ROUTES` lists every route the app registers; test/integration/operators.test.ts checks it against
 * the express router and validates real responses against this document, and test/integration/openapi-lint
 * .test.ts lints it (Redocly's recommended rules) and type-checks a client generated from it.
 *
 * One table, `operations()`, describes every operation: its operationId (a generated client's method name),
 * who may call it (`access`), and the error statuses it really answers (`errors`, described once in
 * `ERRORS`). Statuses every route can give (a stalled body, oversized headers) and those of the client
 * middleware (auth, rate limit, Redis) are added from `access`, so a route lists only its own.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { Config } from '../shared/config.ts';
import { ACTIVE_STATUSES } from '../shared/job-states.ts';
import { PIPELINE_NAMES } from '../shared/pipelines.ts';
import { DELIVER_QUEUE, STAGES } from '../shared/queue-registry.ts';
import { batchViewSchema, jobListSchema, jobViewSchema, problemSchema } from '../shared/view-schemas.ts';
import { createJobSchema } from './job-schemas.ts';
import { adminRetryFilterSchema, retryFilterSchema, retrySummarySchema } from './retry-jobs.ts';
import { batchSchema } from './routes/create-batch.ts';
import { querySchema as batchQuerySchema } from './routes/get-batch.ts';
import { querySchema as listQuerySchema } from './routes/list-jobs.ts';
import { updateJobSchema } from './routes/update-job.ts';

const jobId = z.object({ id: z.uuid().describe('The job id') });
const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
});
type ResponseSpec = NonNullable<RouteConfig['responses']>[string];
const idempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('Same key and client within 24 h → the original answer (a different body → 409)'),
});

/** Multipart fields of a job: the options travel as strings (metadata as a JSON string). */
const multipartOptions = {
  pipeline: z.enum(PIPELINE_NAMES).optional(),
  voice: z.string().optional(),
  instructions: z.string().optional(),
  metadata: z.string().optional().describe('A JSON object, as text'),
  conversation_id: z.string().optional(),
  language: z.string().optional(),
  webhook_url: z.url().optional(),
};
const audioFile = z
  .string()
  .meta({ format: 'binary', description: 'The audio file (its type is read from the bytes)' });

const healthSchema = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });
const readySchema = z
  .strictObject({
    status: z.enum(['ok', 'unavailable']),
    checks: z.strictObject({
      redis: z.enum(['ok', 'unavailable']),
      storage: z.enum(['ok', 'unavailable']),
      workers: z
        .record(z.enum([...STAGES, DELIVER_QUEUE]), z.number().int().nullable())
        .describe('Worker connections per queue, across every process (null: could not be read)'),
    }),
    without_workers: z.array(z.string()).optional(),
  })
  .meta({ id: 'Readiness' });
const legacyResult = z
  .strictObject({ output_wav_url: z.url().nullable(), return_text: z.string() })
  .meta({ id: 'VoicebotResult' });
const legacyAccepted = z
  .strictObject({
    id: z.uuid(),
    status: z.enum(ACTIVE_STATUSES),
    status_url: z.string(),
    output_wav_url: z.null(),
    return_text: z.null(),
  })
  .meta({ id: 'VoicebotAccepted' });
const redeliverAccepted = z
  .strictObject({ id: z.uuid(), webhook: z.strictObject({ status: z.literal('pending') }) })
  .meta({ id: 'RedeliveryAccepted' });

/** Every route the app serves, as `METHOD /express/path` (kept next to the document it must match). */
export const OPENAPI_ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /openapi.json',
  'GET /docs',
  'GET /files/*key',
  'POST /v1/jobs',
  'GET /v1/jobs',
  'GET /v1/jobs/:id',
  'DELETE /v1/jobs/:id',
  'PATCH /v1/jobs/:id',
  'GET /v1/jobs/:id/events',
  'POST /v1/jobs/:id/webhook/redeliver',
  'POST /v1/jobs/:id/retry',
  'POST /v1/jobs/retry',
  'POST /admin/jobs/retry',
  'POST /v1/batches',
  'GET /v1/batches/:id',
  'POST /api/voicebot',
  'POST /api/voicebot/',
] as const;

/** `/v1/jobs/:id` → `/v1/jobs/{id}`, `/files/*key` → `/files/{key}`. */
export const toOpenApiPath = (path: string) => path.replace(/[:*](\w+)/g, '{$1}');

/** What each error status means, wherever it is answered. */
const ERRORS = {
  400: problem('Invalid request: the problem names every bad field'),
  401: problem('Missing or invalid API key'),
  403: problem('Invalid, tampered or expired link'),
  404: problem('No such resource (or another client’s)'),
  408: problem('The request body stalled for BODY_IDLE_TIMEOUT_MS and was cut off'),
  409: problem('The Idempotency-Key was used with a different body, or its request is still running'),
  413: problem('The upload is larger than MAX_UPLOAD_BYTES'),
  415: problem('Not audio we can process, or an unsupported content type'),
  422: problem('audio_url or webhook_url refused (not a public address)'),
  429: problem('Rate limited (RATE_LIMIT_RPM) or too many jobs in flight; see Retry-After'),
  431: { description: 'Request headers larger than 16 KB (answered by Node’s HTTP parser, no body)' },
  503: problem('Redis is unavailable; retry shortly'),
} satisfies Record<number, ResponseSpec>;
type ErrorStatus = keyof typeof ERRORS;

/** Who may call an operation: anyone, an API client (Bearer key; rate limited), Prometheus, or an operator. */
type Access = 'public' | 'client' | 'metrics' | 'admin';
/** Statuses any request can get, before it reaches a route. */
const TRANSPORT_ERRORS: ErrorStatus[] = [408, 431];
/** Statuses of the client middleware (authenticate, rate limit) in front of every /v1 and /api route. */
const CLIENT_ERRORS: ErrorStatus[] = [400, 401, 429, 503];

interface Operation extends Omit<RouteConfig, 'security' | 'responses' | 'operationId'> {
  operationId: string;
  access: Access;
  /** The success answers, and error answers whose description is specific to this operation. */
  responses: Record<number, ResponseSpec>;
  /** Error statuses this operation answers (described by `ERRORS`). */
  errors?: ErrorStatus[];
}

export function buildOpenApiDocument(config: Config): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  const apiKey = registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key from `voicebot keys create`. While no key exists the API runs open (every request acts for the "public" client).',
  });
  const metricsToken = registry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'METRICS_TOKEN, when set',
  });
  const adminToken = registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN (also accepted as the basic-auth password, any user name)',
  });
  const security: Record<Access, RouteConfig['security']> = {
    public: [],
    client: [{ [apiKey.name]: [] }],
    metrics: [{ [metricsToken.name]: [] }, {}],
    admin: [{ [adminToken.name]: [] }],
  };
  for (const op of operations(config)) {
    const { access, errors = [], responses, ...route } = op;
    const statuses = new Set([...errors, ...(access === 'client' ? CLIENT_ERRORS : []), ...TRANSPORT_ERRORS]);
    const all: Record<string, ResponseSpec> = {};
    for (const status of [...statuses].sort()) all[status] = ERRORS[status];
    Object.assign(all, responses);
    registry.registerPath({ ...route, security: security[access], responses: sortByStatus(all) });
  }

  const generator = new OpenApiGeneratorV31(registry.definitions, { sortComponents: 'alphabetically' });
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'voicebot API',
      version: '1',
      license: { name: 'ISC', identifier: 'ISC' },
      description:
        'A queue-driven voice AI service: voice (or text) in; transcript, reply and spoken reply out. Every error is `application/problem+json`.',
    },
    // Without PUBLIC_URL the API answers on whatever host it was reached by: the document's own origin.
    servers: [{ url: config.publicUrlFromRequest ? '/' : config.publicUrl }],
    tags: [
      { name: 'jobs', description: 'Submit one voice or text job, follow it, cancel it, resend its webhook' },
      {
        name: 'batches',
        description: 'Many jobs in one request, counted together; one webhook when all end',
      },
      {
        name: 'voicebot (synchronous)',
        description: 'The original contract: one request that waits for the spoken reply',
      },
      { name: 'files', description: 'Signed, expiring downloads of stored files (local storage)' },
      { name: 'operations', description: 'Health, readiness, metrics and this reference, for operators' },
    ],
  }) as unknown as Record<string, unknown>;
}

const sortByStatus = (r: Record<string, ResponseSpec>) =>
  Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));

/** Every operation of the API, in the order of the document. */
function operations(config: Config): Operation[] {
  const jobBody = createJobSchema(config.limits.textChars);
  const jobRequest = {
    body: {
      required: true,
      content: {
        'application/json': { schema: jobBody },
        'multipart/form-data': {
          schema: z.object({ audio: audioFile.optional(), text: z.string().optional(), ...multipartOptions }),
        },
        'application/x-www-form-urlencoded': {
          schema: z.object({ text: z.string(), ...multipartOptions }),
        },
      },
    },
    headers: idempotencyHeader,
  };
  const submitErrors: ErrorStatus[] = [409, 413, 415, 422];
  const legacy = (path: string, operationId: string, summary: string): Operation => ({
    method: 'post',
    path,
    operationId,
    access: 'client',
    tags: ['voicebot (synchronous)'],
    summary,
    description: `Answers once the job is done, or after SYNC_WAIT_SECONDS (${config.syncWaitMs / 1000} s) with 202 and the job's status URL.`,
    request: jobRequest,
    errors: submitErrors,
    responses: {
      200: { description: 'The spoken reply and its text', content: json(legacyResult) },
      202: { description: 'Still running: poll status_url', content: json(legacyAccepted) },
      422: problem('The input could not be processed (no speech, rejected by the provider, invalid audio)'),
      502: problem('The job failed for another reason'),
    },
  });
  return [
    {
      method: 'get',
      path: '/healthz',
      operationId: 'getHealth',
      access: 'public',
      tags: ['operations'],
      summary: 'Liveness: the process is up',
      responses: { 200: { description: 'Up', content: json(healthSchema) } },
    },
    {
      method: 'get',
      path: '/readyz',
      operationId: 'getReadiness',
      access: 'public',
      tags: ['operations'],
      summary: 'Readiness: Redis and storage answer; worker connections per queue',
      description:
        'A queue without workers makes the API not ready only with READY_REQUIRES_WORKERS=true (workers may run elsewhere).',
      responses: {
        200: { description: 'Ready', content: json(readySchema) },
        503: { description: 'Not ready: the checks say what is missing', content: json(readySchema) },
      },
    },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'getMetrics',
      access: 'metrics',
      tags: ['operations'],
      summary: 'Prometheus metrics (text exposition format)',
      responses: {
        200: { description: 'Metrics', content: { 'text/plain': { schema: z.string() } } },
        401: problem('METRICS_TOKEN is set and was not sent'),
      },
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'getOpenApiDocument',
      access: 'public',
      tags: ['operations'],
      summary: 'This document',
      responses: { 200: { description: 'OpenAPI 3.1', content: json(z.record(z.string(), z.unknown())) } },
    },
    {
      method: 'get',
      path: '/docs',
      operationId: 'getApiReference',
      access: 'public',
      tags: ['operations'],
      summary: 'The API reference, rendered (Swagger UI)',
      responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
    },
    {
      method: 'get',
      path: '/files/{key}',
      operationId: 'getFile',
      access: 'public',
      tags: ['files'],
      summary: 'Download a stored file through a signed, expiring link (local storage)',
      description:
        'The links come from a job (`audio_url`, `artifacts`); the signature is the access control. `key` may contain slashes.',
      request: {
        params: z.object({ key: z.string() }),
        query: z.object({ expires: z.coerce.number().int(), sig: z.string() }),
      },
      errors: [403],
      responses: {
        200: { description: 'The file', content: { 'application/octet-stream': { schema: audioFile } } },
        404: problem('The file no longer exists (or storage is S3)'),
      },
    },
    {
      method: 'post',
      path: '/v1/jobs',
      operationId: 'createJob',
      access: 'client',
      tags: ['jobs'],
      summary: 'Submit a job: an audio file, an audio_url or text',
      request: jobRequest,
      errors: submitErrors,
      responses: {
        202: {
          description: 'Accepted and queued (or, with a replayed Idempotency-Key, the original job)',
          headers: z.object({ location: z.string(), 'idempotent-replayed': z.literal('true').optional() }),
          content: json(jobViewSchema),
        },
      },
    },
    {
      method: 'get',
      path: '/v1/jobs',
      operationId: 'listJobs',
      access: 'client',
      tags: ['jobs'],
      summary: 'List your jobs, newest first (a batch’s in item order)',
      request: { query: listQuerySchema },
      responses: { 200: { description: 'One page', content: json(jobListSchema) } },
    },
    {
      method: 'get',
      path: '/v1/jobs/{id}',
      operationId: 'getJob',
      access: 'client',
      tags: ['jobs'],
      summary: 'A job: status, transcript, reply, fresh presigned audio_url',
      request: { params: jobId },
      errors: [404],
      responses: { 200: { description: 'The job', content: json(jobViewSchema) } },
    },
    {
      method: 'patch',
      path: '/v1/jobs/{id}',
      operationId: 'updateJob',
      access: 'client',
      tags: ['jobs'],
      summary: 'Mark a job (a voicemail) handled or unhandled',
      request: { params: jobId, body: { required: true, content: json(updateJobSchema) } },
      errors: [400, 404],
      responses: { 200: { description: 'The job', content: json(jobViewSchema) } },
    },
    {
      method: 'delete',
      path: '/v1/jobs/{id}',
      operationId: 'cancelJob',
      access: 'client',
      tags: ['jobs'],
      summary: 'Cancel a queued or running job; on a finished job, delete its stored files',
      description:
        'On a finished job the record is marked deleted first (`deleted_at` set, outputs removed) and its stored input and outputs are deleted after; the record stays until its retention ends. Repeating the request is safe: a delete that was cut short answers as deleted and its files are deleted by the next DELETE or by the maintenance sweep.',
      request: { params: jobId },
      errors: [404],
      responses: {
        200: { description: 'The job after cancellation or deletion', content: json(jobViewSchema) },
      },
    },
    {
      method: 'get',
      path: '/v1/jobs/{id}/events',
      operationId: 'getJobEvents',
      access: 'client',
      tags: ['jobs'],
      summary: 'Live Server-Sent Events of a job (replayed from the start or after Last-Event-ID)',
      description:
        'Events: job.queued, stage.started, stage.completed, stage.retrying, then job.succeeded / job.failed / job.canceled (and job.retried when an ended job is retried). A job with stream_reply also sends reply.delta {seq, text} (the reply as it is written) and speech.segment {index, text, url, url_expires_at, content_type} (each sentence once spoken, in order; a retried stage may announce an index again). EventSource cannot send headers: pass the API key as `access_token`.',
      request: {
        params: jobId,
        query: z.object({ access_token: z.string().optional(), last_event_id: z.string().optional() }),
        headers: z.object({ 'last-event-id': z.string().optional() }),
      },
      errors: [404],
      responses: {
        200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
      },
    },
    {
      method: 'post',
      path: '/v1/jobs/{id}/webhook/redeliver',
      operationId: 'redeliverJobWebhook',
      access: 'client',
      tags: ['jobs'],
      summary: 'Send a finished job’s webhook again (same webhook-id)',
      request: { params: jobId },
      errors: [404],
      responses: {
        202: { description: 'Queued for delivery', content: json(redeliverAccepted) },
        409: problem('The job has no webhook_url, or has not ended yet'),
      },
    },
    {
      method: 'post',
      path: '/v1/jobs/{id}/retry',
      operationId: 'retryJob',
      access: 'client',
      tags: ['jobs'],
      summary: 'Resume a failed or canceled job at the stage it ended in',
      description:
        'The job is re-opened as a new run (`attempt` + 1, `job.retried` event): every stage it completed keeps its output and is not run (nor paid) again. Its terminal webhook for the new run has its own webhook-id (suffix `_r<attempt>`). Counts against MAX_JOBS_IN_FLIGHT.',
      request: { params: jobId },
      errors: [404],
      responses: {
        202: {
          description: 'Re-opened and queued at its stage',
          headers: z.object({ location: z.string() }),
          content: json(jobViewSchema),
        },
        409: problem('The job is not failed or canceled (e.g. already retried), or its files were deleted'),
        429: problem('You have MAX_JOBS_IN_FLIGHT jobs in flight (nothing changed), or rate limited'),
      },
    },
    {
      method: 'post',
      path: '/v1/jobs/retry',
      operationId: 'retryJobs',
      access: 'client',
      tags: ['jobs'],
      summary: 'Resume every one of your ended jobs that matches a filter (e.g. after a provider outage)',
      description:
        'Each matching job is re-opened as POST /v1/jobs/{id}/retry does, oldest ended first, until `limit` or your cap of jobs in flight (`cap_reached`: run again once jobs have ended).',
      request: { body: { required: false, content: json(retryFilterSchema) } },
      responses: { 200: { description: 'How many were re-opened', content: json(retrySummarySchema) } },
    },
    {
      method: 'post',
      path: '/admin/jobs/retry',
      operationId: 'adminRetryJobs',
      access: 'admin',
      tags: ['operations'],
      summary: 'Resume ended jobs of every client (or one) that match a filter',
      description: 'As POST /v1/jobs/retry, across clients; each client’s cap of jobs in flight still holds.',
      request: { body: { required: false, content: json(adminRetryFilterSchema) } },
      errors: [400],
      responses: {
        200: { description: 'How many were re-opened', content: json(retrySummarySchema) },
        401: problem('ADMIN_TOKEN was not sent'),
        403: problem('No ADMIN_TOKEN is set (outside development): the admin routes are disabled'),
      },
    },
    {
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
      errors: submitErrors,
      responses: {
        202: {
          description: 'Accepted; one batch.completed webhook follows once every item has ended',
          headers: z.object({ location: z.string() }),
          content: json(batchViewSchema),
        },
      },
    },
    {
      method: 'get',
      path: '/v1/batches/{id}',
      operationId: 'getBatch',
      access: 'client',
      tags: ['batches'],
      summary: 'A batch: counts per status and a page of its items',
      request: { params: z.object({ id: z.uuid() }), query: batchQuerySchema },
      errors: [404],
      responses: { 200: { description: 'The batch', content: json(batchViewSchema) } },
    },
    legacy('/api/voicebot/', 'voicebot', 'The original synchronous contract: waits for the job'),
    legacy('/api/voicebot', 'voicebotWithoutSlash', 'Same as /api/voicebot/'),
  ];
}
