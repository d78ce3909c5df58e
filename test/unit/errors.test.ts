import { UnrecoverableError } from 'bullmq';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import {
  classifyProviderError,
  PermanentError,
  RetryableError,
  retryAfterMs,
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
