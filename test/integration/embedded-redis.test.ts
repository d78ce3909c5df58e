/**
 * `npm start` on a machine with no Redis: a private redis-server (AOF under DATA_DIR/redis, a free port)
 * starts with the service and stops with it; a configured or already-running Redis is used as it is.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisAnswers, startEmbeddedRedisIfNeeded } from '../../src/shared/embedded-redis.ts';
import { postJob, waitForJob } from '../support/http.ts';
import { freePort, type RedisHandle, startRedis } from '../support/index.ts';
import { terminate, track } from '../support/process-reaper.ts';
import { waitFor } from '../support/wait-for.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the embedded Redis of npm start', () => {
  let dir: string;
  let other: RedisHandle;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vb-embedded-redis-'));
    other = await startRedis();
  });
  afterAll(async () => {
    await other?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('no Redis configured and none at the default port: a private one starts (AOF in DATA_DIR/redis) and stops', async () => {
    const nobody = await freePort(); // stands for the default port on a machine without Redis
    const redis = await startEmbeddedRedisIfNeeded({}, { dataDir: join(dir, 'a'), defaultPort: nobody });
    if (!redis) return expect.fail('no private Redis was started');
    try {
      expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(await redisAnswers(Number(new URL(redis.url).port))).toBe(true);
      expect(redis.dir).toBe(join(dir, 'a', 'redis'));
      await waitFor(async () => (await readdir(redis.dir)).some((f) => f.startsWith('appendonly')), {
        timeoutMs: 120_000,
        message: 'the append-only file under DATA_DIR/redis',
      });
    } finally {
      await redis.stop();
    }
    expect(alive(redis.pid)).toBe(false);
    expect(await redisAnswers(Number(new URL(redis.url).port))).toBe(false);
  });

  it('a configured Redis, or one answering at the default port, is used as it is: nothing is started', async () => {
    const nobody = await freePort();
    const opts = { dataDir: join(dir, 'b'), defaultPort: nobody };
    expect(await startEmbeddedRedisIfNeeded({ REDIS_URL: 'redis://10.0.0.9:6379' }, opts)).toBeUndefined();
    expect(await startEmbeddedRedisIfNeeded({ REDIS_CLUSTER_NODES: '10.0.0.9:7000' }, opts)).toBeUndefined();
    const answering = Number(new URL(other.url).port);
    expect(await startEmbeddedRedisIfNeeded({}, { ...opts, defaultPort: answering })).toBeUndefined();
    expect(await startEmbeddedRedisIfNeeded({ REDIS_EMBEDDED: 'never' }, opts)).toBeUndefined();
    expect(existsSync(join(dir, 'b', 'redis'))).toBe(false);
  });

  it('npm start without REDIS_URL runs jobs, and its private Redis ends with the service', async () => {
    const port = await freePort();
    const dataDir = join(dir, 'service');
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      // No REDIS_URL, no OPENAI_API_KEY: the embedded defaults (its own simulator on a free port).
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        METRICS_PORT: '0',
        // A Redis may answer on :6379 on this machine: the private one all the same, as when none does.
        REDIS_EMBEDDED: 'always',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tracked = track(child);
    const output: string[] = [];
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const url = `http://127.0.0.1:${port}`;
    let redisPid = 0;
    try {
      await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true, {
        timeoutMs: 120_000,
        progress: () => output.length,
        message: `the service to answer on ${url}`,
      });
      const started = output
        .join('')
        .split('\n')
        .map((l) =>
          l.startsWith('{') ? (JSON.parse(l) as { msg?: string; pid?: number; dir?: string }) : {},
        )
        .find((l) => l.msg?.includes('started a private redis-server'));
      expect(started?.dir).toBe(join(dataDir, 'redis'));
      redisPid = started?.pid ?? 0;
      expect(alive(redisPid)).toBe(true);
      const { res, body } = await postJob(url, { text: 'hello from a fresh machine' });
      expect(res.status).toBe(202);
      expect((await waitForJob(url, body.id)).status).toBe('succeeded');
    } finally {
      await terminate(tracked, 'SIGTERM', 30_000);
    }
    expect(child.exitCode).toBe(0);
    await waitFor(() => !alive(redisPid), { timeoutMs: 120_000, message: `redis-server ${redisPid} to end` });
    expect((await readdir(join(dataDir, 'redis'))).some((f) => f.startsWith('appendonly'))).toBe(true);
  });
});
