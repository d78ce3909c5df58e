/**
 * Secure by default in production (issue #18): real API processes (`node src/api/main.ts`) with
 * NODE_ENV=production on a real Redis. No key and no opt-in → the API does not start; with a key every request
 * needs it; /metrics is not on the public port without METRICS_TOKEN; a webhook job nobody can sign is refused;
 * each explicit opt-in (ALLOW_OPEN_API, ALLOW_PUBLIC_METRICS, ALLOW_UNSIGNED_WEBHOOKS) restores the old
 * behaviour and says so in the log. Plus METRICS_CLIENT_LABELS=false on a whole stack.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/shared/api-keys.ts';
import { createRedis, type RedisClient } from '../../src/shared/redis.ts';
import { postJob, waitForJob } from '../support/http.ts';
import { freePort, type RedisHandle, startRedis } from '../support/index.ts';
import { sampleValue, scrape } from '../support/prometheus.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

const WEBHOOK = 'http://127.0.0.1:9/hook';

describe('NODE_ENV=production: API processes', () => {
  let redis: RedisHandle;
  let client: RedisClient;
  let dataDir: string;
  const running: ServiceProcess[] = [];
  let n = 0;

  beforeAll(async () => {
    redis = await startRedis();
    client = createRedis(redis.url, 'command', 'test-production-security');
    dataDir = await mkdtemp(join(tmpdir(), 'vb-prod-'));
  });
  afterEach(async () => {
    for (const p of running.splice(0)) {
      p.kill('SIGKILL');
      await p.exited;
    }
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** A fresh key space per process: its keys are its own. */
  const newPrefix = () => `{${redis.prefix}-${++n}}`;

  /** Spawns the API in production; resolves once /healthz answers, or with the exit code if it ended first. */
  async function startApi(prefix: string, env: Record<string, string> = {}) {
    const port = await freePort();
    const metricsPort = await freePort();
    const proc = spawnService('api', {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...redis.env(),
      QUEUE_PREFIX: prefix,
      DATA_DIR: dataDir,
      OPENAI_API_KEY: 'sk-test',
      METRICS_PORT: String(metricsPort),
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      ...env,
    });
    running.push(proc);
    const url = `http://127.0.0.1:${port}`;
    let exit: number | string | undefined;
    void proc.exited.then((code) => {
      exit = code;
    });
    await waitFor(
      async () => exit !== undefined || (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true,
      { timeoutMs: 120_000, message: 'the API neither answered nor exited' },
    );
    return { proc, url, metricsUrl: `http://127.0.0.1:${metricsPort}`, exit, log: proc.output };
  }

  const logged = (lines: string[], text: string) => lines.some((l) => l.includes(text));
  const posture = (lines: string[]) => {
    const line = lines.find((l) => l.includes('security posture'));
    expect(line, 'a security posture line').toBeDefined();
    return (JSON.parse(line as string) as { security: Record<string, string> }).security;
  };

  it('no API key and no opt-in: exits 1 with one boot error saying what to set', async () => {
    const api = await startApi(newPrefix());
    expect(await api.proc.exited).toBe(1);
    const fatal = api.log.filter((l) => l.includes('"level":60'));
    expect(fatal).toHaveLength(1);
    const msg = (JSON.parse(fatal[0] as string) as { msg: string }).msg;
    expect(msg).toMatch(/Refusing to start: NODE_ENV=production and no API key exists/);
    expect(msg).toContain('voicebot keys create');
    expect(msg).toContain('ALLOW_OPEN_API=true');
    // nothing was listening: no stack trace, no "listening" line
    expect(logged(api.log, 'api listening')).toBe(false);
  });

  it('with a key: /v1/jobs needs it, /metrics is only on the internal port, the posture is logged', async () => {
    const prefix = newPrefix();
    const { key } = await new ApiKeys(client, prefix).create({ name: 'call centre A' });
    const api = await startApi(prefix);
    expect(api.exit).toBeUndefined();

    const anonymous = await postJob(api.url, { text: 'who pays for this?' });
    expect(anonymous.res.status).toBe(401);
    expect(anonymous.body.code).toBe('unauthorized');
    const keyed = await postJob(api.url, { text: 'hello' }, { authorization: `Bearer ${key}` });
    expect(keyed.res.status).toBe(202);
    // The client has its own webhook secret (made with its key): its webhook jobs are signable.
    const hooked = await postJob(
      api.url,
      { text: 'call me back', webhook_url: WEBHOOK },
      { authorization: `Bearer ${key}` },
    );
    expect(hooked.res.status).toBe(202);

    const pub = await fetch(`${api.url}/metrics`);
    expect(pub.status).toBe(404);
    expect(((await pub.json()) as { code: string }).code).toBe('metrics_not_public');
    const internal = await scrape(api.metricsUrl);
    expect(sampleValue(internal, 'voicebot_queue_metrics_up')).toBe(1);

    expect(posture(api.log)).toEqual({
      auth: 'api keys',
      metrics: expect.stringMatching(/^not on the public port; port \d+$/),
      webhooks: expect.stringContaining('webhook_url refused for a client without one'),
      cors: 'none (same origin only)',
      admin: 'disabled (no ADMIN_TOKEN)',
    });
    expect(logged(api.log, 'explicit opt-in')).toBe(false);
  });

  it('INITIAL_API_KEY starts a fresh deployment closed; METRICS_TOKEN guards /metrics on both ports', async () => {
    const initial = `vb_${'k'.repeat(30)}`;
    const token = 'scrape-token-123';
    const api = await startApi(newPrefix(), {
      INITIAL_API_KEY: initial,
      METRICS_TOKEN: token,
      CORS_ORIGINS: 'https://app.example.com',
      ADMIN_TOKEN: 'admin-token',
    });
    expect(api.exit).toBeUndefined();
    expect((await postJob(api.url, { text: 'hi' })).res.status).toBe(401);
    expect((await postJob(api.url, { text: 'hi' }, { authorization: `Bearer ${initial}` })).res.status).toBe(
      202,
    );

    expect((await fetch(`${api.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${api.metricsUrl}/metrics`)).status).toBe(401);
    expect(
      sampleValue(await scrape(api.url, { authorization: `Bearer ${token}` }), 'voicebot_queue_metrics_up'),
    ).toBe(1);
    expect(posture(api.log)).toMatchObject({
      auth: 'api keys',
      metrics: expect.stringMatching(/^METRICS_TOKEN on the public port; port \d+ \(METRICS_TOKEN\)$/),
      cors: 'https://app.example.com',
      admin: 'ADMIN_TOKEN',
    });
    // the token never reaches the log
    expect(api.log.join('\n')).not.toContain(token);
    expect(api.log.join('\n')).not.toContain(initial);
  });

  it('ALLOW_OPEN_API=true: starts open and says so; webhook jobs nobody can sign are 400; a key created later closes it', async () => {
    const prefix = newPrefix();
    const api = await startApi(prefix, { ALLOW_OPEN_API: 'true' });
    expect(api.exit).toBeUndefined();
    expect(logged(api.log, 'ALLOW_OPEN_API=true')).toBe(true);
    expect(posture(api.log).auth).toBe('open: no API key (ALLOW_OPEN_API=true)');

    expect((await postJob(api.url, { text: 'open for business' })).res.status).toBe(202);
    const hooked = await postJob(api.url, { text: 'call me', webhook_url: WEBHOOK });
    expect(hooked.res.status).toBe(400);
    expect(hooked.body.code).toBe('webhook_secret_missing');
    expect(hooked.body.detail).toContain('WEBHOOK_SECRET');
    // a batch with a webhook_url for its items is refused the same way
    const batch = await fetch(`${api.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ text: 'a' }], webhook_url: WEBHOOK }),
    });
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { code: string }).code).toBe('webhook_secret_missing');
    // /metrics stays off the public port: ALLOW_OPEN_API opens nothing else
    expect((await fetch(`${api.url}/metrics`)).status).toBe(404);

    // Keys created after start-up are picked up as before (within the auth check's 5 s).
    await new ApiKeys(client, prefix).create({ name: 'late' });
    await waitFor(async () => (await postJob(api.url, { text: 'still open?' })).res.status === 401, {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: 'a key created after start-up did not close the API',
    });
  });

  it('with WEBHOOK_SECRET a webhook job of the open client is accepted', async () => {
    const api = await startApi(newPrefix(), {
      ALLOW_OPEN_API: 'true',
      WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    });
    expect((await postJob(api.url, { text: 'call me', webhook_url: WEBHOOK })).res.status).toBe(202);
    expect(posture(api.log).webhooks).toMatch(/^signed \(WEBHOOK_SECRET/);
  });

  it('ALLOW_PUBLIC_METRICS and ALLOW_UNSIGNED_WEBHOOKS restore the old behaviour, each logged', async () => {
    const api = await startApi(newPrefix(), {
      ALLOW_OPEN_API: 'true',
      ALLOW_PUBLIC_METRICS: 'true',
      ALLOW_UNSIGNED_WEBHOOKS: 'true',
    });
    for (const name of ['ALLOW_OPEN_API', 'ALLOW_PUBLIC_METRICS', 'ALLOW_UNSIGNED_WEBHOOKS']) {
      const warning = api.log.find((l) => l.includes(`"opt_in":"${name}"`));
      expect(warning, name).toBeDefined();
      expect((JSON.parse(warning as string) as { level: number }).level).toBe(40);
    }
    expect((await postJob(api.url, { text: 'call me', webhook_url: WEBHOOK })).res.status).toBe(202);
    expect(sampleValue(await scrape(api.url), 'voicebot_queue_metrics_up')).toBe(1);
    expect(posture(api.log)).toMatchObject({
      metrics: expect.stringMatching(/^open on the public port/),
      webhooks: expect.stringContaining('ALLOW_UNSIGNED_WEBHOOKS=true'),
    });
  });

  it('development keeps the friendly open mode: no key, no opt-in, starts and accepts jobs', async () => {
    const api = await startApi(newPrefix(), { NODE_ENV: 'development' });
    expect(api.exit).toBeUndefined();
    expect((await postJob(api.url, { text: 'hello', webhook_url: WEBHOOK })).res.status).toBe(202);
    expect((await fetch(`${api.url}/metrics`)).status).toBe(200);
    expect(posture(api.log).auth).toBe('open until the first API key exists (development)');
    expect(logged(api.log, 'explicit opt-in')).toBe(false);
  });
});

describe('METRICS_CLIENT_LABELS=false', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { METRICS_CLIENT_LABELS: 'false' } });
  });
  afterAll(async () => stack?.close());

  it('usage and cost are counted per stage and model, with no client label', async () => {
    const { body } = await postJob(stack.url, { text: 'How much did that cost?' });
    expect((await waitForJob(stack.url, body.id)).status).toBe('succeeded');
    const metrics = await scrape(stack.url);
    const usage = [
      'voicebot_provider_cost_usd_total',
      'voicebot_provider_tokens_total',
      'voicebot_provider_characters_total',
    ].flatMap((name) => metrics.get(name)?.samples ?? []);
    expect(usage.length).toBeGreaterThan(0);
    for (const s of usage) expect(s.labels, s.name).not.toHaveProperty('client');
    expect(sampleValue(metrics, 'voicebot_provider_cost_usd_total', { stage: 'chat' })).toBeGreaterThan(0);
  });
});
