/**
 * What operators use on the API besides its operations (src/api/routes/): the queue dashboard at
 * `/admin/queues` (Bull Board, behind ADMIN_TOKEN), the scripts and styles of the `/docs` page (Swagger UI
 * served from the installed package — no CDN), and the queue and retention gauges /metrics reports.
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type RequestHandler } from 'express';
import { watchQueues, watchRetention } from '../shared/metrics.ts';
import { STAGES } from '../shared/pipelines.ts';
import { boardStageRetries, STAGE_QUEUE_DESCRIPTION } from './board-retries.ts';
import type { ApiDeps } from './deps.ts';
import { adminAuth } from './middleware/admin-auth.ts';

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

/**
 * Mounts the operator pages on `app` (before the API-key middleware: they have their own protection).
 * Queue depth on /metrics and the dashboard read every queue through handles on the API's connection.
 */
export function mountOperatorPages(app: express.Express, deps: ApiDeps): void {
  const { config } = deps;
  const queues = deps.queues.all;
  watchQueues(queues, deps.redis);
  watchRetention(async () => {
    const oldest = await deps.store.oldestFinishedAt();
    if (oldest === undefined) return 0;
    return Math.max(0, (Date.now() - oldest) / 1000 - config.retentionSeconds);
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
