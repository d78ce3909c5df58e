/**
 * Baseline for the intake benchmark: the least a job intake can do on this stack. A bare `node:http`
 * handler that parses the multipart body (busboy, as multer does), streams the `audio` part to a file in a
 * local directory (temp file, then rename into `objects/jobs/<id>/input`, as the service's local storage
 * does) and adds one BullMQ job to the first stage queue with the service's job options. No validation,
 * no type sniffing, no job record, no events, no logging: what is left is the floor.
 *
 *   PORT=… REDIS_URL=… QUEUE_PREFIX=… DATA_DIR=… node bench/baselines/bare-intake.ts
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Queue } from 'bullmq';
import busboy from 'busboy';
import { Redis } from 'ioredis';

const env = process.env;
const dataDir = env.DATA_DIR ?? './data';
const maxBytes = Number(env.MAX_UPLOAD_BYTES ?? 100 * 1024 * 1024);
const connection = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const queue = new Queue('transcribe', {
  connection,
  prefix: env.QUEUE_PREFIX ?? '{voicebot}',
  // The same options the service gives every stage job (src/shared/queues.ts).
  defaultJobOptions: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnComplete: { age: 3600, count: 5000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
  },
});
await mkdir(join(dataDir, 'tmp'), { recursive: true });
await mkdir(join(dataDir, 'objects'), { recursive: true });

/** Streams the `audio` part to `objects/jobs/<id>/input`; resolves with its size. */
function storeUpload(req: IncomingMessage, id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: maxBytes } });
    let write: Promise<number> | undefined;
    bb.on('file', (name, stream) => {
      if (name !== 'audio' || write) {
        stream.resume();
        return;
      }
      const tmp = join(dataDir, 'tmp', randomUUID());
      const target = join(dataDir, 'objects', 'jobs', id, 'input');
      let bytes = 0;
      stream.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      write = pipeline(stream, createWriteStream(tmp))
        .then(() => mkdir(join(dataDir, 'objects', 'jobs', id), { recursive: true }))
        .then(() => rename(tmp, target))
        .then(() => bytes)
        .catch(async (err) => {
          await rm(tmp, { force: true });
          throw err;
        });
      write.catch(() => {});
    });
    bb.on('error', reject);
    bb.on('close', () => {
      if (!write) reject(new Error('no audio part'));
      else write.then(resolve, reject);
    });
    req.pipe(bb);
  });
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/readyz') return send(res, 200, { status: 'ok' });
    if (req.method !== 'POST' || req.url !== '/v1/jobs') return send(res, 404, { error: 'not found' });
    const id = randomUUID();
    await storeUpload(req, id);
    await queue.add('transcribe', { jobId: id }, { jobId: `${id}_transcribe` });
    send(res, 202, { id, status: 'queued' });
  } catch (err) {
    if (!res.headersSent) send(res, 500, { error: (err as Error).message });
    else res.destroy();
  }
});
server.keepAliveTimeout = 5_000;
server.listen(Number(env.PORT ?? 3100), env.HOST ?? '127.0.0.1');

const stop = () => {
  server.close();
  server.closeIdleConnections();
  queue.close().finally(() => {
    connection.disconnect();
    process.exit(0);
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
