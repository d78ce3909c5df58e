/**
 * The route table is the one place an HTTP operation is declared: the app mounts exactly the operations the
 * OpenAPI document describes (walking express's router), each access is enforced as declared, a path
 * answers other methods with 405 and the methods the table lists, and a route module dropped into a routes
 * folder — touching no other file — is served, documented and typed by the generated client.
 */
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Express } from 'express';
import openapiTS from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../../src/api/app.ts';
import { buildOpenApiDocument } from '../../src/api/openapi.ts';
import { defineRoute, type Operation, type Route, toOpenApiPath } from '../../src/api/route.ts';
import { loadRoutes, ROUTES, ROUTES_DIR } from '../../src/api/route-table.ts';
import type { Job } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { typeErrorsOf } from '../support/type-check.ts';

const root = join(import.meta.dirname, '../..');

/** `METHOD /express/path` of every route mounted on the app (express 5: app.router.stack). */
function mountedRoutes(app: Express): string[] {
  const routes: string[] = [];
  const stack = (
    app as unknown as { router: { stack: Array<{ route?: { path: unknown; methods: object } }> } }
  ).router.stack;
  for (const layer of stack) {
    if (!layer.route) continue;
    const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    const methods = Object.entries(layer.route.methods).filter(([, on]) => on);
    // `app.all` (the 405 answer of a path) registers every method: not an operation of its own.
    if (methods.length > 8) continue;
    for (const [method] of methods)
      for (const p of paths) routes.push(`${method.toUpperCase()} ${String(p)}`);
  }
  return routes;
}

/** `METHOD /openapi/path` of every operation in a document. */
const documented = (doc: Job) =>
  Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
  );
const asDocumented = (route: string) => route.replace(/ (.*)$/, (_, p: string) => ` ${toOpenApiPath(p)}`);

async function listen(app: Express): Promise<{ url: string; server: Server }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A route module as someone adding an endpoint writes it: its operation and its handler, nothing else. */
const ECHO_MODULE = `import { z } from 'zod';
import { json } from '${pathToFileURL(join(root, 'src/api/openapi-responses.ts')).href}';
import { defineRoute } from '${pathToFileURL(join(root, 'src/api/route.ts')).href}';

const echo = z.strictObject({ word: z.string() }).meta({ id: 'Echo' });

export const route = defineRoute({
  operation: {
    method: 'get',
    path: '/v1/echo/:word',
    operationId: 'echoWord',
    access: 'client',
    tags: ['jobs'],
    summary: 'Say a word back',
    request: { params: z.object({ word: z.string() }) },
    errors: [404],
    responses: { 200: { description: 'The word', content: json(echo) } },
  },
  handlers: () => [(req, res) => res.json({ word: req.params.word })],
});
`;

describe('the route table', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: false });
  });
  afterAll(async () => stack?.close());

  it('mounts every documented operation and documents every mounted route, each with a unique operationId', async () => {
    const app = createApp(stack.api.deps);
    const mounted = mountedRoutes(app);
    const doc = (await (await fetch(`${stack.url}/openapi.json`)).json()) as Job;
    expect(mounted.length).toBeGreaterThan(15);
    expect(mounted).toContain('POST /v1/jobs');
    expect(mounted).toContain('GET /files/*key');
    expect(mounted.map(asDocumented).sort()).toEqual(documented(doc).sort());
    expect(new Set(mounted).size).toBe(mounted.length);
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(
      (ops) => Object.values(ops).map((op) => op.operationId),
    );
    expect(ids.length).toBe(mounted.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc).toEqual(buildOpenApiDocument(stack.config));
  });

  it('answers a method a path does not serve with 405 and the methods the table lists', async () => {
    const cases: Array<[string, string, string]> = [
      ['PUT', '/v1/jobs', 'GET, POST'],
      ['POST', `/v1/jobs/${crypto.randomUUID()}`, 'GET, PATCH, DELETE'],
      ['DELETE', '/healthz', 'GET'],
      ['GET', '/api/voicebot/', 'POST'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await fetch(`${stack.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect(((await res.json()) as Job).code).toBe('method_not_allowed');
    }
  });

  it('refuses a table that would contradict itself: a shared operationId, or a non-client route under a client prefix', () => {
    const op = (over: Partial<Operation>): Route =>
      defineRoute({
        operation: {
          method: 'get',
          path: '/elsewhere',
          operationId: 'elsewhere',
          access: 'public',
          summary: 'x',
          responses: { 200: { description: 'x', content: { 'text/plain': { schema: z.string() } } } },
          ...over,
        },
        handlers: () => [(_req, res) => res.end()],
      });
    expect(() => createApp(stack.api.deps, [...ROUTES, op({ operationId: 'getJob' })])).toThrow(
      /two routes have the operationId "getJob"/,
    );
    expect(() =>
      createApp(stack.api.deps, [...ROUTES, op({ path: '/v1/jobs', operationId: 'other' })]),
    ).toThrow(/two routes serve GET \/v1\/jobs/);
    expect(() => createApp(stack.api.deps, [...ROUTES, op({ path: '/v1/open' })])).toThrow(
      /"public" but \/v1\/open is under \/v1/,
    );
  });

  it('serves, documents and types a new route module written into a routes folder, with no other file touched', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vb-routes-'));
    try {
      const routesDir = join(dir, 'routes');
      await mkdir(routesDir);
      // The module resolves its packages (zod) the way a module inside the repository does.
      await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
      await writeFile(join(routesDir, 'echo.ts'), ECHO_MODULE);
      const routes = await loadRoutes([ROUTES_DIR, routesDir]);
      expect(routes.length).toBe(ROUTES.length + 1);

      // In the app: answered, behind the access it declares.
      const app = createApp(stack.api.deps, routes);
      const { url, server } = await listen(app);
      let doc: Job;
      try {
        const res = await fetch(`${url}/v1/echo/hello`);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ word: 'hello' });
        expect(res.headers.get('cache-control')).toBe('no-store');
        const wrong = await fetch(`${url}/v1/echo/hello`, { method: 'POST' });
        expect(wrong.status).toBe(405);
        expect(wrong.headers.get('allow')).toBe('GET');
        doc = (await (await fetch(`${url}/openapi.json`)).json()) as Job;
      } finally {
        server.close();
      }

      // In the document the app serves (and the same one buildOpenApiDocument gives for that table).
      const op = doc.paths['/v1/echo/{word}']?.get;
      expect(op.operationId).toBe('echoWord');
      expect(op.security).toEqual([{ apiKey: [] }]);
      expect(Object.keys(op.responses)).toEqual(['200', '400', '401', '404', '408', '429', '431', '503']);
      expect(doc.components.schemas.Echo).toBeTruthy();
      expect(mountedRoutes(app).map(asDocumented).sort()).toEqual(documented(doc).sort());
      expect(doc).toEqual(buildOpenApiDocument(stack.config, routes));

      // In the client types generated from it (as packages/sdk/generate.ts generates the SDK's).
      // biome-ignore lint/suspicious/noExplicitAny: openapi-typescript takes the document as a plain object
      const types = await openapiTS(doc as any, { exportType: false });
      await writeFile(join(dir, 'api.ts'), types);
      await writeFile(
        join(dir, 'use.ts'),
        `import type { operations } from './api.ts';
type Echo = operations['echoWord']['responses'][200]['content']['application/json'];
export const said: Echo = { word: 'hello' };
export const word: operations['echoWord']['parameters']['path']['word'] = 'hello';
// @ts-expect-error: the word is a string
export const wrong: Echo = { word: 1 };
`,
      );
      expect(await typeErrorsOf(dir, 'use.ts')).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
