import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioForm, fixture, postJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';

/** Every job record key and BullMQ key under the stack's prefix. */
async function redisKeys(stack: Stack): Promise<string[]> {
  const redis = new Redis(stack.config.redisUrl);
  try {
    return (await redis.keys(`${stack.config.prefix}:*`)).filter(
      (k) => !k.endsWith(':events') && !k.endsWith(':meta') && !k.includes(':ratelimit:'),
    );
  } finally {
    redis.disconnect();
  }
}

async function storedObjects(stack: Stack): Promise<string[]> {
  try {
    return await readdir(join(stack.dataDir, 'objects', 'jobs'));
  } catch {
    return [];
  }
}

describe('intake refuses bad input with a clear 4xx and stores nothing', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: false, env: { MAX_UPLOAD_BYTES: String(300 * 1024) } });
  });
  afterAll(async () => stack?.close());

  it('non-audio bytes with an audio filename and content-type → 415', async () => {
    const { res, body } = await postJob(
      stack.url,
      audioForm(Buffer.from('%PDF-1.7 not a recording'.repeat(300)), 'voice.wav', 'audio/wav'),
    );
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(body).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(body.detail).toMatch(/not audio/);
  });

  it('an empty request → 400', async () => {
    const res = await fetch(`${stack.url}/v1/jobs`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'empty_request' });
    const form = await postJob(stack.url, new FormData());
    expect(form.res.status).toBe(400);
    expect(form.body.code).toBe('missing_input');
  });

  it('a zero-byte audio file → 400', async () => {
    const { res, body } = await postJob(stack.url, audioForm(Buffer.alloc(0)));
    expect(res.status).toBe(400);
    expect(body.code).toBe('empty_audio');
  });

  it('an upload over MAX_UPLOAD_BYTES → 413', async () => {
    const wav = await fixture('question.wav'); // 214 KB
    const big = Buffer.concat([wav, wav]);
    const { res, body } = await postJob(stack.url, audioForm(big));
    expect(res.status).toBe(413);
    expect(body).toMatchObject({ code: 'payload_too_large' });
    expect(body.detail).toContain(String(300 * 1024));
  });

  it('audio sent in the wrong field, or with text too → 400 naming the fix', async () => {
    const wav = await fixture('question.wav');
    const wrong = new FormData();
    wrong.append('file', new Blob([new Uint8Array(wav)]), 'a.wav');
    const r1 = await postJob(stack.url, wrong);
    expect(r1.res.status).toBe(400);
    expect(r1.body.detail).toContain('"audio"');
    const both = await postJob(stack.url, audioForm(wav, 'a.wav', 'audio/wav', { text: 'hi' }));
    expect(both.res.status).toBe(400);
    expect(both.body.code).toBe('ambiguous_input');
  });

  it('bad JSON, unknown fields and bad options → 400 listing the fields', async () => {
    const bad = await fetch(`${stack.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('invalid_json');
    const { res, body } = await postJob(stack.url, {
      text: 'hi',
      colour: 'red',
      webhook_url: 'ftp://x',
      metadata: [1],
    });
    expect(res.status).toBe(400);
    const fields = (body.errors as Array<{ field: string | null }>).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['webhook_url', 'metadata']));
    expect(body.detail).toContain('colour');
  });

  it('a content type we do not take → 415', async () => {
    const res = await fetch(`${stack.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(415);
  });

  it('left nothing behind: no stored object, no job record, no queued work', async () => {
    expect(await storedObjects(stack)).toEqual([]);
    expect(await redisKeys(stack)).toEqual([]);
  });
});
