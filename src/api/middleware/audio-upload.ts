import { PassThrough, type Readable } from 'node:stream';
import type { Request } from 'express';
import { fileTypeFromBuffer } from 'file-type';
import multer, { type StorageEngine } from 'multer';
import { ACCEPTED_AUDIO, canonicalAudioType } from '../../shared/audio-types.ts';
import { HttpError } from '../../shared/errors.ts';
import { keys } from '../../shared/stages.ts';
import type { Storage } from '../../shared/storage/index.ts';

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
    const key = keys.input(uploadJobId(req));
    sniff(file.stream)
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
        const body = new PassThrough();
        body.write(head);
        if (ended) body.end();
        else rest.pipe(body);
        rest.once('error', (err) => body.destroy(err));
        const { bytes } = await this.storage.put(key, body, { contentType: mime });
        return { key, mime: canonicalAudioType(mime), bytes };
      })
      .then(({ key, mime, bytes }) => cb(null, { path: key, mimetype: mime, size: bytes }), cb);
  }

  _removeFile(_req: Request, file: Express.Multer.File, cb: (error: Error | null) => void) {
    if (!file.path) return cb(null);
    this.storage.deletePrefix(file.path.replace(/input$/, '')).then(() => cb(null), cb);
  }
}

/** Reads until `SNIFF_BYTES` are buffered or the stream ends; returns the head and the paused remainder. */
function sniff(stream: Readable): Promise<{ head: Buffer; rest: Readable; ended: boolean }> {
  return new Promise((resolve, reject) => {
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
