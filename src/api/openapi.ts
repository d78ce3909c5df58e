/**
 * The API's OpenAPI 3.1 document: the document of the route table (every module of src/api/routes/),
 * for a config. Served at `GET /openapi.json`, written by scripts/openapi.ts, and the source of the SDK's
 * types (packages/sdk/generate.ts). test/integration/route-table.test.ts checks that it and the mounted
 * routes are the same set; test/integration/openapi-lint.test.ts lints it.
 */
import type { Config } from '../shared/config.ts';
import { buildDocument } from './openapi-document.ts';
import type { Route } from './route.ts';
import { ROUTES } from './route-table.ts';

export function buildOpenApiDocument(
  config: Config,
  routes: readonly Route[] = ROUTES,
): Record<string, unknown> {
  return buildDocument(config, routes);
}
