/** Where a test service came from, in the order tried: the environment, a container, a local process. */
export type ServiceKind = 'env' | 'container' | 'local';

/**
 * `TEST_SERVICES` forces a choice between (2) and (3): `local` never probes for a container runtime,
 * `container` requires one (and fails loudly without it). Unset or `auto`: probe, fall back to local.
 * Variables from the environment (`REDIS_URL`, `S3_ENDPOINT`) always win.
 */
export type ServicesMode = 'auto' | 'local' | 'container';

/**
 * The environment as it was when test/support was first imported (per test file). Service choice reads
 * this snapshot, not the live `process.env`: a test that sets `process.env.REDIS_URL = redis.url` to
 * configure the app under test must not turn the next `startRedis()` into "use the environment's Redis".
 */
export const startupEnv: Readonly<NodeJS.ProcessEnv> = Object.freeze({ ...process.env });

export function servicesMode(env: NodeJS.ProcessEnv = startupEnv): ServicesMode {
  const raw = env.TEST_SERVICES?.trim().toLowerCase() || 'auto';
  if (raw === 'auto' || raw === 'local' || raw === 'container') return raw;
  throw new Error(
    `TEST_SERVICES must be auto, local or container (got ${JSON.stringify(env.TEST_SERVICES)})`,
  );
}

/** A short random name part, unique enough to keep parallel test files apart. */
export function uniqueSuffix(): string {
  return crypto.randomUUID().replaceAll('-', '').slice(0, 10);
}
