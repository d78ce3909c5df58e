/**
 * The OpenAPI 3.1 document (`GET /openapi.json`) of a route table: each route's operation, generated from
 * the same zod schemas that validate requests and describe responses (src/shared/view-schemas.ts). Security
 * follows each operation's `access`; statuses every request can get and those of the client guard are
 * added from it, so an operation lists only its own errors (described once, in `ERRORS`).
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Config } from '../shared/config.ts';
import { CLIENT_ERRORS, ERRORS, type ResponseSpec, TRANSPORT_ERRORS } from './openapi-responses.ts';
import { type Access, type Route, toOpenApiPath } from './route.ts';
import { orderedOperations } from './route-order.ts';

export function buildDocument(config: Config, routes: readonly Route[]): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  const apiKey = registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key from `voicebot keys create`. While no key exists the API runs open (every request acts for the "public" client).',
  });
  const metricsToken = registry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'METRICS_TOKEN, when set',
  });
  const adminToken = registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN (also accepted as the basic-auth password, any user name)',
  });
  const security: Record<Access, RouteConfig['security']> = {
    public: [],
    client: [{ [apiKey.name]: [] }],
    metrics: [{ [metricsToken.name]: [] }, {}],
    admin: [{ [adminToken.name]: [] }],
  };
  for (const { operation } of orderedOperations(routes, config)) {
    const { access, errors = [], responses, path, ...route } = operation;
    const statuses = new Set([...errors, ...(access === 'client' ? CLIENT_ERRORS : []), ...TRANSPORT_ERRORS]);
    const all: Record<string, ResponseSpec> = {};
    for (const status of [...statuses].sort()) all[status] = ERRORS[status];
    Object.assign(all, responses);
    registry.registerPath({
      ...route,
      path: toOpenApiPath(path),
      security: security[access],
      responses: sortByStatus(all),
    });
  }

  const generator = new OpenApiGeneratorV31(registry.definitions, { sortComponents: 'alphabetically' });
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'voicebot API',
      version: '1',
      license: { name: 'ISC', identifier: 'ISC' },
      description:
        'A queue-driven voice AI service: voice (or text) in; transcript, reply and spoken reply out. Every error is `application/problem+json`.',
    },
    // Without PUBLIC_URL the API answers on whatever host it was reached by: the document's own origin.
    servers: [{ url: config.publicUrlFromRequest ? '/' : config.publicUrl }],
    tags: [
      { name: 'jobs', description: 'Submit one voice or text job, follow it, cancel it, resend its webhook' },
      {
        name: 'batches',
        description: 'Many jobs in one request, counted together; one webhook when all end',
      },
      {
        name: 'voicebot (synchronous)',
        description: 'The original contract: one request that waits for the spoken reply',
      },
      { name: 'files', description: 'Signed, expiring downloads of stored files (local storage)' },
      { name: 'operations', description: 'Health, readiness, metrics and this reference, for operators' },
    ],
  }) as unknown as Record<string, unknown>;
}

const sortByStatus = (r: Record<string, ResponseSpec>) =>
  Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
