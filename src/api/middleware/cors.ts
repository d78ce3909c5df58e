import cors from 'cors';
import type { RequestHandler } from 'express';

/**
 * CORS from an allowlist (`CORS_ORIGINS`). Unset: no CORS headers at all — the web page is same-origin and
 * needs none. `*` allows any origin but never with credentials; named origins may send credentials.
 */
export function corsFromAllowlist(origins: string[]): RequestHandler {
  if (origins.length === 0) return (_req, _res, next) => next();
  const any = origins.includes('*');
  return cors({
    origin: any ? '*' : origins,
    credentials: !any,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID', 'X-Request-Id'],
    exposedHeaders: [
      'Location',
      'Retry-After',
      'RateLimit',
      'RateLimit-Policy',
      'Idempotent-Replayed',
      'X-Request-Id',
    ],
    maxAge: 600,
  });
}
