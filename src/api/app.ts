import express, { type RequestHandler } from 'express';
import { traceRequests } from '../shared/tracing.ts';
import type { ApiDeps } from './deps.ts';
import { cleanupOnError, parseSubmission } from './intake.ts';
import { jsonBody } from './json-body.ts';
import { authenticate } from './middleware/auth.ts';
import { corsFromAllowlist } from './middleware/cors.ts';
import { httpMetrics } from './middleware/http-metrics.ts';
import { notFoundHandler, problemHandler } from './middleware/problem.ts';
import { rateLimitPerClient } from './middleware/rate-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { slowBodyGuard } from './middleware/slow-body.ts';
import { webPage } from './middleware/web-page.ts';
import { mountOperatorRoutes } from './operators.ts';
import { cancelJob } from './routes/cancel-job.ts';
import { createBatch } from './routes/create-batch.ts';
import { createJob } from './routes/create-job.ts';
import { serveFile } from './routes/files.ts';
import { getBatch } from './routes/get-batch.ts';
import { getJob } from './routes/get-job.ts';
import { healthz, readyz } from './routes/health.ts';
import { jobEvents } from './routes/job-events.ts';
import { listJobs } from './routes/list-jobs.ts';
import { redeliverWebhook } from './routes/redeliver-webhook.ts';
import { retryMany, retryOne } from './routes/retry-job.ts';
import { updateJob } from './routes/update-job.ts';
import { voicebotLegacy } from './routes/voicebot-legacy.ts';

/** The HTTP API: thin handlers that validate, store, enqueue and answer. */
export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestId(deps.log));
  app.use(traceRequests());
  app.use(httpMetrics());
  app.use(securityHeaders(deps.config));
  app.use(corsFromAllowlist(deps.config.corsOrigins));
  app.use(slowBodyGuard(deps.config.bodyIdleTimeoutMs));

  const submit = parseSubmission(deps);
  const cleanup = cleanupOnError(deps);

  // Operators: /metrics, /openapi.json, /docs, /admin/queues (each with its own protection).
  mountOperatorRoutes(app, deps);
  app.get('/healthz', healthz);
  app.get('/readyz', readyz(deps));
  app.get('/files/*key', serveFile(deps));
  // Everything below acts for an API client: authenticated (unless no key exists) and rate limited.
  app.use(
    ['/v1', '/api'],
    noStore,
    authenticate(deps.keys, deps.log, { allowOpen: deps.config.auth.allowOpen }),
    rateLimitPerClient(deps.redis, deps.config.prefix, deps.config.limits.requestsPerMinute),
  );
  app.post('/v1/jobs', ...submit, createJob(deps), cleanup);
  app.get('/v1/jobs', listJobs(deps));
  app.post('/v1/batches', ...parseSubmission(deps, { batch: true }), createBatch(deps), cleanup);
  app.get('/v1/batches/:id', getBatch(deps));
  app.get('/v1/jobs/:id', getJob(deps));
  app.delete('/v1/jobs/:id', cancelJob(deps));
  app.patch('/v1/jobs/:id', jsonBody('1kb'), updateJob(deps));
  app.get('/v1/jobs/:id/events', jobEvents(deps));
  app.post('/v1/jobs/:id/webhook/redeliver', redeliverWebhook(deps));
  app.post('/v1/jobs/:id/retry', retryOne(deps));
  app.post('/v1/jobs/retry', jsonBody('4kb'), retryMany(deps));
  app.post(['/api/voicebot', '/api/voicebot/'], ...submit, voicebotLegacy(deps), cleanup);
  app.all('/v1/jobs', methodNotAllowed('GET, POST'));

  app.use(webPage());
  app.use(notFoundHandler);
  app.use(problemHandler(deps.log, deps.config.limits));
  return app;
}

function methodNotAllowed(allow: string): RequestHandler {
  return (_req, res) => {
    res
      .status(405)
      .set('Allow', allow)
      .type('application/problem+json')
      .json({
        type: 'about:blank',
        title: 'Method Not Allowed',
        status: 405,
        code: 'method_not_allowed',
        detail: `Use ${allow}.`,
      });
  };
}

/** Job data is personal (voices, transcripts, callback numbers): no cache keeps it. */
const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};
