import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { metricsAuthorized, metricsText } from './metrics.ts';
import type { ServiceRole } from './services.ts';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` (Prometheus text) on a port of its own, inside the network: a worker process's (workers have
 * no API server), and in production the API's, whose public port does not serve it without METRICS_TOKEN.
 * With `token` set it wants `Authorization: Bearer <token>`. A port that cannot be bound is logged, not
 * fatal: a process without metrics still does its work.
 */
async function startMetricsServer(opts: {
  port: number;
  host: string;
  token: string | undefined;
  log: Logger;
}): Promise<MetricsServer | undefined> {
  const { port, host, token, log } = opts;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (!metricsAuthorized(req.headers.authorization, token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"' }).end();
      return;
    }
    metricsText().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: unknown) => {
        log.error({ err }, 'metrics collection failed');
        res.writeHead(500).end();
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', (err) => {
      log.error(
        { err, port },
        `metrics server could not listen: this process serves no /metrics on port ${port}`,
      );
      resolve(false);
    });
    server.listen(port, host, () => resolve(true));
  });
  if (!listening) return undefined;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  log.info({ address: url }, `metrics on ${url}/metrics`);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/**
 * The metrics server a process runs by its config, or none: a worker process on METRICS_PORT whenever it is
 * set (0: off); the API only in production (`apiServesPort`), where /metrics moves off its public port onto
 * the internal METRICS_PORT like the workers'. Elsewhere the API's own port serves /metrics.
 */
export function startMetricsFor(
  role: ServiceRole,
  config: Config,
  log: Logger,
): Promise<MetricsServer | undefined> {
  const serves = role === 'api' ? config.metrics.apiServesPort : config.metrics.port > 0;
  if (!serves) return Promise.resolve(undefined);
  return startMetricsServer({
    port: config.metrics.port,
    host: config.host,
    token: config.metrics.token,
    log,
  });
}
