/**
 * What operators use, mounted on the API: `/metrics` (Prometheus), `/openapi.json` and `/docs` (the API
 * reference, Swagger UI served from the installed package — no CDN), and the queue dashboard at
 * `/admin/queues` (Bull Board, behind ADMIN_TOKEN).
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type RequestHandler } from 'express';
import { HttpError } from '../shared/errors.ts';
import { metricsAuthorized, metricsText, watchQueues, watchRetention } from '../shared/metrics.ts';
import { STAGES } from '../shared/queue-registry.ts';
import { boardStageRetries, STAGE_QUEUE_DESCRIPTION } from './board-retries.ts';
import type { ApiDeps } from './deps.ts';
import { jsonBody } from './json-body.ts';
import { adminAuth } from './middleware/admin-auth.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { adminRetryFilterSchema, retryMatching } from './retry-jobs.ts';
import { parseOr400 } from './validate.ts';

export const ADMIN_PATH = '/admin/queues';

const isStageQueue = (name: string) => (STAGES as readonly string[]).includes(name);

const require = createRequire(import.meta.url);
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const DOCS_DIR = join(import.meta.dirname, 'docs');

/** The dashboard's relaxed policy (scoped to ADMIN_PATH): inline styles and <base href>; scripts stay 'self'. */
const ADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_ASSETS = new Set(['/swagger-ui.css', '/swagger-ui-bundle.js', '/favicon-32x32.png']);

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>voicebot API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

/** `GET /metrics`: the registry; with METRICS_TOKEN set, `Authorization: Bearer <token>` is required. */
export function metricsEndpoint(token: string | undefined): RequestHandler {
  return async (req, res) => {
    if (!metricsAuthorized(req.get('authorization'), token))
      throw new HttpError(401, 'unauthorized', 'Send METRICS_TOKEN as "Authorization: Bearer <token>".', {
        headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
      });
    const { contentType, body } = await metricsText();
    res.set('Cache-Control', 'no-store').type(contentType).send(body);
  };
}

/**
 * Production without METRICS_TOKEN (or ALLOW_PUBLIC_METRICS): the public port does not serve /metrics — its
 * per-client usage and cost are for operators — and says where it is instead.
 */
function metricsNotPublic(port: number): RequestHandler {
  return () => {
    throw new HttpError(
      404,
      'metrics_not_public',
      port > 0
        ? `Metrics are served on the internal metrics port (${port}), not here: set METRICS_TOKEN to scrape this port with a token.`
        : 'Metrics are not served on this port: set METRICS_TOKEN to scrape it with a token, or METRICS_PORT for an internal port.',
    );
  };
}

/**
 * Mounts the operator routes on `app` (before the API-key middleware: they have their own protection).
 * Queue depth on /metrics and the dashboard read every queue through handles on the API's connection.
 */
export function mountOperatorRoutes(app: express.Express, deps: ApiDeps): void {
  const { config } = deps;
  const queues = deps.queues.all;
  watchQueues(queues, deps.redis);
  watchRetention(async () => {
    const oldest = await deps.store.oldestFinishedAt();
    if (oldest === undefined) return 0;
    return Math.max(0, (Date.now() - oldest) / 1000 - config.retentionSeconds);
  });

  app.get(
    '/metrics',
    config.metrics.publicPort === 'internal'
      ? metricsNotPublic(config.metrics.port)
      : metricsEndpoint(config.metrics.token),
  );

  const document = buildOpenApiDocument(config);
  app.get('/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(document);
  });
  app.get('/docs', (_req, res) => {
    res.type('html').set('Cache-Control', 'no-cache').send(DOCS_PAGE);
  });
  // Only the files the page loads (not the package's demo index.html pointing at the petstore).
  const ownAssets = express.static(DOCS_DIR, { index: false });
  const uiAssets = express.static(SWAGGER_UI_DIR, { index: false });
  app.use('/docs', (req, res, next) => {
    if (req.path === '/init.js') return ownAssets(req, res, next);
    if (DOCS_ASSETS.has(req.path)) return uiAssets(req, res, next);
    next();
  });

  const board = new ExpressAdapter();
  board.setBasePath(ADMIN_PATH);
  createBullBoard({
    queues: queues.map(
      (q) =>
        new BullMQAdapter(q, {
          readOnlyMode: config.admin.readOnly,
          allowRetries: !config.admin.readOnly,
          ...(isStageQueue(q.name) ? { description: STAGE_QUEUE_DESCRIPTION } : {}),
        }),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'voicebot', hideDocsLink: true } },
  });
  const admin = adminAuth({ token: config.admin.token, env: config.env });
  app.post('/admin/jobs/retry', admin, jsonBody('4kb'), async (req, res) => {
    const filter = parseOr400(adminRetryFilterSchema, req.body ?? {}, 'body');
    const summary = await retryMatching(deps, filter);
    deps.log.info({ filter, ...summary }, 'failed jobs retried by an operator');
    res.set('Cache-Control', 'no-store').json(summary);
  });
  app.use(
    ADMIN_PATH,
    admin,
    (_req, res, next) => {
      // The dashboard is an operator page: never cached, never framed, never indexed. Its UI needs a
      // <base href> and inline styles, so its CSP allows those (still no inline or foreign script).
      res.set({
        'Cache-Control': 'no-store',
        'X-Robots-Tag': 'noindex',
        'Content-Security-Policy': ADMIN_CSP,
      });
      next();
    },
    // Retry on a stage queue goes through the job lifecycle (see board-retries.ts).
    boardStageRetries(deps, config),
    board.getRouter() as RequestHandler,
  );
}
