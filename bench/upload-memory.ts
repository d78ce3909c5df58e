/**
 * Memory benchmark: a large WAV upload through `POST /v1/jobs` into storage. The API runs as its own process
 * (`node src/api/main.ts`, no workers); its peak RSS (VmHWM) is read from /proc before and after.
 * Target: peak RSS growth < 100 MB for a 1 GiB upload, because the upload streams to storage.
 *
 *   node bench/upload-memory.ts [--mb 1024] [--storage local|s3]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startRedis, startS3, waitFor } from '../test/support/index.ts';
import { spawnNode, tail } from './lib/children.ts';
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
  // A tracked child: killed with the benchmark even if it dies or is interrupted.
  const api = spawnNode('api', 'src/api/main.ts', {
    ...redis.env(),
    ...(s3?.env() ?? {}),
    NODE_ENV: 'production',
    // Benchmarks measure the open API (no keys): an explicit opt-in in production.
    ALLOW_OPEN_API: 'true',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    QUEUE_PREFIX: `{${redis.prefix}}`,
    MAX_UPLOAD_BYTES: String(totalBytes + 1024 * 1024),
    OPENAI_API_KEY: 'unused',
    LOG_LEVEL: 'warn',
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true, {
      timeoutMs: 20_000,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${tail(api.output)}`);
    });
    // Warm up: one small upload so lazy imports and buffers are in place before measuring.
    await upload(base, 1024 * 1024);
    await new Promise((r) => setTimeout(r, 500));
    const pid = api.pid;
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
    await api.stop();
    await s3?.stop();
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Streams a multipart body with a generated WAV of `bytes` to POST /v1/jobs; resolves with the status. */
function upload(base: string, bytes: number): Promise<number> {
  return uploadWav(`${base}/v1/jobs`, bytes).then((r) => r.status);
}

/** Streams a multipart body (field `audio`) with a generated WAV of `bytes` to `url`; never in memory. */
export function uploadWav(
  url: string,
  bytes: number,
  format?: Parameters<typeof wavStream>[1],
): Promise<{ status: number; body: string }> {
  const boundary = `----vb${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="audio"; filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': head.length + bytes + tail.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.write(head);
    const body = wavStream(bytes, format);
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
