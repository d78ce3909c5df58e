/**
 * The guard in front of each kind of operation, chosen by the route's declared `access` (src/api/route.ts):
 * what a route says about who may call it is what the app enforces.
 *
 * - `public`: nothing.
 * - `client`: no-store, the API key (unless no key exists) and the per-client rate limit — mounted on the
 *   path prefixes of the client routes (`/v1`, `/api`), so that an unknown path there is authenticated and
 *   counted like a known one.
 * - `metrics`: METRICS_TOKEN as a Bearer token, when it is set.
 * - `admin`: ADMIN_TOKEN (Bearer, or the basic-auth password).
 */
import type { RequestHandler } from 'express';
import { HttpError } from '../shared/errors.ts';
import { metricsAuthorized } from '../shared/metrics.ts';
import type { ApiDeps } from './deps.ts';
import { adminAuth } from './middleware/admin-auth.ts';
import { authenticate } from './middleware/auth.ts';
import { rateLimitPerClient } from './middleware/rate-limit.ts';
import type { Access } from './route.ts';

/** Job data is personal (voices, transcripts, callback numbers): no cache keeps it. */
const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

function metricsGuard(token: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (!metricsAuthorized(req.get('authorization'), token))
      throw new HttpError(401, 'unauthorized', 'Send METRICS_TOKEN as "Authorization: Bearer <token>".', {
        headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
      });
    next();
  };
}

export function accessGuards(deps: ApiDeps): Record<Access, RequestHandler[]> {
  const { config } = deps;
  return {
    public: [],
    client: [
      noStore,
      authenticate(deps.keys, deps.log, { allowOpen: config.auth.allowOpen }),
      rateLimitPerClient(deps.redis, config.prefix, config.limits.requestsPerMinute),
    ],
    metrics: [metricsGuard(config.metrics.token)],
    admin: [adminAuth({ token: config.admin.token, env: config.env })],
  };
}
