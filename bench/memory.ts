/**
 * Memory: peak RSS growth (VmHWM, reset just before) of the process doing the work, read from /proc.
 * 1. A large upload into storage through the API (bench/upload-memory.ts), vs the bare intake taking the
 *    same upload. Target: API peak RSS growth < 100 MB (for 1 GiB).
 * 2. A large WAV through the transcribe stage: a worker process with WORKER_STAGES=transcribe, vs one SDK
 *    call streaming the same stored file (bench/baselines/stream-transcribe.ts --mode streaming).
 *    Target: worker peak RSS growth < 300 MB (for 500 MB). Profile: the same SDK call the stage makes today
 *    (`toFile`) in a process of its own, to show where the memory goes.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertAlive, type Child, spawnNode, stopAll } from './lib/children.ts';
import { serviceWatcher, waitDone } from './lib/client.ts';
import { inspectServiceJob, serviceTimeline } from './lib/pipeline.ts';
import { mb, memoryOf, resetPeak, treeSampler } from './lib/proc.ts';
import type { BenchResult, Row, Size } from './lib/report.ts';
import {
  type HttpProcess,
  startApi,
  startBenchRedis,
  startHttpProcess,
  startSimulatorProcess,
  startWorkers,
  tempDir,
} from './lib/stack.ts';
import { fmt } from './lib/stats.ts';
import { runUploadMemory, uploadWav } from './upload-memory.ts';

/** `parallel` files of `parallelMB` each at once: small enough to be sent whole, no transcoding. */
const SIZES = {
  smoke: { uploadMB: 256, transcribeMB: 50, parallel: 4, parallelMB: 10 },
  full: { uploadMB: 1024, transcribeMB: 500, parallel: 8, parallelMB: 20 },
};
const UPLOAD_TARGET_MB = 100;
const TRANSCRIBE_TARGET_MB = 300;

interface Growth {
  idleMB: number;
  peakMB: number;
  growthMB: number;
  seconds: number;
}

/** Peak RSS growth of `pid` while `work` runs (peak counter reset first), plus a 50 ms RSS sampler. */
async function growthOf(pid: number, work: () => Promise<void>): Promise<Growth> {
  await sleep(300);
  await resetPeak(pid);
  const idle = await memoryOf(pid);
  const started = performance.now();
  await work();
  const after = await memoryOf(pid);
  return {
    idleMB: mb(idle.rss),
    peakMB: mb(after.peak),
    growthMB: mb(after.peak - idle.rss),
    seconds: (performance.now() - started) / 1000,
  };
}

async function bareUpload(sizeMB: number): Promise<Growth> {
  const redis = await startBenchRedis();
  const data = await tempDir('mem-bare');
  let bare: HttpProcess | undefined;
  try {
    const bytes = sizeMB * 1024 * 1024;
    bare = await startHttpProcess('bare-intake', 'bench/baselines/bare-intake.ts', {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: redis.prefix,
      DATA_DIR: data.dir,
      MAX_UPLOAD_BYTES: String(bytes + 1024 * 1024),
    });
    const url = `${bare.url}/v1/jobs`;
    await uploadWav(url, 1024 * 1024);
    return await growthOf(bare.child.pid, async () => {
      const r = await uploadWav(url, bytes);
      if (r.status !== 202) throw new Error(`bare upload → ${r.status} ${r.body}`);
    });
  } finally {
    await stopAll([bare?.child]);
    await redis.stop();
    await data.remove();
  }
}

interface ChildPeaks {
  seconds: number;
  peakMB: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
}

type SdkMode = 'streaming' | 'streaming-follow' | 'tofile';
type SdkFigures = Growth & { child: ChildPeaks };

interface TranscribeFigures {
  worker: Growth;
  /** `parallel` smaller files at once. */
  concurrent: Growth;
  /** Peak RSS of the worker plus its child processes (ffprobe/ffmpeg), and of the largest child, MB. */
  treePeakMB: number;
  childPeakMB: number;
  /** The job's events in order, with times. */
  steps: string;
  /** The worker's own log lines about transcoding and chunking. */
  media: string[];
  sdk: Record<SdkMode, SdkFigures>;
}

/** 48 kHz stereo: 500 MB is 45 minutes of audio (16 kHz mono would be 4.5 hours, over MAX_AUDIO_SECONDS). */
const BIG_WAV = { sampleRate: 48_000, channels: 2 };

async function transcription(
  sizeMB: number,
  parallel: number,
  parallelMB: number,
): Promise<TranscribeFigures> {
  const redis = await startBenchRedis();
  const sim = await startSimulatorProcess({ latencyMs: 0 });
  const data = await tempDir('mem-transcribe');
  const children: Child[] = [sim.child];
  try {
    const bytes = sizeMB * 1024 * 1024;
    const api = await startApi(redis, data.dir, { MAX_UPLOAD_BYTES: String(bytes + 1024 * 1024) });
    children.unshift(api.child);
    const [worker] = await startWorkers(redis, data.dir, sim.url, 1, {
      WORKER_STAGES: 'transcribe',
      STAGE_ATTEMPTS: '1',
      LOG_LEVEL: 'info', // for its "audio transcoded" / "audio split into chunks" lines
      PROVIDER_TIMEOUT_MS: '600000',
    });
    if (!worker) throw new Error('no worker');
    children.unshift(worker);
    const watcher = await serviceWatcher(redis.url, redis.prefix, 'transcribe');
    const transcribe = async (n: number) => {
      const r = await uploadWav(`${api.url}/v1/jobs`, n, BIG_WAV);
      if (r.status !== 202) throw new Error(`upload → ${r.status} ${r.body}`);
      const id = (JSON.parse(r.body) as { id: string }).id;
      const inspect = (jobId: string) => inspectServiceJob(redis, jobId);
      const done = await waitDone(watcher, id, { jobTimeoutMs: 600_000, inspect });
      assertAlive(worker);
      if (!done.ok) throw new Error(`transcription of ${n} bytes ended ${done.type}: ${await inspect(id)}`);
      return id;
    };
    let id = await transcribe(1024 * 1024); // warm-up: SDK loaded, connections open
    const tree = treeSampler(worker.pid, 50);
    const workerGrowth = await growthOf(worker.pid, async () => {
      id = await transcribe(bytes);
    });
    const { peakTree, peakChild } = await tree.stop();
    // Several files at once that are each sent whole (under the provider's size and duration limits).
    const concurrent = await growthOf(worker.pid, async () => {
      await Promise.all(Array.from({ length: parallel }, () => transcribe(parallelMB * 1024 * 1024)));
    });
    await watcher.close();
    const steps = await serviceTimeline(redis, id);
    const media = worker.output
      .filter((l) => /"msg":"audio (transcoded|split into chunks)"/.test(l))
      .map((l) => {
        const { msg, pid, time, level, hostname, proc, name, job_id, stage, attempt, ...rest } = JSON.parse(
          l,
        ) as Record<string, unknown>;
        return `${msg} ${JSON.stringify(rest)}`;
      });
    const file = join(data.dir, 'objects', 'jobs', id, 'input');
    const sdk = {} as Record<SdkMode, SdkFigures>;
    for (const mode of ['tofile', 'streaming-follow', 'streaming'] as const)
      sdk[mode] = await sdkCall(sim.url, file, mode);
    return {
      worker: workerGrowth,
      concurrent,
      treePeakMB: mb(peakTree),
      childPeakMB: mb(peakChild),
      steps,
      media,
      sdk,
    };
  } finally {
    await stopAll(children);
    await redis.stop();
    await data.remove();
  }
}

/** One transcription by bench/baselines/stream-transcribe.ts, measured from outside like the worker. */
async function sdkCall(simUrl: string, file: string, mode: SdkMode): Promise<SdkFigures> {
  const child = spawnNode(
    `sdk-${mode}`,
    'bench/baselines/stream-transcribe.ts',
    { OPENAI_BASE_URL: `${simUrl}/v1` },
    ['--file', file, '--mode', mode],
  );
  try {
    await child.line(/^ready$/);
    let line = '';
    const g = await growthOf(child.pid, async () => {
      child.proc.stdin?.write('go\n');
      line = await child.line(/^result /, 600_000);
    });
    child.proc.stdin?.end();
    return { ...g, child: JSON.parse(line.slice('result '.length)) as ChildPeaks };
  } finally {
    await child.stop();
  }
}

export async function run(size: Size): Promise<BenchResult> {
  const s = SIZES[size];
  const upload = await runUploadMemory(s.uploadMB, 'local');
  if (upload.status !== 202) throw new Error(`service upload → ${upload.status}`);
  const bare = await bareUpload(s.uploadMB);
  const t = await transcription(s.transcribeMB, s.parallel, s.parallelMB);
  const rows: Row[] = [
    {
      metric: `API peak RSS growth, ${s.uploadMB} MB upload`,
      unit: 'MB',
      service: upload.growthMB,
      baseline: bare.growthMB,
      baselineName: 'bare intake',
      target: `< ${UPLOAD_TARGET_MB} MB`,
      met: upload.growthMB < UPLOAD_TARGET_MB,
    },
    {
      metric: `worker peak RSS growth, ${s.transcribeMB} MB WAV transcribed`,
      unit: 'MB',
      service: t.worker.growthMB,
      baseline: t.sdk.streaming.growthMB,
      baselineName: 'one streamed SDK upload',
      target: `< ${TRANSCRIBE_TARGET_MB} MB`,
      met: t.worker.growthMB < TRANSCRIBE_TARGET_MB,
    },
    {
      metric: `worker peak RSS growth, ${s.parallel} × ${s.parallelMB} MB WAVs at once (each sent whole)`,
      unit: 'MB',
      service: t.concurrent.growthMB,
      baseline: Number.NaN,
      baselineName: '',
      target: '',
      ratio: `${fmt(t.concurrent.growthMB / (s.parallel * s.parallelMB))}× the ${s.parallel * s.parallelMB} MB sent`,
    },
    {
      metric: 'worker + its child processes (ffprobe/ffmpeg), peak RSS',
      unit: 'MB',
      service: t.treePeakMB,
      baseline: Number.NaN,
      baselineName: '',
      target: '',
      ratio: `largest child ${fmt(t.childPeakMB)} MB`,
    },
  ];
  const notes = [
    `Upload: API idle ${fmt(upload.idleRssMB)} MB → peak ${fmt(upload.peakRssMB)} MB in ${fmt(upload.seconds)} s ` +
      `(${fmt(s.uploadMB / upload.seconds)} MB/s); bare intake idle ${fmt(bare.idleMB)} MB → peak ${fmt(bare.peakMB)} MB ` +
      `in ${fmt(bare.seconds)} s.`,
    `Transcription (${s.transcribeMB} MB WAV, 48 kHz stereo = ${fmt((s.transcribeMB * 1024 * 1024) / 192_000 / 60)} min): worker idle ` +
      `${fmt(t.worker.idleMB)} MB → peak ${fmt(t.worker.peakMB)} MB (growth ${fmt(t.worker.growthMB)} MB = ` +
      `${fmt(t.worker.growthMB / s.transcribeMB)}× the file) in ${fmt(t.worker.seconds)} s including the upload; ` +
      `job events (ms after the first): ${t.steps}; worker log: ${t.media.join('; ') || 'no transcoding'}.`,
    `Profile — one SDK transcription request carrying the whole stored file, each in its own process: ` +
      `\`toFile(stream)\` ${sdkLine(t.sdk.tofile)}; \`toStreamingFile(stream)\` ${sdkLine(t.sdk['streaming-follow'])}; ` +
      `\`toStreamingFile(stream)\` + \`fetchOptions: { redirect: 'error' }\` (the baseline) ${sdkLine(t.sdk.streaming)}. ` +
      "Node's fetch (undici) clones every request that has a body so it could follow a redirect; the clone tees a " +
      'streamed body and the branch nobody reads buffers all of it (nodejs/undici#4058), so `toStreamingFile` alone ' +
      "still holds the whole upload in memory; `redirect: 'error'` (a stream cannot be replayed on a redirect anyway) avoids the clone.",
    ...(t.worker.growthMB >= TRANSCRIBE_TARGET_MB
      ? [
          `Missed: the worker's growth is ${fmt(t.worker.growthMB / s.transcribeMB)}× the file; compare with the profile: ` +
            "a request body held in memory (`toFile`, or `toStreamingFile` without `redirect: 'error'`) costs about 1× its size.",
        ]
      : []),
  ];
  return {
    name: 'memory',
    title: 'Memory',
    setup: `${s.uploadMB} MB WAV upload to POST /v1/jobs (local storage); ${s.transcribeMB} MB WAV through a transcribe-only worker (simulator, zero latency). Peak RSS = VmHWM after reset.`,
    rows,
    notes,
  };
}

const sdkLine = (f: SdkFigures) =>
  `+${fmt(f.growthMB)} MB RSS (arrayBuffers peak ${fmt(f.child.peakMB.arrayBuffers)} MB, heap ${fmt(f.child.peakMB.heapUsed)} MB, ${fmt(f.child.seconds)} s)`;

if (import.meta.main) {
  const size = process.argv.includes('--full') ? 'full' : 'smoke';
  console.log(JSON.stringify(await run(size), null, 2));
  process.exit(0);
}
