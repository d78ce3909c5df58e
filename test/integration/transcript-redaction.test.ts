/**
 * `redact: true, redact_audio: true` on voicemail-short.wav (issue 15), on local storage and on S3, on the
 * default setup (the job needs word times, so it goes to TRANSCRIBE_TIMESTAMPS_MODEL): the caller's name and
 * number are in no stored object, no Redis value (record, events, queues), no webhook body, no event and no
 * log line of the worker; the redacted audio is below -60 dB over every redacted value and keeps its level
 * elsewhere; the original input is deleted. And (issue 24) a provider whose words are written differently
 * from the plain recogniser's (`555-213-4478,` one word, punctuation attached) still gets the number
 * silenced on its words.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/shared/redis.ts';
import { type Job, postJob, readEvents, waitForJob } from '../support/http.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { fileForm } from '../support/voicemail.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

const run = promisify(execFile);
const SAMPLE = join(import.meta.dirname, '..', '..', '..', 'shared', 'samples', 'voicemail-short.wav');

/** The caller's name and callback number (555 213 4478), in every form they could be written. */
const FORBIDDEN = [
  /maria/i,
  /lopez/i,
  // digit runs of the number, with or without separators (a bare "555" also occurs in ids and timestamps)
  /555\W{0,3}213/,
  /213\W{0,3}4478/,
  /five,? five,? five/i,
  /four,? four,? seven/i,
  /two,? one,? three/i,
];
const leaks = (label: string, text: string) =>
  FORBIDDEN.flatMap((re) => {
    const at = text.search(re);
    return at < 0 ? [] : [`${label}: ${re} in …${text.slice(Math.max(0, at - 80), at + 80)}…`];
  });

/** Max volume (dB) of [start, end) seconds of an audio file, by ffmpeg volumedetect. */
async function maxVolume(path: string, start: number, end: number): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-ss',
    start.toFixed(3),
    '-t',
    (end - start).toFixed(3),
    '-i',
    path,
    '-af',
    'volumedetect',
    '-f',
    'null',
    '-',
  ]);
  const m = /max_volume:\s*(-?[\d.]+|-inf) dB/.exec(stderr);
  if (!m?.[1]) throw new Error(`no volume in ${stderr.slice(-300)}`);
  return m[1] === '-inf' ? -120 : Number(m[1]);
}

/** Every value in Redis under the stack's prefix, as text (hashes, strings, streams, lists, sets). */
async function redisDump(stack: Stack): Promise<string[]> {
  const redis = createRedis(stack.config.redis, 'blocking', 'test');
  const out: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `*${stack.config.prefix}*`, 'COUNT', '500');
      cursor = next;
      for (const key of found) {
        const type = await redis.type(key);
        if (type === 'hash') out.push(`${key} ${JSON.stringify(await redis.hgetall(key))}`);
        else if (type === 'string') out.push(`${key} ${await redis.get(key)}`);
        else if (type === 'stream') out.push(`${key} ${JSON.stringify(await redis.xrange(key, '-', '+'))}`);
        else if (type === 'list') out.push(`${key} ${JSON.stringify(await redis.lrange(key, 0, -1))}`);
        else if (type === 'zset') out.push(`${key} ${JSON.stringify(await redis.zrange(key, '0', '-1'))}`);
        else if (type === 'set') out.push(`${key} ${JSON.stringify(await redis.smembers(key))}`);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return out;
}

/** Every stored object: key → bytes. */
async function storedObjects(stack: Stack): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (stack.s3) {
    const s3 = stack.s3.client();
    try {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: stack.s3.bucket }));
      for (const o of listed.Contents ?? []) {
        const got = await s3.send(new GetObjectCommand({ Bucket: stack.s3.bucket, Key: o.Key }));
        out.set(
          o.Key as string,
          Buffer.from(
            await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
          ),
        );
      }
    } finally {
      s3.destroy();
    }
    return out;
  }
  const root = join(stack.dataDir, 'objects');
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else out.set(path.slice(root.length + 1), await readFile(path));
    }
  };
  await walk(root);
  return out;
}

const secret = newSecret();

describe.each(['local', 's3'] as const)('redaction on %s storage', (storage) => {
  let stack: Stack;
  let worker: ServiceProcess;
  beforeAll(async () => {
    stack = await startStack({
      storage,
      workers: false,
      env: {
        WEBHOOK_SECRET: secret,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      },
    });
    // A worker process of its own, logging everything down to debug: its lines are checked too.
    worker = spawnService('worker', { ...stack.env, LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await worker?.exited;
    await stack?.close();
  });

  it('voicemail-short.wav with redact: true, redact_audio: true leaves no name or number anywhere', async () => {
    const receiver = await startReceiver(secret);
    try {
      const { res, body } = await postJob(
        stack.url,
        await fileForm(SAMPLE, {
          pipeline: 'voicemail',
          redact: 'true',
          redact_audio: 'true',
          webhook_url: receiver.url,
        }),
      );
      expect(res.status).toBe(202);
      const job = await waitForJob(stack.url, body.id);
      expect(job.error).toBeNull();
      expect(job.status).toBe('succeeded');
      expect(job.transcript).toContain('[PHONE_NUMBER]');
      expect(job.transcript).toContain('[PERSON_NAME]');
      expect(job.transcription_model).toEqual({ model: 'whisper-1', reason: 'redact_audio' });
      const phone = job.redactions.find((r: Job) => r.type === 'phone_number');
      expect(phone.end - phone.start).toBeGreaterThan(2);
      for (const r of job.redactions) expect(r.located).toBe('words');
      expect(job.warnings).toEqual([]);
      expect(job.redactions.filter((r: Job) => r.type === 'person_name').length).toBeGreaterThanOrEqual(2);
      expect(Object.keys(job.artifacts)).toEqual(expect.arrayContaining(['redacted_audio', 'summary_json']));
      expect(job.summary.callback_number).toBeNull();

      // the webhook was delivered (and verified) before the job view says so
      await waitFor(() => receiver.received.length > 0, { timeoutMs: 120_000, message: 'the webhook' });
      expect(receiver.received[0]?.verified).toBeDefined();
      const events = await readEvents(stack.url, job.id);
      expect(events.length).toBeGreaterThan(3);
      const objects = await storedObjects(stack);
      const keys = [...objects.keys()].filter((k) => k.includes(job.id));
      expect(keys.some((k) => k.endsWith('/input'))).toBe(false);
      expect(keys.some((k) => k.endsWith('redacted-audio.mp3'))).toBe(true);
      const problems = [
        ...leaks('job view', JSON.stringify(job)),
        ...receiver.received.flatMap((r) => leaks('webhook body', r.body)),
        ...events.flatMap((e) => leaks('event', JSON.stringify(e))),
        ...(await redisDump(stack)).flatMap((v) => leaks('redis', v)),
        ...worker.output.flatMap((line) => leaks('worker log', line)),
        ...[...objects]
          .filter(([k]) => !k.endsWith('.mp3'))
          .flatMap(([k, v]) => leaks(`object ${k}`, v.toString('utf8'))),
      ];
      expect(problems).toEqual([]);
      expect(worker.output.some((l) => l.includes(job.id))).toBe(true);

      // the redacted audio is below -60 dB over every redacted value, the rest keeps its level
      const redacted = join(stack.dataDir, 'redacted.mp3');
      await writeFile(
        redacted,
        objects.get(keys.find((k) => k.endsWith('redacted-audio.mp3')) as string) as Buffer,
      );
      expect(await maxVolume(SAMPLE, phone.start + 0.1, phone.end - 0.1)).toBeGreaterThan(-30);
      await checkSilenced(SAMPLE, redacted, job.redactions, job.duration_seconds);
      await rm(redacted);
    } finally {
      await receiver.close();
    }
  });
});

/**
 * Every redacted span of `redacted` is below -60 dB; every stretch between them (0.2 s clear of each) that
 * is loud in the original is within 3 dB of its level there.
 */
async function checkSilenced(
  original: string,
  redacted: string,
  redactions: Array<{ start: number; end: number }>,
  duration: number,
) {
  const spans = [...redactions].sort((a, b) => a.start - b.start);
  for (const r of spans)
    expect(
      await maxVolume(redacted, r.start, Math.max(r.end, r.start + 0.05)),
      `${r.start}-${r.end}`,
    ).toBeLessThan(-60);
  const gaps: Array<[number, number]> = [];
  let at = 0;
  for (const r of spans) {
    gaps.push([at, r.start - 0.2]);
    at = r.end + 0.2;
  }
  gaps.push([at, duration]);
  let loud = 0;
  for (const [from, to] of gaps.filter(([a, b]) => b - a >= 0.5)) {
    const before = await maxVolume(original, from, to);
    if (before < -30) continue;
    loud++;
    expect(await maxVolume(redacted, from, to), `${from}-${to}`).toBeGreaterThan(before - 3);
  }
  expect(loud).toBeGreaterThan(0);
}

describe('redaction with a provider that writes numbers and punctuation into its words', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ simulator: { writtenForm: true } });
  });
  afterAll(async () => stack?.close());

  it('the number written as one word "555-213-4478," is found on the text, placed on that word and silenced', async () => {
    // the provider's words: the number one word with its comma, the sentence's last word with its stop
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${stack.sim.url}/v1`, maxRetries: 0 });
    const answer = await openai.audio.transcriptions.create({
      file: await OpenAI.toFile(await readFile(SAMPLE), 'v.wav'),
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment'],
    });
    const written = (answer.words ?? []).map((w) => w.word);
    expect(written).toContain('555-213-4478,');
    expect(answer.text).toContain('555-213-4478,');
    expect(written.some((w) => /\w[.]$/.test(w))).toBe(true);

    const { body } = await postJob(
      stack.url,
      await fileForm(SAMPLE, { pipeline: 'transcribe', redact: '["phone_number"]', redact_audio: 'true' }),
    );
    const job = await waitForJob(stack.url, body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.transcript).toContain('[PHONE_NUMBER]');
    expect(job.transcript).not.toMatch(/\d/);
    expect(job.redactions).toEqual([
      { type: 'phone_number', start: expect.any(Number), end: expect.any(Number), located: 'words' },
    ]);
    const [phone] = job.redactions;
    expect(phone.end - phone.start).toBeGreaterThan(2);
    expect(job.warnings).toEqual([]);
    const doc = JSON.parse(await (await fetch(job.artifacts.transcript_json)).text());
    expect(doc.words.filter((w: Job) => w.word === '[PHONE_NUMBER]')).toEqual([
      { word: '[PHONE_NUMBER]', start: phone.start, end: phone.end },
    ]);
    expect(JSON.stringify(doc)).not.toMatch(/\d{3}-\d{3}/);
    const redacted = join(stack.dataDir, 'written-redacted.mp3');
    await writeFile(redacted, Buffer.from(await (await fetch(job.artifacts.redacted_audio)).arrayBuffer()));
    expect(await maxVolume(SAMPLE, phone.start + 0.1, phone.end - 0.1)).toBeGreaterThan(-30);
    await checkSilenced(SAMPLE, redacted, job.redactions, job.duration_seconds);
  });
});
