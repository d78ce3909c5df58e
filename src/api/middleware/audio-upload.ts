import { createHash, randomUUID } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import type { Request } from 'express';
import { fileTypeFromBuffer } from 'file-type';
import multer, { type StorageEngine } from 'multer';
import { ACCEPTED_AUDIO, canonicalAudioType } from '../../shared/audio-types.ts';
import { HttpError } from '../../shared/errors.ts';
import { keys } from '../../shared/job-files.ts';
import type { Storage } from '../../shared/storage/index.ts';

declare global {
  namespace Express {
    namespace Multer {
      interface File {
        /** SHA-256 of the stored bytes (hex), for a request with an Idempotency-Key: part of its fingerprint */
        sha256?: string;
      }
    }
  }
}

/** Bytes read before deciding the type; file-type needs at most ~4 KB for audio containers. */
const SNIFF_BYTES = 4100;
/** Smaller than this cannot hold a fraction of a second of speech in any format we take: a truncated file. */
const MIN_AUDIO_BYTES = 1024;

export interface StoredAudio {
  key: string;
  mime: string;
  size: number;
}

/** The job id an upload belongs to, chosen before the body is read, so the key never depends on the client. */
export const uploadJobId = (req: Request): string => (req as Request & { jobId: string }).jobId;

/** Job ids of every file stored by this request (a batch stores many). */
export const uploadedJobIds = (req: Request): string[] => {
  const files = Array.isArray(req.files) ? req.files : req.file ? [req.file] : [];
  return files.map((f) => jobIdOfKey(f.path)).filter((id): id is string => id !== undefined);
};

const jobIdOfKey = (key: string | undefined) => /^jobs\/([^/]+)\/input$/.exec(key ?? '')?.[1];

/** This request's writes: aborted when the request fails or the client goes away before the body ends. */
interface Uploads {
  aborts: AbortController[];
  /** writes not settled yet: the socket is watched while there are any */
  active: number;
  onSocketClose: () => void;
}

function uploads(req: Request): Uploads {
  const r = req as Request & { uploads?: Uploads };
  if (r.uploads) return r.uploads;
  const u: Uploads = {
    aborts: [],
    active: 0,
    // A client that goes away mid-upload (or is cut off for trickling) closes the socket before the body ends.
    onSocketClose: () => {
      if (!req.complete) abortAll(u, 'the client went away mid-upload');
    },
  };
  r.uploads = u;
  return u;
}

/**
 * Registers one write of this request; call the returned function once it has settled. The socket gets one
 * close listener per request, however many files a batch streams at once, and loses it when the last
 * write settles (the response may already be sent: a cut-off client still aborts what it left half-written).
 */
function trackUpload(req: Request, abort: AbortController): () => void {
  const u = uploads(req);
  u.aborts.push(abort);
  if (u.active++ === 0) req.socket.on('close', u.onSocketClose);
  return () => {
    if (--u.active === 0) req.socket.off('close', u.onSocketClose);
  };
}

const abortAll = (u: Uploads, why: string) => {
  for (const a of u.aborts) a.abort(new Error(why));
};

/** Stops every write of this request that is still streaming (its temp data is removed by the storage). */
export function abortUploads(req: Request): void {
  abortAll(uploads(req), 'request failed');
}

/** The single-job request's id for its (only) file, or a fresh id per file for a batch. */
function allocateJobId(req: Request): string {
  const r = req as Request & { jobId?: string; jobIdUsed?: boolean };
  if (r.jobId && !r.jobIdUsed) {
    r.jobIdUsed = true;
    return r.jobId;
  }
  return randomUUID();
}

/**
 * A multer storage engine that streams the `audio` part straight into storage under `jobs/<id>/input`.
 * The type is decided from the first bytes (magic numbers): non-audio is refused with 415 before anything
 * is stored. Nothing of the client's filename or content-type is used. The whole file is never in memory.
 */
export class AudioStorageEngine implements StorageEngine {
  readonly storage: Storage;
  constructor(storage: Storage) {
    this.storage = storage;
  }

  _handleFile(
    req: Request,
    file: Express.Multer.File,
    cb: (error?: unknown, info?: Partial<Express.Multer.File>) => void,
  ) {
    const key = keys.input(allocateJobId(req));
    // A body that breaks off mid-file (malformed multipart, client gone) never ends the file stream:
    // `abortUploads` (called when the request fails) stops the write, so nothing half-written stays.
    const abort = new AbortController();
    const settled = trackUpload(req, abort);
    sniff(file.stream, abort.signal)
      .then(async ({ head, rest, ended }) => {
        if (head.length === 0) throw new HttpError(400, 'empty_audio', 'The audio file is empty.');
        if (ended && head.length < MIN_AUDIO_BYTES) {
          throw new HttpError(
            400,
            'audio_too_short',
            `The audio file is ${head.length} bytes: too short to hold speech (truncated?). Send at least ${MIN_AUDIO_BYTES} bytes.`,
          );
        }
        const type = await fileTypeFromBuffer(head);
        const mime = type?.mime;
        if (!mime || !ACCEPTED_AUDIO[mime]) {
          rest.resume();
          throw new HttpError(
            415,
            'unsupported_media_type',
            `The uploaded file is not audio we can process (detected: ${mime ?? 'unknown'}). Send wav, mp3, m4a, ogg/opus, webm, flac or amr.`,
          );
        }
        // The bytes' hash is part of an idempotent request's fingerprint: made only for such a request.
        const sha = req.get('idempotency-key') ? createHash('sha256') : undefined;
        const body = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            sha?.update(chunk);
            cb(null, chunk);
          },
        });
        body.write(head);
        if (ended) body.end();
        else rest.pipe(body);
        rest.once('error', (err) => body.destroy(err));
        abort.signal.throwIfAborted();
        const { bytes } = await this.storage.put(key, body, { contentType: mime, signal: abort.signal });
        return { key, mime: canonicalAudioType(mime), bytes, sha256: sha?.digest('hex') };
      })
      .finally(settled)
      .then(
        ({ key, mime, bytes, sha256 }) => cb(null, { path: key, mimetype: mime, size: bytes, sha256 }),
        cb,
      );
  }

  _removeFile(_req: Request, file: Express.Multer.File, cb: (error: Error | null) => void) {
    if (!file.path) return cb(null);
    this.storage.deletePrefix(file.path.replace(/input$/, '')).then(() => cb(null), cb);
  }
}

/** Reads until `SNIFF_BYTES` are buffered or the stream ends; returns the head and the paused remainder. */
function sniff(
  stream: Readable,
  signal: AbortSignal,
): Promise<{ head: Buffer; rest: Readable; ended: boolean }> {
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (ended: boolean) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', reject);
      stream.pause();
      resolve({ head: Buffer.concat(chunks), rest: stream, ended });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= SNIFF_BYTES) done(false);
    };
    const onEnd = () => done(true);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', reject);
  });
}

/** multer configured for one `audio` file plus small text fields, with the configured size limit. */
export function audioUpload(storage: Storage, maxBytes: number) {
  return multer({
    storage: new AudioStorageEngine(storage),
    limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 64 * 1024, parts: 25, headerPairs: 50 },
  }).single('audio');
}

/** multer for a batch: up to `maxFiles` `audio` files, each within the size limit. */
export function audioBatchUpload(storage: Storage, maxBytes: number, maxFiles: number) {
  return multer({
    storage: new AudioStorageEngine(storage),
    limits: {
      fileSize: maxBytes,
      files: maxFiles,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: maxFiles + 20,
      headerPairs: 50,
    },
  }).array('audio', maxFiles);
}
