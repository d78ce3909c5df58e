import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';

/** One malformed request: what to send, and the 4xx it must get. */
interface Case {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: () => Promise<RequestInit['body']> | RequestInit['body'];
  status: number;
}

const B = 'XbOuNdArY';
/** A hand-made multipart body, for shapes FormData will not produce. */
const multipart = (...parts: Array<string | Uint8Array>) =>
  new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
const filePart = (content: Buffer | string, filename = 'a.wav', field = 'audio', type = 'audio/wav') =>
  multipart(
    `--${B}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`,
    Buffer.from(content),
    '\r\n',
  );
const fieldPart = (name: string, value: string) =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const end = `--${B}--\r\n`;
const MP = { 'content-type': `multipart/form-data; boundary=${B}` };
const JSONH = { 'content-type': 'application/json' };

const wav = await fixture('question.wav');
const mp3 = await fixture('question.mp3');
const PDF = Buffer.from(`%PDF-1.7\n${'0'.repeat(4000)}`);
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(4000, 1),
]);
const ZIP = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(4000, 7)]);
const RANDOM = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251));
const fileCase = (
  name: string,
  content: Buffer | string,
  status: number,
  filename?: string,
  type?: string,
): Case => ({
  name,
  headers: MP,
  body: () => multipart(filePart(content, filename, 'audio', type), end),
  status,
});
const jsonCase = (
  name: string,
  body: string,
  status: number,
  headers: Record<string, string> = JSONH,
): Case => ({
  name,
  headers,
  body: () => body,
  status,
});
const fieldCase = (name: string, fields: Array<[string, string]>, status: number): Case => ({
  name,
  headers: MP,
  body: () => multipart(...fields.map(([k, v]) => fieldPart(k, v)), end),
  status,
});

const CASES: Case[] = [
  // --- audio that is not what it claims ---
  fileCase('zero-byte audio', '', 400),
  fileCase('RIFF header cut at 12 bytes', wav.subarray(0, 12), 400),
  fileCase('WAV header only (44 bytes)', wav.subarray(0, 44), 400),
  fileCase('MP3 cut at 100 bytes', mp3.subarray(0, 100), 400),
  fileCase('PDF named .wav, labelled audio/wav', PDF, 415),
  fileCase('PNG labelled audio/mpeg', PNG, 415, 'song.mp3', 'audio/mpeg'),
  fileCase('plain text named .wav', 'hello '.repeat(500), 415),
  fileCase('JSON bytes as audio', JSON.stringify({ a: 'b'.repeat(3000) }), 415),
  fileCase('ZIP bytes as audio', ZIP, 415),
  fileCase('random bytes as audio', RANDOM, 415),
  fileCase('HTML as audio', `<!doctype html><html>${'x'.repeat(3000)}</html>`, 415, 'a.webm', 'audio/webm'),
  fileCase('oversized upload', Buffer.concat([wav, wav, wav]), 413),
  fileCase('path traversal filename, non-audio', PDF, 415, '../../../../etc/passwd'),
  fileCase('absolute path filename, non-audio', PDF, 415, '/etc/shadow'),
  fileCase('unicode filename, non-audio', PDF, 415, '💥声音\u202e.wav'),
  fileCase('filename with NUL (malformed part header)', PDF, 400, 'a\u0000.wav'),
  fileCase('Windows path filename, non-audio', PDF, 415, '..\\..\\boot.ini'),
  // --- broken multipart ---
  {
    name: 'two audio files',
    headers: MP,
    body: () => multipart(filePart(wav), filePart(wav), end),
    status: 400,
  },
  {
    name: 'audio in field "file"',
    headers: MP,
    body: () => multipart(filePart(wav, 'a.wav', 'file'), end),
    status: 400,
  },
  {
    name: 'audio and text together',
    headers: MP,
    body: () => multipart(fieldPart('text', 'hi'), filePart(wav), end),
    status: 400,
  },
  { name: 'multipart with no parts', headers: MP, body: () => end, status: 400 },
  {
    name: 'multipart with the wrong boundary',
    headers: MP,
    body: () => `--OTHER\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--OTHER--\r\n`,
    status: 400,
  },
  {
    name: 'multipart without a boundary',
    headers: { 'content-type': 'multipart/form-data' },
    body: () => 'abc',
    status: 400,
  },
  {
    name: 'multipart cut before its end',
    headers: MP,
    body: () => multipart(filePart(wav).subarray(0, 5000)),
    status: 400,
  },
  {
    name: 'part without Content-Disposition',
    headers: MP,
    body: () => `--${B}\r\nContent-Type: text/plain\r\n\r\nhi\r\n${end}`,
    status: 400,
  },
  {
    name: 'filename of 20,000 characters',
    headers: MP,
    body: () => multipart(filePart(PDF, 'a'.repeat(20_000)), end),
    status: 400,
  },
  // --- bad fields ---
  fieldCase('empty text', [['text', '']], 400),
  fieldCase('whitespace-only text', [['text', '   \n\t ']], 400),
  fieldCase('text over MAX_TEXT_CHARS', [['text', 'a'.repeat(10_001)]], 400),
  fieldCase(
    'metadata that is not JSON',
    [
      ['text', 'hi'],
      ['metadata', '{oops'],
    ],
    400,
  ),
  fieldCase(
    'metadata that is an array',
    [
      ['text', 'hi'],
      ['metadata', '[1,2]'],
    ],
    400,
  ),
  fieldCase(
    'metadata over 16 KB',
    [
      ['text', 'hi'],
      ['metadata', JSON.stringify({ a: 'x'.repeat(17_000) })],
    ],
    400,
  ),
  fieldCase(
    'webhook_url that is not a URL',
    [
      ['text', 'hi'],
      ['webhook_url', 'not a url'],
    ],
    400,
  ),
  fieldCase(
    'webhook_url with ftp:',
    [
      ['text', 'hi'],
      ['webhook_url', 'ftp://example.com/x'],
    ],
    400,
  ),
  fieldCase(
    'webhook_url with javascript:',
    [
      ['text', 'hi'],
      ['webhook_url', 'javascript:alert(1)'],
    ],
    400,
  ),
  fieldCase(
    'voice with spaces and quotes',
    [
      ['text', 'hi'],
      ['voice', 'no"va x'],
    ],
    400,
  ),
  fieldCase(
    'unknown pipeline',
    [
      ['text', 'hi'],
      ['pipeline', 'teleport'],
    ],
    400,
  ),
  fieldCase(
    'text into the transcribe pipeline',
    [
      ['text', 'hi'],
      ['pipeline', 'transcribe'],
    ],
    400,
  ),
  fieldCase(
    'unknown field',
    [
      ['text', 'hi'],
      ['colour', 'red'],
    ],
    400,
  ),
  fieldCase(
    'conversation_id with a slash',
    [
      ['text', 'hi'],
      ['conversation_id', '../x'],
    ],
    400,
  ),
  fieldCase(
    'instructions over 4000 characters',
    [
      ['text', 'hi'],
      ['instructions', 'x'.repeat(4001)],
    ],
    400,
  ),
  fieldCase(
    'too many fields',
    Array.from({ length: 30 }, (_, i): [string, string] => [`f${i}`, 'x']),
    400,
  ),
  fieldCase('a field over 64 KB', [['text', 'x'.repeat(70_000)]], 400),
  // --- bad JSON ---
  jsonCase('invalid JSON', '{"text":', 400),
  jsonCase('JSON array', '["hi"]', 400),
  jsonCase('JSON string', '"hi"', 400),
  jsonCase('JSON null', 'null', 400),
  jsonCase('JSON number', '42', 400),
  jsonCase('JSON object without input', '{"voice":"nova"}', 400),
  jsonCase('JSON text of the wrong type', '{"text": 5}', 400),
  jsonCase('JSON with a huge unknown field', JSON.stringify({ text: 'hi', junk: 'x'.repeat(200_000) }), 400),
  jsonCase('JSON over the body limit', JSON.stringify({ text: 'x'.repeat(300_000) }), 413),
  jsonCase('JSON in an unknown charset', '{"text":"hi"}', 415, {
    'content-type': 'application/json; charset=klingon',
  }),
  // --- wrong content types ---
  jsonCase('text/plain body', 'hello', 415, { 'content-type': 'text/plain' }),
  jsonCase('XML body', '<text>hi</text>', 415, { 'content-type': 'application/xml' }),
  jsonCase('octet-stream body', 'hello', 415, { 'content-type': 'application/octet-stream' }),
  // --- bad ids and paths ---
  { name: 'GET a malformed id', method: 'GET', path: '/v1/jobs/not-a-uuid', status: 404 },
  { name: 'GET an unknown id', method: 'GET', path: `/v1/jobs/${randomUUID()}`, status: 404 },
  { name: 'GET a 5,000-character id', method: 'GET', path: `/v1/jobs/${'a'.repeat(5000)}`, status: 404 },
  {
    name: 'GET an encoded traversal id',
    method: 'GET',
    path: '/v1/jobs/..%2F..%2Fetc%2Fpasswd',
    status: 404,
  },
  { name: 'DELETE a NUL id', method: 'DELETE', path: '/v1/jobs/%00', status: 404 },
  { name: 'events of an unknown job', method: 'GET', path: `/v1/jobs/${randomUUID()}/events`, status: 404 },
  {
    name: 'file path traversal',
    method: 'GET',
    path: '/files/..%2F..%2F..%2Fetc%2Fpasswd?expires=9999999999&sig=x',
    status: 403,
  },
  {
    name: 'file without a signature',
    method: 'GET',
    path: `/files/jobs/${randomUUID()}/reply.mp3`,
    status: 403,
  },
  {
    name: 'file with a junk expiry',
    method: 'GET',
    path: `/files/jobs/${randomUUID()}/reply.mp3?expires=abc&sig=x`,
    status: 403,
  },
  { name: 'PUT /v1/jobs', method: 'PUT', path: '/v1/jobs', headers: JSONH, body: () => '{}', status: 405 },
  // --- the original contract gets the same checks ---
  {
    name: 'legacy: non-audio upload',
    path: '/api/voicebot/',
    headers: MP,
    body: () => multipart(filePart(PDF), end),
    status: 415,
  },
  { name: 'legacy: empty request', path: '/api/voicebot/', status: 400 },
  {
    name: 'JSON body nested 5,000 levels deep',
    headers: JSONH,
    body: () => `{"text":"hi","metadata":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    status: 400,
  },
  {
    name: 'batch JSON nested 5,000 levels deep',
    path: '/v1/batches',
    headers: JSONH,
    body: () => `{"items":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    status: 400,
  },
  {
    name: 'multipart metadata nested 5,000 levels deep',
    headers: MP,
    body: () =>
      multipart(
        fieldPart('text', 'hi'),
        fieldPart('metadata', `${'['.repeat(5000)}${']'.repeat(5000)}`),
        end,
      ),
    status: 400,
  },
];

describe(`a corpus of ${CASES.length} malformed requests`, () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: false, env: { MAX_UPLOAD_BYTES: String(500 * 1024) } });
  });
  afterAll(async () => stack?.close());

  it('has at least 50 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(50));

  it.each(CASES)('$name → $status with a JSON problem', async (c) => {
    const res = await fetch(`${stack.url}${c.path ?? '/v1/jobs'}`, {
      method: c.method ?? 'POST',
      headers: c.headers,
      body: await c.body?.(),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    expect(res.status, text).toBe(c.status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = JSON.parse(text) as { status: number; code: string; detail: string };
    expect(problem.status).toBe(c.status);
    expect(problem.code).toMatch(/^[a-z_]+$/);
    expect(problem.detail.length).toBeGreaterThan(5);

    expect(text).not.toMatch(/at .*\.(ts|js):\d+/); // never a stack trace
  });

  it('a body nested deeper than 32 levels is refused before validation, naming the bound', async () => {
    const res = await fetch(`${stack.url}/v1/jobs`, {
      method: 'POST',
      headers: JSONH,
      body: `{"text":"hi","metadata":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'json_too_deep', detail: expect.stringContaining('32') });
    // 31 levels of metadata (32 with the body) passes the bound and reaches validation (which refuses the
    // unknown field here, so the check leaves no job behind).
    const ok = await fetch(`${stack.url}/v1/jobs`, {
      method: 'POST',
      headers: JSONH,
      body: `{"text":"hi","unknown_field":1,"metadata":${'{"a":'.repeat(31)}1${'}'.repeat(31)}}`,
    });
    expect(await ok.json()).toMatchObject({ code: 'validation_failed' });
  });

  it('left nothing behind and the API is still healthy', async () => {
    expect((await fetch(`${stack.url}/readyz`)).status).toBe(200);
    const jobs = await readdir(join(stack.dataDir, 'objects', 'jobs')).catch(() => []);
    expect(jobs).toEqual([]);
    expect(await readdir(join(stack.dataDir, 'tmp'))).toEqual([]);
    const redis = new Redis(stack.config.redisUrl);
    try {
      // Only the queues' own metadata (written when a queue client starts) may exist: no job, no record.
      const keys = await redis.keys(`${stack.config.prefix}:*`);
      // (and the per-client request counter of the rate limiter)
      expect(keys.filter((k) => !k.endsWith(':meta') && !k.includes(':ratelimit:'))).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
