import express from 'express';
import { traceRequests } from '../shared/tracing.ts';
import type { ApiDeps } from './deps.ts';
import { corsFromAllowlist } from './middleware/cors.ts';
import { httpMetrics } from './middleware/http-metrics.ts';
import { notFoundHandler, problemHandler } from './middleware/problem.ts';
import { requestId } from './middleware/request-id.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { slowBodyGuard } from './middleware/slow-body.ts';
import { webPage } from './middleware/web-page.ts';
import { mountRoutes } from './mount-routes.ts';
import { mountOperatorPages } from './operators.ts';
import type { Route } from './route.ts';
import { ROUTES } from './route-table.ts';

/**
 * The HTTP API: thin handlers that validate, store, enqueue and answer. Its operations are the route table
 * (every module of src/api/routes/); `routes` is that table unless a test adds to it.
 */
export function createApp(deps: ApiDeps, routes: readonly Route[] = ROUTES): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestId(deps.log));
  app.use(traceRequests());
  app.use(httpMetrics());
  app.use(securityHeaders(deps.config));
  app.use(corsFromAllowlist(deps.config.corsOrigins));
  app.use(slowBodyGuard(deps.config.bodyIdleTimeoutMs));

  // Operators' pages that are not operations: the queue dashboard, the API reference's assets.
  mountOperatorPages(app, deps);
  mountRoutes(app, deps, routes);

  app.use(webPage());
  app.use(notFoundHandler);
  app.use(problemHandler(deps.log, deps.config.limits));
  return app;
}
