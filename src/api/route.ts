/**
 * The shape of a route module (`src/api/routes/*.ts`): each exports one or more `defineRoute({...})` — the
 * operation (method, express path, operationId, who may call it, its request and response schemas, the
 * error statuses it answers) beside the handler chain that serves it. The route table
 * (src/api/route-table.ts) loads every module of the folder: the same declaration mounts the route on the
 * app (with the access guard its `access` names) and documents it in the OpenAPI document.
 */
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Config } from '../shared/config.ts';
import type { ApiDeps } from './deps.ts';
import type { ErrorStatus, ResponseSpec } from './openapi-responses.ts';

/**
 * Who may call an operation: anyone, an API client (Bearer API key; rate limited; every path under the
 * client prefixes), Prometheus (METRICS_TOKEN when set), or an operator (ADMIN_TOKEN).
 */
export type Access = 'public' | 'client' | 'metrics' | 'admin';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Operation
  extends Omit<RouteConfig, 'method' | 'path' | 'security' | 'responses' | 'operationId'> {
  method: Method;
  /** The express path (`/v1/jobs/:id`, `/files/*key`); the document shows it as `/v1/jobs/{id}`. */
  path: string;
  /** A generated client's method name: unique across the API. */
  operationId: string;
  access: Access;
  /** The success answers, and error answers whose description is specific to this operation. */
  responses: Record<number, ResponseSpec>;
  /** Error statuses this operation answers (described once, in `ERRORS`). */
  errors?: ErrorStatus[];
}

export interface RouteSpec {
  /** The operation, or a function of the config when limits or settings appear in it. */
  operation: Operation | ((config: Config) => Operation);
  /**
   * The handler chain after the access guard (body parsing, then the handler). `routes` is the whole
   * table, for the one route that serves the document built from it.
   */
  handlers: (deps: ApiDeps, routes: readonly Route[]) => RequestHandler[];
  /** What runs when the chain fails, before the problem answer (e.g. removing a refused upload). */
  onError?: (deps: ApiDeps) => ErrorRequestHandler;
}

const ROUTE = Symbol.for('voicebot.route');

export interface Route extends RouteSpec {
  readonly [ROUTE]: true;
}

/** Declares a route: what the table mounts and documents. */
export const defineRoute = (spec: RouteSpec): Route => Object.freeze({ ...spec, [ROUTE]: true as const });

export const isRoute = (value: unknown): value is Route =>
  typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ROUTE] === true;

export const operationOf = (route: Route, config: Config): Operation =>
  typeof route.operation === 'function' ? route.operation(config) : route.operation;

/** `/v1/jobs/:id` → `/v1/jobs/{id}`, `/files/*key` → `/files/{key}`. */
export const toOpenApiPath = (path: string) => path.replace(/[:*](\w+)/g, '{$1}');
