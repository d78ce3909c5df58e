import type { RequestHandler } from 'express';
import { z } from 'zod';
import { HttpError } from '../../shared/errors.ts';
import { metricsText } from '../../shared/metrics.ts';
import { problem } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';

/** `GET /metrics`: the registry (METRICS_TOKEN, when set, is checked by the `metrics` access guard). */
const metricsEndpoint: RequestHandler = async (_req, res) => {
  const { contentType, body } = await metricsText();
  res.set('Cache-Control', 'no-store').type(contentType).send(body);
};

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

export const route = defineRoute({
  operation: {
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    access: 'metrics',
    tags: ['operations'],
    summary: 'Prometheus metrics (text exposition format)',
    responses: {
      200: { description: 'Metrics', content: { 'text/plain': { schema: z.string() } } },
      401: problem('METRICS_TOKEN is set and was not sent'),
    },
  },
  handlers: ({ config }) => [
    config.metrics.publicPort === 'internal' ? metricsNotPublic(config.metrics.port) : metricsEndpoint,
  ],
});
