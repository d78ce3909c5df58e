/**
 * Memory benchmark: a large WAV upload through `POST /v1/jobs` into storage. The API runs as its own process
 * (`node src/api/main.ts`, no workers); its peak RSS (VmHWM) is read from /proc before and after.
 * Target: peak RSS growth < 100 MB for a 1 GiB upload, because the upload streams to storage.
 *
 *   node bench/upload-memory.ts [--mb 1024] [--storage local|s3]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startRedis, startS3, waitFor } from '../test/support/index.ts';
import { mb, memoryOf, resetPeak } from './lib/proc.ts';
import { wavStream } from './lib/wav-stream.ts';

export interface UploadMemoryResult {
  storage: string;
  uploadMB: number;
  idleRssMB: number;
  peakRssMB: number;
  growthMB: number;
  seconds: number;
  status: number;
}

export async function runUploadMemory(
  sizeMB: number,
  storageKind: 'local' | 's3',
): Promise<UploadMemoryResult> {
  const redis = await startRedis();
  const s3 = storageKind === 's3' ? await startS3() : undefined;
  const dataDir = await mkdtemp(join(tmpdir(), 'vb-bench-'));
  const port = await freePort();
  const totalBytes = sizeMB * 1024 * 1024;
  const api = spawn(process.execPath, ['src/api/main.ts'], {
    env: {
      ...process.env,
      ...redis.env(),
      ...(s3?.env() ?? {}),
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      QUEUE_PREFIX: `{${redis.prefix}}`,
      MAX_UPLOAD_BYTES: String(totalBytes + 1024 * 1024),
      OPENAI_API_KEY: 'unused',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true, {
      timeoutMs: 20_000,
    });
    // Warm up: one small upload so lazy imports and buffers are in place before measuring.
    await upload(base, 1024 * 1024);
    await new Promise((r) => setTimeout(r, 500));
    const pid = api.pid ?? 0;
    await resetPeak(pid);
    const idle = await memoryOf(pid);
    const started = performance.now();
    const status = await upload(base, totalBytes);
    const seconds = (performance.now() - started) / 1000;
    const after = await memoryOf(pid);
    return {
      storage: storageKind,
      uploadMB: sizeMB,
      idleRssMB: mb(idle.rss),
      peakRssMB: mb(after.peak),
      growthMB: mb(after.peak - idle.rss),
      seconds: Math.round(seconds * 10) / 10,
      status,
    };
  } finally {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
    await s3?.stop();
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Streams a multipart body with a generated WAV of `bytes` to POST /v1/jobs; resolves with the status. */
function upload(base: string, bytes: number): Promise<number> {
  const boundary = `----vb${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="audio"; filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/v1/jobs`,
      {
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': head.length + bytes + tail.length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.write(head);
    const body = wavStream(bytes);
    body.pipe(req, { end: false });
    body.on('end', () => req.end(tail));
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { mb: { type: 'string', default: '1024' }, storage: { type: 'string', default: 'local' } },
  });
  const result = await runUploadMemory(Number(values.mb), values.storage === 's3' ? 's3' : 'local');
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
