/**
 * The environment of a service under test whose processes are spawned (or started in process from it): its
 * port and links, Redis with the handle's prefix as a hash tag (so the same keys work on a Cluster), a data
 * dir, and the simulator as the provider. `extra` comes on top: stage settings, webhooks, failpoints.
 */
export function serviceEnv(o: {
  port: number;
  redis: { env(): Record<string, string>; prefix: string };
  simUrl: string;
  dataDir: string;
  logLevel?: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: o.logLevel ?? 'warn',
    PORT: String(o.port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${o.port}`,
    ...o.redis.env(),
    QUEUE_PREFIX: `{${o.redis.prefix}}`,
    DATA_DIR: o.dataDir,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: `${o.simUrl}/v1`,
    ...o.extra,
  };
}
