import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { servicesMode, startupEnv } from './service-kind.ts';

/** Images used when a container runtime answers; override with `TEST_REDIS_IMAGE` / `TEST_MINIO_IMAGE`. */
export const REDIS_IMAGE = startupEnv.TEST_REDIS_IMAGE || 'redis:7';
export const MINIO_IMAGE = startupEnv.TEST_MINIO_IMAGE || 'minio/minio:latest';
export const MINIO_USER = 'minioadmin';
export const MINIO_PASSWORD = 'minioadmin';

/** How long the `/_ping` probe may take. A runtime that answers slower than this is treated as absent. */
const PING_TIMEOUT_MS = 750;

type Endpoint = { socketPath: string } | { host: string; port: number } | 'assume';

/**
 * Where a Docker-compatible engine would listen, cheapest checks first: `DOCKER_HOST`, the
 * `docker.host` of `~/.testcontainers.properties`, then the usual socket files (Docker, Docker Desktop,
 * Colima, Rancher Desktop, rootless Docker, Podman). Only `existsSync` calls; no process is spawned.
 */
function findEndpoint(env: NodeJS.ProcessEnv): Endpoint | undefined {
  const configured = env.DOCKER_HOST || propertiesDockerHost();
  if (configured) return parseDockerHost(configured, env);
  const home = homedir();
  const runtimeDir = env.XDG_RUNTIME_DIR;
  const candidates = [
    '/var/run/docker.sock',
    runtimeDir && join(runtimeDir, 'docker.sock'),
    join(home, '.docker/run/docker.sock'),
    join(home, '.docker/desktop/docker.sock'),
    join(home, '.colima/default/docker.sock'),
    join(home, '.rd/docker.sock'),
    runtimeDir && join(runtimeDir, 'podman/podman.sock'),
  ];
  const socketPath = candidates.find((p): p is string => Boolean(p) && existsSync(p as string));
  return socketPath ? { socketPath } : undefined;
}

function propertiesDockerHost(): string | undefined {
  const file = join(homedir(), '.testcontainers.properties');
  if (!existsSync(file)) return undefined;
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.trim().startsWith('docker.host='));
  return line?.split('=').slice(1).join('=').trim() || undefined;
}

function parseDockerHost(value: string, env: NodeJS.ProcessEnv): Endpoint | undefined {
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    return existsSync(socketPath) ? { socketPath } : undefined;
  }
  if (value.startsWith('tcp://') || value.startsWith('http://')) {
    // A TLS engine cannot be pinged without its certificates: trust the explicit configuration.
    if (env.DOCKER_TLS_VERIFY === '1') return 'assume';
    const url = new URL(value.replace(/^tcp:/, 'http:'));
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  // ssh:// and other schemes: someone configured it on purpose; let Testcontainers connect.
  return 'assume';
}

function ping(endpoint: { socketPath: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...endpoint, path: '/_ping', method: 'GET', timeout: PING_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

let detected: Promise<boolean> | undefined;

/**
 * True when a container runtime answers a `/_ping` within 750 ms. Memoised per process. Costs a few
 * `existsSync` calls when there is no engine, so it never slows a run on machines without Docker.
 */
export function containerRuntimeAvailable(env: NodeJS.ProcessEnv = startupEnv): Promise<boolean> {
  detected ??= (async () => {
    const mode = servicesMode(env);
    if (mode === 'local') return false;
    const endpoint = findEndpoint(env);
    const ok = endpoint === undefined ? false : endpoint === 'assume' ? true : await ping(endpoint);
    if (!ok && mode === 'container') {
      throw new Error(
        'TEST_SERVICES=container but no container runtime answered (DOCKER_HOST / docker.sock)',
      );
    }
    return ok;
  })();
  return detected;
}

export async function startRedisContainer(appendonly: boolean): Promise<StartedTestContainer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const command = ['redis-server', '--save', '', '--appendonly', appendonly ? 'yes' : 'no'];
  if (appendonly) command.push('--appendfsync', 'always');
  return new GenericContainer(REDIS_IMAGE)
    .withCommand(command)
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
}

export async function startMinioContainer(): Promise<StartedTestContainer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  return new GenericContainer(MINIO_IMAGE)
    .withCommand(['server', '/data'])
    .withEnvironment({ MINIO_ROOT_USER: MINIO_USER, MINIO_ROOT_PASSWORD: MINIO_PASSWORD })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
    .start();
}
