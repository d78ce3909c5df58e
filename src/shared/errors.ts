/**
 * Errors, classified in one place.
 * - `HttpError`: what a client did wrong (4xx) or a fault we own (5xx); rendered as RFC 9457 problem+json.
 * - `PermanentError`: a stage failure retrying cannot fix; extends BullMQ's UnrecoverableError so the job
 *   fails at once. Everything else a stage throws is retried by BullMQ (the one retry layer).
 * - `classifyProviderError`: maps what the openai SDK throws onto those two.
 */
import { UnrecoverableError } from 'bullmq';

export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;
  constructor(
    status: number,
    code: string,
    message: string,
    opts: { cause?: unknown; headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: opts.cause });
    this.status = status;
    this.code = code;
    this.headers = opts.headers ?? {};
    this.extra = opts.extra ?? {};
  }
}

export const badRequest = (message: string, extra?: Record<string, unknown>) =>
  new HttpError(400, 'bad_request', message, { extra });
export const notFound = (message = 'No such resource.') => new HttpError(404, 'not_found', message);
export const unavailable = (message: string, cause?: unknown) =>
  new HttpError(503, 'unavailable', message, { cause, headers: { 'Retry-After': '5' } });

/** A stage error that retrying cannot fix: the job fails now, with a code and message a person can act on. */
export class PermanentError extends UnrecoverableError {
  override name = 'PermanentError';
  readonly code: string;
  constructor(code: string, message: string, opts: { cause?: unknown } = {}) {
    super(message);
    this.code = code;
    if (opts.cause !== undefined) this.cause = opts.cause;
  }
}

/** A retryable provider failure; `retryAfterMs` is set when the provider said how long to wait (429). */
export class RetryableError extends Error {
  override name = 'RetryableError';
  readonly code: string;
  readonly retryAfterMs: number | undefined;
  constructor(code: string, message: string, opts: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** A fault of the object store (S3 or the local directory): retried, reported as `storage_unavailable`. */
export class StorageError extends Error {
  override name = 'StorageError';
  readonly operation: string;
  constructor(operation: string, cause: unknown) {
    super(`storage ${operation} failed: ${(cause as Error)?.message ?? String(cause)}`.slice(0, 500), {
      cause,
    });
    this.operation = operation;
  }
}

/**
 * Errors a client's input causes, wherever they are found (intake or a stage): one list, so the API answers
 * them with 4xx (422 on the legacy endpoint) and never as a fault of ours.
 */
export const INPUT_ERROR_CODES: ReadonlySet<string> = new Set([
  'missing_input',
  'unreadable_audio',
  'audio_too_long',
  'audio_too_large',
  'audio_url_refused',
  'unsupported_media_type',
  'no_speech',
  'provider_rejected',
  'input_not_accepted',
]);

/** Error class labels for metrics and job errors. */
export type ErrorClass = 'rate_limited' | 'server' | 'client' | 'timeout' | 'connection' | 'canceled';

interface StatusLike {
  status?: number;
  headers?: Headers | Record<string, string | null | undefined>;
  name?: string;
  message?: string;
}

function header(headers: StatusLike['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  return (headers as Record<string, string | undefined>)[name] ?? undefined;
}

/** Reads `retry-after-ms` or `retry-after` (seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(headers: StatusLike['headers'], now = Date.now()): number | undefined {
  const ms = Number(header(headers, 'retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = header(headers, 'retry-after');
  if (!raw) return undefined;
  const secs = Number(raw);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

const PERMANENT_STATUSES = new Set([400, 401, 403, 404, 413, 415, 422]);

/**
 * Maps a provider (openai SDK) error onto PermanentError or RetryableError:
 * 400/401/403/404/413/415/422 permanent; 408/409/429/5xx, connection errors and timeouts retryable.
 */
export function classifyProviderError(err: unknown, stage: string): PermanentError | RetryableError {
  if (err instanceof PermanentError || err instanceof RetryableError) return err;
  const e = (err ?? {}) as StatusLike;
  const status = typeof e.status === 'number' ? e.status : undefined;
  const detail = (e.message ?? String(err)).slice(0, 500);
  if (status !== undefined && PERMANENT_STATUSES.has(status)) {
    const code = status === 401 || status === 403 ? 'provider_auth' : 'provider_rejected';
    return new PermanentError(code, `The ${stage} provider rejected the request (${status}): ${detail}`, {
      cause: err,
    });
  }
  if (status === 429) {
    return new RetryableError('rate_limited', `The ${stage} provider is rate limiting (429)`, {
      cause: err,
      retryAfterMs: retryAfterMs(e.headers),
    });
  }
  if (status !== undefined && status >= 500) {
    return new RetryableError(
      'provider_server_error',
      `The ${stage} provider failed (${status}): ${detail}`,
      {
        cause: err,
      },
    );
  }
  if (status === 408 || status === 409) {
    return new RetryableError('provider_conflict', `The ${stage} provider answered ${status}`, {
      cause: err,
    });
  }
  if (e.name === 'APIConnectionTimeoutError' || e.name === 'TimeoutError' || /timed? ?out/i.test(detail)) {
    return new RetryableError('provider_timeout', `The ${stage} provider timed out`, { cause: err });
  }
  return new RetryableError('provider_unreachable', `The ${stage} provider could not be reached: ${detail}`, {
    cause: err,
  });
}

/** Was this thrown by the openai SDK (an HTTP answer, a timeout or a connection failure)? */
function isProviderError(err: unknown): boolean {
  const e = err as { constructor?: { name?: string }; status?: unknown };
  let proto = err && typeof err === 'object' ? Object.getPrototypeOf(err) : null;
  while (proto) {
    if (proto.constructor?.name === 'OpenAIError') return true;
    proto = Object.getPrototypeOf(proto);
  }
  return typeof e?.status === 'number';
}

/**
 * Classifies whatever a stage threw, once, where the stage runner catches it: our own classified errors as they
 * are; the provider's (openai SDK) through `classifyProviderError`; storage faults and Redis outages as
 * retryable faults of their own; anything else is a bug — `internal`, permanent (retrying a bug does not fix it).
 */
export function classifyStageError(err: unknown, stage: string): PermanentError | RetryableError {
  if (err instanceof PermanentError || err instanceof RetryableError) return err;
  if (err instanceof StorageError) {
    return new RetryableError('storage_unavailable', `The object store failed during ${stage}.`, {
      cause: err,
    });
  }
  if (isProviderError(err)) return classifyProviderError(err, stage);
  if (isRedisUnavailable(err)) {
    return new RetryableError('redis_unavailable', `Redis could not be reached during ${stage}.`, {
      cause: err,
    });
  }
  return new PermanentError('internal', `An internal error stopped the ${stage} stage.`, { cause: err });
}

/**
 * Redis is away, not a bug: ioredis failing fast (no offline queue) or timing out, a connection refused or
 * reset, a replica answering READONLY after a failover, or a Redis Cluster mid-failover. The API answers it
 * with 503 and a stage retries it (`redis_unavailable`). Storage and provider faults are told apart before this.
 */
export function isRedisUnavailable(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return (
    e?.name === 'MaxRetriesPerRequestError' ||
    /enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|connect ETIMEDOUT|Redis not reachable|Command aborted due to connection close|READONLY|CLUSTERDOWN|Too many Cluster redirections|Cluster isn't ready|Failed to refresh slots cache/i.test(
      e?.message ?? '',
    )
  );
}

/** The label a metric or log line uses for an error. */
export function errorClass(err: unknown): ErrorClass {
  if (err instanceof RetryableError) {
    if (err.code === 'rate_limited') return 'rate_limited';
    if (err.code === 'provider_timeout') return 'timeout';
    if (err.code === 'provider_server_error') return 'server';
    return 'connection';
  }
  return 'client';
}
