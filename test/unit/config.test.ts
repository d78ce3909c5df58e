import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/shared/config.ts';

describe('loadConfig', () => {
  it('runs on embedded defaults: local storage, simulator, every stage', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.storage.s3).toBeUndefined();
    expect(c.storage.dataDir).toBe('./data');
    expect(c.simulator.enabled).toBe(true);
    expect(c.worker.stages).toEqual(['transcribe', 'chat', 'speak', 'summarize']);
    expect(c.tts.voice).toBe('nova');
    expect(c.limits.uploadBytes).toBe(100 * 1024 * 1024);
    expect(c.storage.urlTtlSeconds).toBe(3600);
  });

  it('lists every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        WORKER_STAGES: 'transcribe,paint',
        AUDIO_URL_TTL_SECONDS: '99999999',
        WEBHOOK_SECRET: 'nope',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'WORKER_STAGES', 'AUDIO_URL_TTL_SECONDS', 'WEBHOOK_SECRET'])
      expect(message).toContain(name);
  });

  it('refuses to run the simulator in production unless chosen explicitly', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/OPENAI_API_KEY/);
    expect(loadConfig({ NODE_ENV: 'production', USE_SIMULATOR: 'true' }).simulator.enabled).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', OPENAI_API_KEY: 'sk-x' }).simulator.enabled).toBe(false);
  });

  it('production is closed unless each opening is opted into; development and test stay open', () => {
    const prod = loadConfig({ NODE_ENV: 'production', OPENAI_API_KEY: 'sk-x' });
    expect(prod.auth.allowOpen).toBe(false);
    expect(prod.webhooks.allowUnsigned).toBe(false);
    expect(prod.metrics.publicPort).toBe('internal');
    expect(prod.optIns).toEqual([]);
    const opened = loadConfig({
      NODE_ENV: 'production',
      OPENAI_API_KEY: 'sk-x',
      ALLOW_OPEN_API: 'true',
      ALLOW_PUBLIC_METRICS: 'true',
      ALLOW_UNSIGNED_WEBHOOKS: 'true',
    });
    expect(opened.auth.allowOpen && opened.webhooks.allowUnsigned).toBe(true);
    expect(opened.metrics.publicPort).toBe('open');
    expect(opened.optIns).toEqual(['ALLOW_OPEN_API', 'ALLOW_PUBLIC_METRICS', 'ALLOW_UNSIGNED_WEBHOOKS']);
    expect(
      loadConfig({ NODE_ENV: 'production', OPENAI_API_KEY: 'sk-x', METRICS_TOKEN: 't' }).metrics.publicPort,
    ).toBe('token');
    for (const env of ['development', 'test']) {
      const c = loadConfig({ NODE_ENV: env, ALLOW_OPEN_API: 'false' });
      expect(c.auth.allowOpen && c.webhooks.allowUnsigned, env).toBe(true);
      expect(c.metrics.publicPort, env).toBe('open');
      expect(c.metrics.apiServesPort, env).toBe(false);
      expect(c.optIns, env).toEqual([]);
    }
    expect(() => loadConfig({ INITIAL_API_KEY: 'short' })).toThrow(/INITIAL_API_KEY: must be at least 24/);
  });

  it('uses S3 when S3_BUCKET is set, and per-stage provider overrides', () => {
    const c = loadConfig({
      S3_BUCKET: 'b',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
      OPENAI_API_KEY: 'sk-a',
      OPENAI_BASE_URL: 'http://llm.local/v1',
      TRANSCRIBE_BASE_URL: 'http://whisper.local/v1',
      TRANSCRIBE_API_KEY: 'k2',
      WORKER_STAGES: 'transcribe, chat',
      CHAT_CONCURRENCY: '3',
    });
    expect(c.storage.s3).toEqual({
      bucket: 'b',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
    });
    expect(c.providers.transcribe).toMatchObject({ baseURL: 'http://whisper.local/v1', apiKey: 'k2' });
    expect(c.providers.chat).toMatchObject({ baseURL: 'http://llm.local/v1', apiKey: 'sk-a' });
    expect(c.worker.stages).toEqual(['transcribe', 'chat']);
    expect(c.worker.settings.chat.concurrency).toBe(3);
    expect(c.worker.settings.transcribe.concurrency).toBe(8);
  });
});

describe('documentation of settings', () => {
  it('.env.example and the README name every variable the service reads', async () => {
    const { readFile } = await import('node:fs/promises');
    const { CONFIG_VARIABLES } = await import('../../src/shared/config.ts');
    const example = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const perStage = /^(TRANSCRIBE|CHAT|SPEAK|SUMMARIZE)_(CONCURRENCY|ATTEMPTS|TIMEOUT_MS|RPM)$/;
    const missing = CONFIG_VARIABLES.filter(
      (v) => !perStage.test(v) && (!example.includes(v) || !readme.includes(v)),
    );
    expect(missing).toEqual([]);
  });
});
