/**
 * The order routes are mounted and documented in: a static path segment wins over a `:param` and a
 * `:param` over a `*wildcard` (`POST /v1/jobs/retry` before `POST /v1/jobs/:id/retry`, a future
 * `GET /v1/jobs/stats` before `GET /v1/jobs/:id`), then by method. Two routes with one operationId, or
 * one method and path, are refused here: the table cannot hold them.
 */
import type { Config } from '../shared/config.ts';
import { type Method, type Operation, operationOf, type Route } from './route.ts';

export const METHODS: Method[] = ['get', 'post', 'put', 'patch', 'delete'];

const segmentRank = (s: string) => (s.startsWith('*') ? 2 : s.startsWith(':') ? 1 : 0);

/** Path order: static segments before `:params` before `*wildcards`, segment by segment; then the method. */
export function compareOperations(
  a: { path: string; method: Method },
  b: { path: string; method: Method },
): number {
  const as = a.path.split('/');
  const bs = b.path.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const x = as[i] ?? '';
    const y = bs[i] ?? '';
    if (x === y) continue;
    return segmentRank(x) - segmentRank(y) || (x < y ? -1 : 1);
  }
  return as.length - bs.length || METHODS.indexOf(a.method) - METHODS.indexOf(b.method);
}

/** The table's operations in mounting order; throws if two share an operationId or a method and path. */
export function orderedOperations(
  routes: readonly Route[],
  config: Config,
): Array<{ route: Route; operation: Operation }> {
  const entries = routes.map((route) => ({ route, operation: operationOf(route, config) }));
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const { operation: op } of entries) {
    const key = `${op.method.toUpperCase()} ${op.path}`;
    if (ids.has(op.operationId)) throw new Error(`two routes have the operationId "${op.operationId}"`);
    if (keys.has(key)) throw new Error(`two routes serve ${key}`);
    ids.add(op.operationId);
    keys.add(key);
  }
  return entries.sort((a, b) => compareOperations(a.operation, b.operation));
}
