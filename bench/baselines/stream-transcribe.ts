/**
 * Baseline (and profile) for the transcription memory benchmark: one transcription of a stored file with
 * the official openai SDK, in a process of its own so its peak RSS can be read from outside.
 *
 * - `--mode streaming` (the baseline): `toStreamingFile(createReadStream(file))`, which the SDK encodes as
 *   a lazy multipart body, plus `fetchOptions: { redirect: 'error' }`: without it Node's fetch (undici)
 *   clones the request to be able to follow a redirect, which tees the body stream and keeps every chunk
 *   of the unread branch in memory (nodejs/undici#4058). Memory should not grow with the file.
 * - `--mode streaming-follow` (profile): `toStreamingFile` alone, fetch's default `redirect: 'follow'`.
 * - `--mode tofile` (profile): exactly what src/worker/stages/transcribe.ts does today, `toFile(stream)`
 *   then `transcriptions.create`; shows how much of the worker's growth is the SDK call itself.
 *
 * Protocol: prints `ready`, waits for a line on stdin, transcribes, prints `result {json}` (with its own
 * peaks of process.memoryUsage(), sampled every 20 ms), then exits when stdin closes.
 *
 *   OPENAI_BASE_URL=… node bench/baselines/stream-transcribe.ts --file <path> --mode streaming|streaming-follow|tofile
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import OpenAI, { toFile, toStreamingFile } from 'openai';

const { values } = parseArgs({
  options: { file: { type: 'string' }, mode: { type: 'string', default: 'streaming' } },
});
if (!values.file) throw new Error('--file is required');
const client = new OpenAI({
  apiKey: process.env.OPENAI_API_KEY ?? 'bench',
  baseURL: process.env.OPENAI_BASE_URL,
  maxRetries: 0,
  timeout: 600_000,
});

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
console.log('ready');
await lines.next();

const peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
const sample = () => {
  const m = process.memoryUsage();
  for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], m[k]);
};
const timer = setInterval(sample, 20);
const started = performance.now();
const stream = createReadStream(values.file);
const file =
  values.mode === 'tofile'
    ? await toFile(stream, 'input.wav', { type: 'audio/wav' })
    : toStreamingFile(stream, 'input.wav', { type: 'audio/wav' });
sample();
const result = await client.audio.transcriptions.create(
  { file, model: 'gpt-4o-mini-transcribe' },
  values.mode === 'streaming' ? { fetchOptions: { redirect: 'error' } } : {},
);
sample();
clearInterval(timer);
const mb = (n: number) => Math.round(n / 1024 / 102.4) / 10;
console.log(
  `result ${JSON.stringify({
    mode: values.mode,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    text: result.text.slice(0, 80),
    peakMB: {
      rss: mb(peak.rss),
      heapUsed: mb(peak.heapUsed),
      external: mb(peak.external),
      arrayBuffers: mb(peak.arrayBuffers),
    },
  })}`,
);
await lines.next();
process.exit(0);
