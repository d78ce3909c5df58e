import { execFileSync } from 'node:child_process';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisHandle, type S3Handle, startRedis, startS3, waitFor } from '../support/index.ts';

function quietRedis(url: string): Redis {
  // No retries: an outage test wants the failure, not a reconnect loop.
  return new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
}

describe('test/support helpers', () => {
  it('freePort gives distinct bindable ports', async () => {
    const [a, b] = await Promise.all([freePort(), freePort()]);
    expect(a).toBeGreaterThan(1024);
    expect(b).toBeGreaterThan(1024);
  });

  it('waitFor resolves once the check passes and explains a timeout', async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, { intervalMs: 1 });
    expect(n).toBe(3);
    await expect(
      waitFor(
        () => {
          throw new Error('boom');
        },
        { timeoutMs: 30, intervalMs: 5, message: 'the impossible' },
      ),
    ).rejects.toThrow(/the impossible: last check threw boom/);
  });

  it('waitFor waits as long as the watched state keeps changing, and gives up once it stops', async () => {
    // The budget (1 ms) is far shorter than the wait, but the state moves at every check: waited for.
    let n = 0;
    await waitFor(() => n >= 30, { timeoutMs: 1, intervalMs: 5, progress: () => ++n });
    expect(n).toBe(30);
    // The same budget without progress is a plain deadline.
    await expect(waitFor(() => false, { timeoutMs: 1, intervalMs: 5 })).rejects.toThrow(
      /timed out after 1 ms/,
    );
    // A state that stops moving fails after the idle budget, saying what it last saw.
    await expect(
      waitFor(() => false, {
        timeoutMs: 60,
        intervalMs: 5,
        progress: () => ({ stage: 'stuck' }),
        message: 'a stuck job',
      }),
    ).rejects.toThrow(/a stuck job \(last progress \{"stage":"stuck"\}, unchanged for \d+ ms/);
    // maxMs caps the wait however busy the state is.
    let moves = 0;
    await expect(
      waitFor(() => false, { timeoutMs: 60, maxMs: 100, intervalMs: 5, progress: () => moves++ }),
    ).rejects.toThrow(/timed out/);
  });
});

describe('startRedis', () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  it('answers commands and exposes its URL, prefix and env', async () => {
    expect(redis.url).toMatch(/^redis:\/\//);
    expect(redis.prefix).toMatch(/^test-[0-9a-f]{10}$/);
    expect(redis.env()).toEqual({ REDIS_URL: redis.url });
    const client = quietRedis(redis.url);
    await client.connect();
    await client.set(`${redis.prefix}:k`, 'v');
    expect(await client.get(`${redis.prefix}:k`)).toBe('v');
    await client.quit();
  });

  it('gives each handle its own server or prefix', async () => {
    const other = await startRedis();
    try {
      expect(other.prefix).not.toBe(redis.prefix);
      if (other.kind !== 'env') expect(other.port).not.toBe(redis.port);
    } finally {
      await other.stop();
    }
  });
});

describe('startRedis({ appendonly, killable }): outage and recovery', () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis({ appendonly: true, killable: true });
  });
  afterAll(() => redis?.stop());

  it('keeps a key written before kill() after restart() on the same port', async () => {
    expect(redis.kind).toBe('local');
    expect(redis.canKill).toBe(true);
    const client = quietRedis(redis.url);
    await client.connect();
    await client.set('survivor', 'before-kill');
    await client.quit();
    const port = redis.port;

    await redis.kill();
    const down = quietRedis(redis.url);
    down.on('error', () => undefined);
    await expect(down.connect()).rejects.toThrow();
    down.disconnect();

    await redis.restart();
    expect(redis.port).toBe(port);
    const after = quietRedis(redis.url);
    await after.connect();
    expect(await after.get('survivor')).toBe('before-kill');
    await after.quit();
  });

  it('stop() ends the process and deletes its data dir', async () => {
    const extra = await startRedis({ killable: true });
    const pids = execFileSync('pgrep', ['-f', `redis-server 127.0.0.1:${extra.port}`], { encoding: 'utf8' });
    expect(pids.trim()).not.toBe('');
    await extra.stop();
    await extra.stop(); // idempotent
    await waitFor(
      () => {
        try {
          execFileSync('pgrep', ['-f', `redis-server 127.0.0.1:${extra.port}`]);
          return false;
        } catch {
          return true;
        }
      },
      { message: 'redis-server to exit' },
    );
  });
});

describe('startS3', () => {
  let s3: S3Handle;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await startS3();
    client = s3.client();
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it('exposes the env the app reads', () => {
    expect(s3.env()).toEqual({
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
  });

  it('stores and returns an object through the real SDK', async () => {
    const body = Buffer.from('RIFF....WAVEfmt hello');
    await client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: 'jobs/a/input.wav',
        Body: body,
        ContentType: 'audio/wav',
      }),
    );
    const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'jobs/a/input.wav' }));
    expect(got.ContentType).toBe('audio/wav');
    expect(Buffer.from((await got.Body?.transformToByteArray()) ?? [])).toEqual(body);
  });

  it('serves a presigned GET to plain fetch', async () => {
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'reply.txt', Body: 'hello there' }));
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: s3.bucket, Key: 'reply.txt' }), {
      expiresIn: 60,
    });
    expect(url.startsWith(`${s3.endpoint}/${s3.bucket}/reply.txt?`)).toBe(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello there');
  });

  it('isolates buckets between handles', async () => {
    const other = await startS3();
    try {
      expect(other.bucket).not.toBe(s3.bucket);
      if (other.kind === 'local') expect(other.endpoint).not.toBe(s3.endpoint);
    } finally {
      await other.stop();
    }
  });

  it('stop() closes the server and is idempotent', async () => {
    const other = await startS3();
    await other.stop();
    await other.stop();
    if (other.kind === 'local') await expect(fetch(other.endpoint)).rejects.toThrow();
  });
});
