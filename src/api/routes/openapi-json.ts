import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import { buildDocument } from '../openapi-document.ts';
import { json } from '../openapi-responses.ts';
import { defineRoute, type Route } from '../route.ts';

function serveDocument(config: Config, routes: readonly Route[]): RequestHandler {
  const document = buildDocument(config, routes);
  return (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(document);
  };
}

/** GET /openapi.json — the document, built once from the route table the app was made with. */
export const route = defineRoute({
  operation: {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    access: 'public',
    tags: ['operations'],
    summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1', content: json(z.record(z.string(), z.unknown())) } },
  },
  handlers: (deps, routes) => [serveDocument(deps.config, routes)],
});
