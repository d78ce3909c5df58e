/**
 * How answers are written in the OpenAPI document: `json(schema)` content, `problem(description)` for an
 * error (always `application/problem+json`), and `ERRORS`, what each error status means wherever it is
 * answered. A route lists the statuses it answers itself; those every request can get and those of the
 * client guard are added by the document from its `access`.
 */
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { problemSchema } from '../shared/view-schemas.ts';

export type ResponseSpec = NonNullable<RouteConfig['responses']>[string];

export const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
});

/** What each error status means, wherever it is answered. */
export const ERRORS = {
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
export type ErrorStatus = keyof typeof ERRORS;

/** Statuses any request can get, before it reaches a route. */
export const TRANSPORT_ERRORS: ErrorStatus[] = [408, 431];
/** Statuses of the client guard (authenticate, rate limit) in front of every client route. */
export const CLIENT_ERRORS: ErrorStatus[] = [400, 401, 429, 503];
