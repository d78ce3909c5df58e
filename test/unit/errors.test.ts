import { UnrecoverableError } from 'bullmq';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { toHttpError } from '../../src/api/middleware/problem.ts';
import {
  classifyProviderError,
  classifyStageError,
  isRedisUnavailable,
  PermanentError,
  RetryableError,
  retryAfterMs,
  StorageError,
} from '../../src/shared/errors.ts';

const apiError = (status: number, headers: Record<string, string> = {}) =>
  OpenAI.APIError.generate(
    status,
    { error: { message: `status ${status}` } },
    `status ${status}`,
    new Headers(headers),
  );

describe('classifyProviderError', () => {
  it.each([400, 401, 403, 404, 422])(
    '%i is permanent and fails the job at once (UnrecoverableError)',
    (status) => {
      const err = classifyProviderError(apiError(status), 'chat');
      expect(err).toBeInstanceOf(PermanentError);
      expect(err).toBeInstanceOf(UnrecoverableError);
      expect(err.message).toContain(String(status));
      expect(err.cause).toBeDefined();
    },
  );

  it.each([408, 409, 429, 500, 502, 503])('%i is retryable', (status) => {
    const err = classifyProviderError(apiError(status), 'speak');
    expect(err).toBeInstanceOf(RetryableError);
    expect(err).not.toBeInstanceOf(UnrecoverableError);
  });

  it('reads retry-after from a 429', () => {
    const err = classifyProviderError(apiError(429, { 'retry-after': '3' }), 'chat') as RetryableError;
    expect(err.code).toBe('rate_limited');
    expect(err.retryAfterMs).toBe(3000);
  });

  it('connection errors and timeouts are retryable', () => {
    expect(
      classifyProviderError(new OpenAI.APIConnectionError({ message: 'ECONNREFUSED' }), 'chat').code,
    ).toBe('provider_unreachable');
    expect(classifyProviderError(new OpenAI.APIConnectionTimeoutError(), 'chat').code).toBe(
      'provider_timeout',
    );
  });
});

describe('retryAfterMs', () => {
  it('prefers retry-after-ms, accepts seconds and HTTP dates', () => {
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' })).toBe(250);
    expect(retryAfterMs({ 'retry-after': '2' })).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5000);
    expect(retryAfterMs({})).toBeUndefined();
  });
});

describe('one classification of a Redis outage, for stages and the API', () => {
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });
  const outages = [
    named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 1).'),
    new Error('Connection is closed.'),
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    new Error('connect ECONNREFUSED 127.0.0.1:40123'),
    new Error("READONLY You can't write against a read only replica."),
    new Error('CLUSTERDOWN The cluster is down'),
  ];

  it.each(outages.map((e) => [e.message, e]))('%s: a stage retries it as redis_unavailable', (_m, err) => {
    expect(isRedisUnavailable(err)).toBe(true);
    const c = classifyStageError(err, 'chat');
    expect(c).toBeInstanceOf(RetryableError);
    expect(c.code).toBe('redis_unavailable');
  });

  it.each(outages.map((e) => [e.message, e]))('%s: the API answers 503 with Retry-After', (_m, err) => {
    const h = toHttpError(err, { uploadBytes: 1 });
    expect(h.status).toBe(503);
    expect(h.code).toBe('unavailable');
  });

  it('a store fault, a provider answer and a bug keep their own classes', () => {
    const storage = classifyStageError(new StorageError('put', new Error('ECONNREFUSED')), 'speak');
    expect(storage).toMatchObject({ code: 'storage_unavailable' });
    expect(storage).toBeInstanceOf(RetryableError);
    expect(classifyStageError(apiError(400), 'chat')).toBeInstanceOf(PermanentError);
    const bug = classifyStageError(new TypeError('x is not a function'), 'chat');
    expect(bug).toBeInstanceOf(PermanentError);
    expect(bug.code).toBe('internal');
    expect(toHttpError(new TypeError('x is not a function'), { uploadBytes: 1 }).status).toBe(500);
  });
});
