import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Config, defaultPublicUrl } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';
import { startMetricsFor } from '../shared/metrics-server.ts';
import { buildServices } from '../shared/services.ts';
import { createApp } from './app.ts';
import type { ApiDeps } from './deps.ts';
import { checkApiKeys, logSecurityPosture } from './security-posture.ts';

export interface ApiServer {
  server: Server;
  url: string;
  deps: ApiDeps;
  close(): Promise<void>;
}

/** Builds the API's dependencies, listens, and returns a handle that closes everything in order. */
export async function startApi(config: Config, log: Logger): Promise<ApiServer> {
  const { close: closeServices, ...services } = await buildServices(config, 'api');
  // Production without an API key (and no ALLOW_OPEN_API) stops here, before anything listens.
  const auth = await checkApiKeys(config, services.keys, log).catch(async (err: unknown) => {
    await closeServices();
    throw err;
  });
  const deps: ApiDeps = { ...services, log };
  const server = createServer(
    {
      // Slow clients cannot hold the server: headers within 20 s, a whole request within 10 min
      // (a 100 MB upload at 2 Mbit/s), idle keep-alive sockets closed after 5 s.
      headersTimeout: 20_000,
      requestTimeout: 600_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
    },
    createApp(deps),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = defaultPublicUrl(config.host, port);
  const links = config.publicUrlFromRequest
    ? 'file links use the host each request came in on (PUBLIC_URL unset)'
    : `file links start with PUBLIC_URL ${config.publicUrl}`;
  log.info(
    { address: url, bind: config.host, storage: services.storage.kind },
    `api listening on ${url}; ${links}`,
  );
  const metrics = await startMetricsFor('api', config, log);
  logSecurityPosture(config, auth, log);
  return {
    server,
    url,
    deps,
    async close() {
      // Stop accepting, let requests in flight finish, then drop idle keep-alive sockets.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await metrics?.close();
      await closeServices();
    },
  };
}
