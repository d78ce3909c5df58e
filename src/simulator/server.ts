/**
 * An OpenAI-compatible HTTP server for tests, benchmarks and keyless development: the official SDK
 * works against it unchanged (`baseURL: sim.url + '/v1'`). Control endpoints under /_sim/.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { detectTools } from './audio-tools.ts';
import { ConfigValueError } from './config.ts';
import { checkAuth, serveEndpoint } from './endpoint.ts';
import { ApiError, readJson, requestId, sendError, sendJson } from './http-util.ts';
import { modelList } from './models.ts';
import { SimulatorState } from './state.ts';
import type { Endpoint, SimulatorConfig, SimulatorOptions, SimulatorStats } from './types.ts';

export type * from './types.ts';

export interface Simulator {
  /** http://host:port (no trailing slash; the OpenAI base URL is `${url}/v1`). */
  url: string;
  port: number;
  /** Ends every connection (hanging "timeout" requests too) and stops listening. */
  close(): Promise<void>;
  stats(): SimulatorStats;
  /** Back to the start-up options; counters and the fault script start over. */
  reset(): void;
  /** Changes settings at run time; `failNext` entries are appended to the fault script. */
  configure(options: SimulatorOptions): SimulatorConfig;
}

const API_ROUTES: Record<string, Endpoint> = {
  '/v1/audio/transcriptions': 'transcriptions',
  '/v1/chat/completions': 'chat',
  '/v1/audio/speech': 'speech',
};

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  await detectTools(); // once per process, before the first request needs to know
  const state = new SimulatorState(options);
  const closing = new AbortController();

  const server = createServer({ requestTimeout: 0, keepAliveTimeout: 65_000 }, (req, res) => {
    route(req, res, state, closing.signal).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, new ApiError(500, String(err)).body());
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    stats: () => state.snapshot(),
    reset: () => state.reset(),
    configure: (o) => state.configure(o),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, state: SimulatorState, closing: AbortSignal) {
  const startedAt = Date.now();
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const headers = { 'x-request-id': requestId(), 'openai-version': '2020-10-01' };
  if (path.startsWith('/_sim/')) return control(req, res, path, state);

  const endpoint = API_ROUTES[path];
  if (endpoint && req.method === 'POST') {
    const ac = new AbortController();
    const abort = () => ac.abort();
    res.on('close', () => {
      if (!res.writableFinished) abort();
    });
    closing.addEventListener('abort', abort, { once: true });
    try {
      await serveEndpoint(endpoint, req, res, { state, headers, signal: ac.signal, startedAt });
    } finally {
      closing.removeEventListener('abort', abort);
    }
    return;
  }
  if (path === '/v1/models' && req.method === 'GET') {
    const denied = checkAuth(req, state.config.requireApiKey);
    if (denied) sendError(res, denied, headers);
    else sendJson(res, 200, modelList(), headers);
    state.stats.record({
      endpoint: 'models',
      at: startedAt,
      status: res.statusCode,
      model: undefined,
      ms: 0,
    });
    return;
  }
  sendError(res, new ApiError(404, `Invalid URL (${req.method} ${path})`), headers);
  state.stats.record({ endpoint: 'other', at: startedAt, status: 404, model: undefined, ms: 0 });
}

/** GET /_sim/stats, POST /_sim/reset, GET|POST /_sim/config, GET /_sim/health. */
async function control(req: IncomingMessage, res: ServerResponse, path: string, state: SimulatorState) {
  const key = `${req.method} ${path}`;
  if (key === 'GET /_sim/stats') return sendJson(res, 200, state.snapshot());
  if (key === 'GET /_sim/health') return sendJson(res, 200, { ok: true });
  if (key === 'GET /_sim/config') return sendJson(res, 200, state.config);
  if (key === 'POST /_sim/reset') {
    state.reset();
    return sendJson(res, 200, { ok: true });
  }
  if (key === 'POST /_sim/config') {
    try {
      const body = await readJson(req);
      return sendJson(res, 200, state.configure(body as SimulatorOptions));
    } catch (err) {
      if (err instanceof ApiError) return sendError(res, err);
      if (err instanceof ConfigValueError) return sendError(res, new ApiError(400, err.message));
      throw err;
    }
  }
  sendError(res, new ApiError(404, `Invalid URL (${req.method} ${path})`));
}
