import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/shared/api-keys.ts';
import type { LocalStorage } from '../../src/shared/storage/index.ts';
import { fixture, postJob, waitForJob } from '../support/http.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

const preflight = (url: string, origin: string) =>
  fetch(`${url}/v1/jobs`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
  });

describe('CORS', () => {
  it('without CORS_ORIGINS a foreign origin gets no CORS grant (the page is same-origin)', async () => {
    const stack = await startStack({ workers: false });
    try {
      const res = await preflight(stack.url, 'https://evil.example');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const get = await fetch(`${stack.url}/healthz`, { headers: { origin: 'https://evil.example' } });
      expect(get.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await stack.close();
    }
  });

  it('an allowlist grants only its origins, with credentials; * never comes with credentials', async () => {
    const listed = await startStack({ workers: false, env: { CORS_ORIGINS: 'https://app.example.com' } });
    const any = await startStack({ workers: false, env: { CORS_ORIGINS: '*' } });
    try {
      const ok = await preflight(listed.url, 'https://app.example.com');
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
      const foreign = await preflight(listed.url, 'https://evil.example');
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
      const star = await preflight(any.url, 'https://whoever.example');
      expect(star.headers.get('access-control-allow-origin')).toBe('*');
      expect(star.headers.get('access-control-allow-credentials')).toBeNull();
    } finally {
      await listed.close();
      await any.close();
    }
  });
});

describe('headers, slow clients, file routes, signatures', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { BODY_IDLE_TIMEOUT_MS: '1500' } });
  });
  afterAll(async () => stack?.close());

  it('every response carries the security headers; job data is never cached', async () => {
    const { res, body } = await postJob(stack.url, { text: 'headers please' });
    const job = await waitForJob(stack.url, body.id);
    const responses = [
      res,
      await fetch(`${stack.url}/healthz`),
      await fetch(`${stack.url}/v1/jobs/${body.id}`),
      await fetch(`${stack.url}/v1/jobs`),
      await fetch(`${stack.url}/nope`),
      await fetch(job.audio_url),
    ];
    for (const r of responses) {
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('strict-transport-security')).toContain('max-age=');
      expect(r.headers.get('x-powered-by')).toBeNull();
    }
    for (const r of responses.slice(0, 4))
      if (r.url.includes('/v1/')) expect(r.headers.get('cache-control')).toBe('no-store');
    expect(responses[5]?.headers.get('cache-control')).toContain('no-store');
  });

  it('an upload that trickles is cut off, and nothing of it is stored', async () => {
    const jobsDir = join(stack.dataDir, 'objects', 'jobs');
    const before = await readdir(jobsDir).catch(() => []);
    const { port } = new URL(stack.url);
    const socket = connect(Number(port), '127.0.0.1');
    const boundary = 'trickle';
    const wav = await fixture('question.wav');
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`;
    socket.write(
      `POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + wav.length + 20}\r\n\r\n${head}`,
    );
    socket.write(wav.subarray(0, 8000)); // then nothing more: a client trickling (or stalled) mid-upload
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString();
    });
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    expect(answer).toContain('408');
    expect(answer).toContain('body_timeout');
    // Cut off by BODY_IDLE_TIMEOUT_MS (1.5 s here), not by any later limit of the server.
    expect(answer).toContain('stalled for 2 s');
    // The aborted write removes its temp file (asynchronously, once the file handle closes).
    await waitFor(async () => (await readdir(join(stack.dataDir, 'tmp'))).length === 0, {
      timeoutMs: 120_000,
    });
    expect(await readdir(jobsDir).catch(() => [])).toEqual(before);
  });

  it('oversized headers are refused (431) and the server keeps slow clients on a short leash', async () => {
    const res = await fetch(`${stack.url}/healthz`, { headers: { 'x-padding': 'a'.repeat(20_000) } });
    expect(res.status).toBe(431);
    const server = stack.api.server;
    expect(server.headersTimeout).toBe(20_000);
    expect(server.requestTimeout).toBe(600_000);
    expect(server.keepAliveTimeout).toBe(5_000);
  });

  it('file routes refuse path tricks', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    for (const path of [
      '/files/../../../../etc/passwd',
      '/files/..%2F..%2F..%2Fetc%2Fpasswd',
      '/files/%2e%2e/%2e%2e/etc/passwd',
      '/files/%252e%252e/%252e%252e/etc/passwd',
      '/files/jobs/..%5C..%5Cetc%5Cpasswd',
      '/files/%2Fetc%2Fpasswd',
      '/files/.url-signing-key',
      '/files/jobs/x/..',
    ]) {
      const res = await fetch(`${stack.url}${path}?expires=${exp}&sig=AAAA`);
      expect([403, 404], path).toContain(res.status);
      const text = await res.text();
      expect(text).not.toContain('root:');
      expect(text).toContain('"code"');
    }
  });

  it('a tampered or expired signed URL → 403', async () => {
    const { body } = await postJob(stack.url, { text: 'sign me' });
    const job = await waitForJob(stack.url, body.id);
    const url = new URL(job.audio_url);
    expect((await fetch(url)).status).toBe(200);
    const sig = url.searchParams.get('sig') ?? '';
    const tampered = [
      (() => {
        const u = new URL(url);
        u.searchParams.set('sig', `${sig.slice(0, -2)}xx`);
        return u;
      })(),
      (() => {
        const u = new URL(url);
        u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 3600));
        return u;
      })(),
      (() => {
        const u = new URL(url);
        u.pathname = u.pathname.replace('reply.mp3', 'transcript.txt');
        return u;
      })(),
      (() => {
        const u = new URL(url);
        u.searchParams.delete('sig');
        return u;
      })(),
    ];
    for (const u of tampered) expect((await fetch(u)).status, u.toString()).toBe(403);
    const storage = stack.api.deps.storage as LocalStorage;
    const expired = await storage.signedUrl(`jobs/${body.id}/reply.mp3`, -1);
    const res = await fetch(expired.replace(storage.baseUrl, stack.url));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('link_expired');
  });
});

describe('S3 presigned URLs', () => {
  it('expire (s3rver enforces expiry; signatures are tested on the local storage above)', async () => {
    const stack = await startStack({ storage: 's3', workers: false });
    try {
      const storage = stack.api.deps.storage;
      await storage.put(
        'jobs/00000000-0000-4000-8000-000000000000/reply.mp3',
        Buffer.from('x'.repeat(2000)),
        { contentType: 'audio/mpeg' },
      );
      const url = await storage.signedUrl('jobs/00000000-0000-4000-8000-000000000000/reply.mp3', 1);
      expect((await fetch(url)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 2100));
      expect((await fetch(url)).status).toBe(403);
    } finally {
      await stack.close();
    }
  });
});

describe('secrets never reach the logs', () => {
  let stack: Stack;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  const providerKey = 'sk-provider-SECRET-1234567890';
  const webhookSecret = newSecret();
  let apiKey = '';
  beforeAll(async () => {
    stack = await startStack({ workers: false, simulator: { requireApiKey: providerKey } });
    const redis = new Redis(stack.config.redisUrl);
    apiKey = (await new ApiKeys(redis, stack.config.prefix).create({ name: 'logs' })).key;
    redis.disconnect();
    await stack.api.close();
    const env = {
      ...stack.env,
      OPENAI_API_KEY: providerKey,
      WEBHOOK_SECRET: webhookSecret,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      ADMIN_TOKEN: 'admin-SECRET-token-987',
      LOG_LEVEL: 'trace',
    };
    api = spawnService('api', env);
    worker = spawnService('worker', env);
    await waitFor(async () => (await fetch(`${stack.url}/healthz`).catch(() => undefined))?.ok === true, {
      timeoutMs: 120_000,
    });
  });
  afterAll(async () => {
    api?.kill('SIGKILL');
    worker?.kill('SIGKILL');
    await api?.exited;
    await worker?.exited;
    await stack?.close().catch(() => {});
  });

  it('a full job run with a key, a webhook and a presigned URL logs none of them', async () => {
    const receiver = await startReceiver(webhookSecret);
    const auth = { authorization: `Bearer ${apiKey}` };
    const { body } = await postJob(stack.url, { text: 'keep my secrets', webhook_url: receiver.url }, auth);
    let job: Record<string, string> = {};
    await waitFor(
      async () => {
        job = (await (await fetch(`${stack.url}/v1/jobs/${body.id}`, { headers: auth })).json()) as Record<
          string,
          string
        >;
        return job.status === 'succeeded';
      },
      { timeoutMs: 120_000 },
    );
    await waitFor(() => receiver.received.length > 0, { timeoutMs: 120_000 });
    await fetch(`${stack.url}/v1/jobs/${body.id}/events?access_token=${apiKey}`).then((r) => r.text());
    await receiver.close();
    const logs = [...api.output, ...worker.output].join('\n');
    expect(logs).toContain(body.id); // the run did log
    const sig = new URL(job.audio_url ?? '').searchParams.get('sig') ?? 'no-sig';
    for (const secret of [
      providerKey,
      webhookSecret,
      webhookSecret.slice(6),
      apiKey,
      'admin-SECRET-token-987',
      sig,
    ]) {
      expect(logs.includes(secret), `secret leaked: ${secret.slice(0, 12)}…`).toBe(false);
    }
  });
});
