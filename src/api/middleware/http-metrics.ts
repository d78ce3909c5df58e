import type { Request, RequestHandler } from 'express';
import { httpDuration } from '../../shared/metrics.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The route template a request matched (`/v1/jobs/:id`), never its raw path: label values stay bounded.
 * Mounted routers and static files report their mount point (`/admin/queues/*`); no match → `unmatched`.
 */
export function routeLabel(req: Request): string {
  const base = req.baseUrl ?? '';
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') return `${base}${path}` || '/';
  if (Array.isArray(path) && typeof path[0] === 'string') return `${base}${path[0]}`;
  return base ? `${base}/*` : 'unmatched';
}

/** Times every request: `voicebot_http_request_duration_seconds{method, route, status_class}`. */
export function httpMetrics(): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      httpDuration.observe(
        {
          method: METHODS.has(req.method) ? req.method : 'OTHER',
          route: routeLabel(req),
          status_class: `${Math.floor(res.statusCode / 100)}xx`,
        },
        (performance.now() - started) / 1000,
      );
    });
    next();
  };
}
