/**
 * Mounts a route table on the app: each operation at its method and path, behind the guard its `access`
 * names (src/api/access.ts), then its handler chain. A path answers any other method with 405 and an
 * `Allow` header listing the methods the table serves there.
 */
import type express from 'express';
import type { RequestHandler } from 'express';
import { accessGuards } from './access.ts';
import type { ApiDeps } from './deps.ts';
import type { Route } from './route.ts';
import { METHODS, orderedOperations } from './route-order.ts';

/** `/v1/jobs/:id` → `/v1` (the prefix the client guard is mounted on). */
const prefixOf = (path: string) => `/${path.split('/')[1] ?? ''}`;

export function mountRoutes(app: express.Express, deps: ApiDeps, routes: readonly Route[]): void {
  const entries = orderedOperations(routes, deps.config);
  const guards = accessGuards(deps);
  const clientPrefixes = [
    ...new Set(entries.filter((e) => e.operation.access === 'client').map((e) => prefixOf(e.operation.path))),
  ];
  for (const { operation } of entries) {
    if (operation.access !== 'client' && clientPrefixes.includes(prefixOf(operation.path)))
      throw new Error(
        `${operation.operationId} is "${operation.access}" but ${operation.path} is under ${prefixOf(operation.path)}, where every request acts for an API client`,
      );
  }
  const mount = ({ route, operation }: (typeof entries)[number]) =>
    app[operation.method](
      operation.path,
      ...(operation.access === 'client' ? [] : guards[operation.access]),
      ...route.handlers(deps, routes),
      ...(route.onError ? [route.onError(deps)] : []),
    );

  for (const entry of entries) if (entry.operation.access !== 'client') mount(entry);
  // Everything under a client prefix acts for an API client: authenticated (unless no key exists) and rate limited.
  if (clientPrefixes.length > 0) app.use(clientPrefixes, ...guards.client);
  for (const entry of entries) if (entry.operation.access === 'client') mount(entry);

  const allowed = new Map<string, string[]>();
  for (const { operation } of entries)
    allowed.set(operation.path, [...(allowed.get(operation.path) ?? []), operation.method]);
  for (const [path, methods] of allowed) {
    const allow = METHODS.filter((m) => methods.includes(m))
      .map((m) => m.toUpperCase())
      .join(', ');
    app.all(path, methodNotAllowed(allow));
  }
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
