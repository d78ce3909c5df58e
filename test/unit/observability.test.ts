import type { Request, RequestHandler, Response } from 'express';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { adminAuth, presentedToken } from '../../src/api/middleware/admin-auth.ts';
import { ConfigError, loadConfig } from '../../src/shared/config.ts';
import type { HttpError } from '../../src/shared/errors.ts';
import { createLogger, REDACT_PATHS } from '../../src/shared/logger.ts';
import { metricsAuthorized, recordUsage, registry } from '../../src/shared/metrics.ts';
import { costOf, DEFAULT_PRICES, parsePriceTable } from '../../src/shared/prices.ts';
import type { RedisClient } from '../../src/shared/redis.ts';
import { startRedisWatchdog } from '../../src/worker/watchdog.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus.ts';

describe('Prometheus text', () => {
  it('the registry renders text the strict parser accepts, with HELP and TYPE for every family', async () => {
    recordUsage(
      DEFAULT_PRICES,
      { client: 'acme', stage: 'chat', model: 'gpt-5.4-mini' },
      { inputTokens: 1000 },
    );
    const families = parsePrometheusText(await registry.metrics());
    expect(families.get('voicebot_provider_tokens_total')?.type).toBe('counter');
    expect(families.get('voicebot_stage_duration_seconds')?.type).toBe('histogram');
    for (const f of families.values()) expect(f.help, f.name).toBeTruthy();
    expect(
      sampleValue(families, 'voicebot_provider_tokens_total', { client: 'acme', direction: 'input' }),
    ).toBe(1000);
    expect(sampleValue(families, 'voicebot_provider_cost_usd_total', { client: 'acme' })).toBeCloseTo(
      0.00075,
      8,
    );
  });

  it('the parser refuses what is not the format', () => {
    const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1",y="a\\"b"} 2\n';
    expect(sampleValue(parsePrometheusText(ok), 'a_total', { y: 'a"b' })).toBe(2);
    expect(() => parsePrometheusText('b_total 1\n')).toThrow(/without a TYPE/);
    expect(() => parsePrometheusText('# TYPE a gauge\na{x=1} 2\n')).toThrow(/bad labels/);
    expect(() => parsePrometheusText('# TYPE a gauge\na twelve\n')).toThrow(/bad sample value/);
    expect(() => parsePrometheusText('# TYPE a nonsense\n')).toThrow(/bad TYPE/);
  });
});

describe('price table', () => {
  it('has defaults for the default models and estimates cost per unit', () => {
    const c = loadConfig({});
    for (const model of [c.providers.transcribe.model, c.providers.chat.model, c.providers.speak.model])
      expect(c.metrics.prices[model], model).toBeDefined();
    expect(costOf(DEFAULT_PRICES, 'gpt-4o-mini-transcribe', { audioSeconds: 120 })).toBeCloseTo(0.006);
    expect(costOf(DEFAULT_PRICES, 'gpt-4o-mini-tts', { characters: 1_000_000 })).toBeCloseTo(15);
    expect(costOf(DEFAULT_PRICES, 'unknown-model', { inputTokens: 1e6 })).toBe(0);
  });

  it('PRICE_TABLE replaces or adds models; a bad one stops the configuration', () => {
    const prices = parsePriceTable(
      '{"my-model":{"usd_per_1m_input_tokens":1},"whisper-1":{"usd_per_audio_minute":0.01}}',
    );
    expect(prices['my-model']).toEqual({ usd_per_1m_input_tokens: 1 });
    expect(prices['whisper-1']).toEqual({ usd_per_audio_minute: 0.01 });
    expect(prices['gpt-4o-mini-tts']).toBeDefined();
    expect(() => loadConfig({ PRICE_TABLE: 'nope' })).toThrow(ConfigError);
    expect(() => loadConfig({ PRICE_TABLE: '{"m":{"usd_per_minute":1}}' })).toThrow(/PRICE_TABLE/);
  });
});

describe('operator auth', () => {
  it('reads the admin token from bearer or basic auth (any user)', () => {
    expect(presentedToken('Bearer abc')).toBe('abc');
    expect(presentedToken(`Basic ${Buffer.from('ops:s3cr:et').toString('base64')}`)).toBe('s3cr:et');
    expect(presentedToken(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeUndefined();
    expect(presentedToken(undefined)).toBeUndefined();
  });

  it('without ADMIN_TOKEN the dashboard is open in development only', () => {
    const req = (authorization?: string) => ({ get: () => authorization }) as unknown as Request;
    const run = (mw: RequestHandler, r: Request) => {
      let passed = false;
      try {
        mw(r, {} as Response, () => {
          passed = true;
        });
      } catch (err) {
        return (err as HttpError).status;
      }
      return passed ? 'next' : 'nothing';
    };
    expect(run(adminAuth({ token: undefined, env: 'development' }), req())).toBe('next');
    for (const env of ['production', 'test'])
      expect(run(adminAuth({ token: undefined, env }), req())).toBe(403);
    const guarded = adminAuth({ token: 't0k', env: 'development' });
    expect(run(guarded, req())).toBe(401);
    expect(run(guarded, req('Bearer nope'))).toBe(401);
    expect(run(guarded, req('Bearer t0k'))).toBe('next');
    expect(run(guarded, req(`Basic ${Buffer.from('x:t0k').toString('base64')}`))).toBe('next');
  });

  it('metrics are open without METRICS_TOKEN and want the bearer token with it', () => {
    expect(metricsAuthorized(undefined, undefined)).toBe(true);
    expect(metricsAuthorized('Bearer t0k', 't0k')).toBe(true);
    expect(metricsAuthorized('Bearer nope', 't0k')).toBe(false);
    expect(metricsAuthorized(undefined, 't0k')).toBe(false);
  });
});

describe('logs', () => {
  it('redacts authorization headers, API keys, webhook secrets and signed URLs', () => {
    const lines: string[] = [];
    const log = pino(
      { redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      { write: (line: string) => void lines.push(line) },
    );
    log.info(
      {
        req: { headers: { authorization: 'Bearer sk-live-1' } },
        headers: { authorization: 'Basic b3BzOnM=' },
        apiKey: 'sk-2',
        api_key: 'sk-3',
        webhook_secret: 'whsec_x',
        secrets: ['whsec_y'],
        audio_url: 'https://bucket.s3/reply.mp3?X-Amz-Signature=abc',
        job: { output_wav_url: 'http://h/files/x?sig=1', artifacts: { transcript_txt: 'http://h?sig=2' } },
      },
      'check',
    );
    const text = lines.join('');
    expect(text).toContain('"msg":"check"');
    for (const secret of [
      'sk-live-1',
      'b3BzOnM=',
      'sk-2',
      'sk-3',
      'whsec_x',
      'whsec_y',
      'X-Amz-Signature',
      'sig=1',
      'sig=2',
    ])
      expect(text, secret).not.toContain(secret);
  });
});

describe('Redis watchdog', () => {
  const quiet = createLogger({ level: 'silent', env: 'test' });
  const fakeRedis = (up: () => boolean) =>
    ({
      status: 'ready',
      ping: async () => (up() ? 'PONG' : Promise.reject(new Error('down'))),
    }) as unknown as RedisClient;

  it('ends the process once Redis stays unreachable longer than the limit, not before', async () => {
    let up = true;
    let expiredAt = 0;
    const dog = startRedisWatchdog(
      fakeRedis(() => up),
      300,
      quiet,
      () => {
        expiredAt = Date.now();
      },
    );
    await new Promise((r) => setTimeout(r, 200));
    const downAt = Date.now();
    up = false;
    await new Promise((r) => setTimeout(r, 700));
    dog.stop();
    expect(expiredAt - downAt).toBeGreaterThanOrEqual(200);
    expect(expiredAt - downAt).toBeLessThan(600);
  });

  it('a short outage is forgiven', async () => {
    let up = true;
    let expired = false;
    const dog = startRedisWatchdog(
      fakeRedis(() => up),
      400,
      quiet,
      () => {
        expired = true;
      },
    );
    up = false;
    await new Promise((r) => setTimeout(r, 200));
    up = true;
    await new Promise((r) => setTimeout(r, 500));
    dog.stop();
    expect(expired).toBe(false);
  });
});
