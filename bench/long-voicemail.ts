/**
 * Long-voicemail benchmark: a generated voicemail of N minutes (16 kHz 16-bit mono WAV; 60 min = 115 MB)
 * through the voicemail pipeline — transcoded, cut at silences into chunks, transcribed in parallel as child
 * jobs, stitched, summarized. The API and the stage workers each run as their own process
 * (`node src/api/main.ts`, `node src/worker/main.ts`); the worker's peak RSS (VmHWM) is read from /proc,
 * reset after a warm-up job, and compared with its idle RSS. Target: peak growth < 300 MB for 60 minutes.
 * ffmpeg runs as the worker's child processes: its memory is reported separately (sampled).
 *
 *   node bench/long-voicemail.ts [--minutes 60] [--storage local|s3] [--recognize]
 *
 * Without --recognize the simulator answers each chunk with its deterministic transcript (pocketsphinx off,
 * fast); with it, pocketsphinx recognizes the first 20 s of every chunk.
 */
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { isTerminal } from '../src/shared/job-states.ts';
import { voicemailSummarySchema } from '../src/shared/summary.ts';
import { startSimulator } from '../src/simulator/server.ts';
import { freePort, startRedis, startS3, waitFor } from '../test/support/index.ts';
import { loopWav, speechWav } from '../test/support/speech.ts';
import { spawnNode, tail } from './lib/children.ts';
import { mb, memoryOf, resetPeak } from './lib/proc.ts';

export interface LongVoicemailResult {
  minutes: number;
  storage: 'local' | 's3';
  inputMB: number;
  status: string;
  chunks: number;
  segments: number;
  seconds: number;
  summaryValid: boolean;
  worker: { idleRssMB: number; peakRssMB: number; growthMB: number; peakResetWorked: boolean };
  /** the biggest RSS of the worker's child processes (ffmpeg, ffprobe) seen while sampling */
  childPeakRssMB: number;
  api: { idleRssMB: number; peakRssMB: number };
}

type Json = Record<string, unknown>;

export async function runLongVoicemail(opts: {
  minutes: number;
  storage: 'local' | 's3';
  recognize: boolean;
}): Promise<LongVoicemailResult> {
  const redis = await startRedis();
  const s3 = opts.storage === 's3' ? await startS3() : undefined;
  const sim = await startSimulator(
    opts.recognize ? { recognizeMaxSeconds: 20 } : { disableTools: ['pocketsphinx'] },
  );
  const dir = await mkdtemp(join(tmpdir(), 'vb-bench-long-'));
  const port = await freePort();
  const env: Record<string, string> = {
    ...redis.env(),
    ...(s3?.env() ?? {}),
    ...(s3 ? { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey } : {}),
    NODE_ENV: 'production',
    // Benchmarks measure the open API (no keys): an explicit opt-in in production.
    ALLOW_OPEN_API: 'true',
    LOG_LEVEL: 'warn',
    QUEUE_PREFIX: `{${redis.prefix}}`,
    DATA_DIR: join(dir, 'data'),
    URL_SIGNING_SECRET: 'bench-secret-bench-secret-bench-secret',
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: `${sim.url}/v1`,
    TRANSCRIBE_MODEL: 'whisper-1',
    MAX_UPLOAD_BYTES: String(1024 * 1024 * 1024),
  };
  const api = spawnNode('api', 'src/api/main.ts', { ...env, PORT: String(port), HOST: '127.0.0.1' });
  const worker = spawnNode('worker', 'src/worker/main.ts', env);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true, {
      timeoutMs: 30_000,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${tail(api.output)}\n${tail(worker.output)}`);
    });
    const speech = await speechWav(dir, 'vm');
    // Warm-up: one short voicemail, so lazy imports, clients and buffers exist before measuring.
    const warm = await submit(base, speech);
    if (warm.status !== 'succeeded')
      throw new Error(`warm-up job ${warm.status}: ${JSON.stringify(warm.error)}`);
    const long = await loopWav(speech, join(dir, 'long.wav'), opts.minutes * 60);
    const inputBytes = (await stat(long)).size;
    await sleep(1000);
    const peakResetWorked = await resetPeak(worker.pid);
    await resetPeak(api.pid);
    const idle = await memoryOf(worker.pid);
    const apiIdle = await memoryOf(api.pid);
    sim.reset();
    let maxRss = 0;
    let childPeak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxRss = Math.max(maxRss, (await memoryOf(worker.pid).catch(() => ({ rss: 0 }))).rss);
        childPeak = Math.max(childPeak, await childrenRss(worker.pid));
        await sleep(100);
      }
    })();
    const started = performance.now();
    const job = await submit(base, long, opts.minutes * 60_000);
    const seconds = (performance.now() - started) / 1000;
    sampling = false;
    await sampler;
    const after = await memoryOf(worker.pid);
    const apiAfter = await memoryOf(api.pid);
    const peak = peakResetWorked ? after.peak : maxRss;
    const doc =
      job.status === 'succeeded' ? await (await fetch(artifact(job, 'transcript_json'))).json() : undefined;
    return {
      minutes: opts.minutes,
      storage: opts.storage,
      inputMB: mb(inputBytes),
      status: String(job.status),
      chunks: sim.stats().calls.transcriptions,
      segments: Array.isArray((doc as Json | undefined)?.segments)
        ? ((doc as Json).segments as unknown[]).length
        : 0,
      seconds: Math.round(seconds * 10) / 10,
      summaryValid: voicemailSummarySchema.safeParse(job.summary).success,
      worker: {
        idleRssMB: mb(idle.rss),
        peakRssMB: mb(peak),
        growthMB: mb(peak - idle.rss),
        peakResetWorked,
      },
      childPeakRssMB: mb(childPeak),
      api: { idleRssMB: mb(apiIdle.rss), peakRssMB: mb(apiAfter.peak) },
    };
  } finally {
    await worker.stop();
    await api.stop();
    await sim.close();
    await s3?.stop();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const artifact = (job: Json, name: string) => (job.artifacts as Record<string, string>)[name] ?? '';

/** Uploads a file (streamed from disk) as a voicemail job and polls it until it ends. */
async function submit(base: string, path: string, timeoutMs = 120_000): Promise<Json> {
  const form = new FormData();
  form.append('pipeline', 'voicemail');
  form.append('audio', await openAsBlob(path), 'voicemail.wav');
  const res = await fetch(`${base}/v1/jobs`, { method: 'POST', body: form });
  const created = (await res.json()) as Json;
  if (res.status !== 202) throw new Error(`POST /v1/jobs → ${res.status}: ${JSON.stringify(created)}`);
  let job: Json = created;
  await waitFor(
    async () => {
      job = (await (await fetch(`${base}/v1/jobs/${created.id}`)).json()) as Json;
      return isTerminal(String(job.status));
    },
    { timeoutMs, intervalMs: 250, message: `job ${created.id} did not end` },
  );
  return job;
}

/** Summed RSS of a process's direct children (ffmpeg/ffprobe while they run), from /proc. */
async function childrenRss(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  try {
    const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8'))
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    let sum = 0;
    for (const k of kids) sum += (await memoryOf(Number(k)).catch(() => ({ rss: 0 }))).rss;
    return sum;
  } catch {
    return 0;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '60' },
      storage: { type: 'string', default: 'local' },
      recognize: { type: 'boolean', default: false },
    },
  });
  const result = await runLongVoicemail({
    minutes: Number(values.minutes),
    storage: values.storage === 's3' ? 's3' : 'local',
    recognize: values.recognize ?? false,
  });
  console.log(JSON.stringify(result, null, 2));
  process.exit(result.status === 'succeeded' && result.summaryValid ? 0 : 1);
}
