/**
 * Managed-Redis settings against a real TLS redis-server with an ACL user (certificates made here with
 * openssl, signed by a throw-away CA): `rediss://` + REDIS_TLS_CA_FILE + REDIS_USERNAME / REDIS_PASSWORD connect,
 * a wrong CA or password does not, and a job runs end to end over it (API, BullMQ workers, event reader).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.ts';
import { createRedis, type RedisClient, waitReady } from '../../src/shared/redis.ts';
import { postJob, waitForJob } from '../support/http.ts';
import { freePort, type RedisHandle } from '../support/index.ts';
import { type Tracked, terminate, track } from '../support/process-reaper.ts';
import { uniqueSuffix } from '../support/service-kind.ts';
import { startStack } from '../support/stack.ts';

const run = promisify(execFile);

async function makeCertificates(dir: string) {
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
  );
  await ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  // A second CA that did not sign the server's certificate.
  await ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'other.key',
    '-out',
    'other.crt',
    '-days',
    '1',
    '-subj',
    '/CN=other',
  );
}

async function connects(client: RedisClient, timeoutMs = 3000): Promise<boolean> {
  try {
    await waitReady(client, timeoutMs);
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

describe('Redis over TLS with an ACL user', () => {
  let dir: string;
  let port: number;
  let server: Tracked | undefined;
  const ca = () => join(dir, 'ca.crt');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vb-redis-tls-'));
    await makeCertificates(dir);
    port = await freePort();
    const child = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--tls-cert-file',
        join(dir, 'server.crt'),
        '--tls-key-file',
        join(dir, 'server.key'),
        '--tls-ca-cert-file',
        ca(),
        '--tls-auth-clients',
        'no',
        '--save',
        '',
        '--dir',
        dir,
        '--user',
        'default',
        'off',
        '--user',
        'voicebot',
        'on',
        '>s3cret',
        '~*',
        '&*',
        '+@all',
      ],
      { stdio: 'ignore' },
    );
    server = track(child, dir);
    const settings = {
      url: `rediss://127.0.0.1:${port}`,
      tlsCaFile: ca(),
      username: 'voicebot',
      password: 's3cret',
    };
    for (let i = 0; i < 100 && !(await connects(createRedis(settings, 'command'))); i++) await sleep(50);
  });
  afterAll(async () => {
    if (server) await terminate(server, 'SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  it('rediss:// with the CA and the ACL user connects; a wrong CA, password or plain TCP does not', async () => {
    const good = {
      url: `rediss://127.0.0.1:${port}`,
      tlsCaFile: ca(),
      username: 'voicebot',
      password: 's3cret',
    };
    expect(await connects(createRedis(good, 'command'))).toBe(true);
    // REDIS_TLS=true turns TLS on for a redis:// URL too (the config path, as the processes use it).
    const fromEnv = loadConfig({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_TLS: 'true',
      REDIS_TLS_CA_FILE: ca(),
      REDIS_USERNAME: 'voicebot',
      REDIS_PASSWORD: 's3cret',
    });
    expect(await connects(createRedis(fromEnv.redis, 'blocking'))).toBe(true);
    expect(await connects(createRedis({ ...good, tlsCaFile: join(dir, 'other.crt') }, 'command'), 800)).toBe(
      false,
    );
    expect(await connects(createRedis({ ...good, password: 'wrong' }, 'command'), 800)).toBe(false);
    expect(await connects(createRedis({ ...good, url: `redis://127.0.0.1:${port}` }, 'command'), 800)).toBe(
      false,
    );
  });

  it('a job runs end to end over TLS: API, BullMQ workers and the event reader', async () => {
    const prefix = `test-${uniqueSuffix()}`;
    const env = {
      REDIS_URL: `rediss://127.0.0.1:${port}`,
      REDIS_TLS_CA_FILE: ca(),
      REDIS_USERNAME: 'voicebot',
      REDIS_PASSWORD: 's3cret',
    };
    const handle: RedisHandle = {
      url: env.REDIS_URL,
      host: '127.0.0.1',
      port,
      kind: 'local',
      prefix,
      canKill: false,
      env: () => env,
      kill: () => Promise.reject(new Error('not killable')),
      restart: () => Promise.reject(new Error('not killable')),
      stop: async () => {},
    };
    const stack = await startStack({ redis: handle });
    try {
      const { res, body } = await postJob(stack.url, { text: 'over TLS' });
      expect(res.status).toBe(202);
      const job = await waitForJob(stack.url, body.id);
      expect(job).toMatchObject({ status: 'succeeded', transcript: 'over TLS' });
      expect(job.reply_text).toContain('over TLS');
    } finally {
      await stack.close();
    }
  });
});
