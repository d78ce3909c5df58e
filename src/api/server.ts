import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiKeys } from '../shared/api-keys.ts';
import { BatchStore } from '../shared/batches.ts';
import { type Config, defaultPublicUrl } from '../shared/config.ts';
import { EventHub } from '../shared/events.ts';
import { JobStore } from '../shared/job-store.ts';
import { Lifecycle } from '../shared/lifecycle/lifecycle.ts';
import type { Logger } from '../shared/logger.ts';
import { startMetricsServer } from '../shared/metrics-server.ts';
import { openQueues } from '../shared/queue-registry.ts';
import { createRedis, waitReady } from '../shared/redis.ts';
import { createStorage } from '../shared/storage/index.ts';
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
  const redis = createRedis(config.redis, 'command', 'voicebot-api');
  const subRedis = createRedis(config.redis, 'blocking', 'voicebot-api-events');
  const storage = await createStorage(config);
  // Redis must answer first (a supervisor restarts us if not): the queues check the server version when
  // created, and on a Cluster BullMQ does not wait for 'ready' — with no offline queue that check would fail
  // and leave every queue broken for good.
  await waitReady(redis, 30_000);
  // Production without an API key (and no ALLOW_OPEN_API) stops here, before anything listens.
  const keys = new ApiKeys(redis, config.prefix);
  const auth = await checkApiKeys(config, keys, log);
  const queues = openQueues(redis, config);
  const lifecycle = new Lifecycle(redis, {
    prefix: config.prefix,
    retentionSeconds: config.retentionSeconds,
    queues,
  });
  // An installed BullMQ that does not add jobs the way the lifecycle embeds it stops the API here.
  await lifecycle.checkBullmq();
  const hub = new EventHub(subRedis, redis, config.prefix, (id, delta) => lifecycle.watch(id, delta));
  await hub.start();
  const deps: ApiDeps = {
    config,
    redis,
    store: new JobStore(redis, config.prefix, config.retentionSeconds),
    lifecycle,
    storage,
    queues,
    batches: new BatchStore(redis, config.prefix, config.retentionSeconds),
    keys,
    hub,
    log,
  };
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
  log.info({ address: url, bind: config.host, storage: storage.kind }, `api listening on ${url}; ${links}`);
  // Production: /metrics on the internal METRICS_PORT, as the workers serve theirs (not through the Service).
  const metrics = config.metrics.apiServesPort
    ? await startMetricsServer({
        port: config.metrics.port,
        host: config.host,
        token: config.metrics.token,
        log,
      })
    : undefined;
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
      await hub.stop();
      await queues.close();
      redis.disconnect();
    },
  };
}
