/** multipart/form-data: fields in memory, the `file` part streamed to a temp file (hashed on the way). */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { invalid } from './http-util.ts';

export interface Upload {
  /** Field values; repeated fields (e.g. `timestamp_granularities[]`) keep every value. */
  fields: Map<string, string[]>;
  file: { path: string; filename: string; size: number; sha256: string } | undefined;
  /** The temp directory holding the file and anything derived from it; remove with `cleanup()`. */
  dir: string;
  cleanup(): Promise<void>;
}

export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'voicebot-sim-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function readMultipart(req: IncomingMessage, fileField = 'file'): Promise<Upload> {
  if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
    throw invalid(
      "Invalid Content-Type header (expected multipart/form-data), please check your request's headers.",
    );
  }
  const { dir, cleanup } = await makeTempDir();
  const upload: Upload = { fields: new Map(), file: undefined, dir, cleanup };
  try {
    await parse(req, upload, fileField);
    return upload;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function parse(req: IncomingMessage, upload: Upload, fileField: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let bb: ReturnType<typeof busboy>;
    try {
      bb = busboy({ headers: req.headers, limits: { fieldSize: 1024 * 1024, fields: 100 } });
    } catch (err) {
      reject(invalid(`Could not parse multipart form: ${(err as Error).message}`));
      return;
    }
    const writes: Promise<void>[] = [];
    const streams: Readable[] = [];
    /** Stops every part stream, then rejects once the temp file is closed (so cleanup removes it). */
    const fail = (err: Error) => {
      req.unpipe(bb);
      for (const s of streams) s.destroy();
      Promise.allSettled(writes).then(() => reject(err));
    };
    bb.on('field', (name, value) => {
      const list = upload.fields.get(name) ?? [];
      list.push(value);
      upload.fields.set(name, list);
    });
    bb.on('file', (name, stream, info) => {
      if (name !== fileField || upload.file) {
        stream.resume();
        return;
      }
      const filename = info.filename ?? 'upload';
      const path = join(upload.dir, `input${safeExtension(filename)}`);
      upload.file = { path, filename, size: 0, sha256: '' };
      streams.push(stream);
      const write = saveHashed(stream, path, upload.file);
      write.catch(fail); // a failed write ends the parse at once (and is never left unhandled)
      writes.push(write);
    });
    bb.on('error', (err) => fail(invalid(`Could not parse multipart form: ${err.message}`)));
    bb.on('close', () => {
      Promise.all(writes).then(() => resolve(), fail);
    });
    req.on('close', () => {
      if (!req.complete) fail(invalid('The client closed the request before sending all of it.'));
    });
    req.pipe(bb);
  });
}

async function saveHashed(
  stream: Readable,
  path: string,
  into: { size: number; sha256: string },
): Promise<void> {
  const hash = createHash('sha256');
  await pipeline(
    stream,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        into.size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(path),
  );
  into.sha256 = hash.digest('hex');
}

/** Keeps a short alphanumeric extension of the client's file name (ffmpeg probes content anyway). */
function safeExtension(filename: string): string {
  const m = /\.([a-z0-9]{1,8})$/i.exec(filename);
  return m ? `.${m[1]?.toLowerCase()}` : '';
}

export const field = (u: Upload, name: string): string | undefined => u.fields.get(name)?.[0];
