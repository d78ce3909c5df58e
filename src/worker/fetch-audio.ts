import { Transform } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { ACCEPTED_AUDIO, canonicalAudioType } from '../shared/audio-types.ts';
import { safeRequest } from '../shared/client-urls/safe-request.ts';
import { PermanentError, RetryableError } from '../shared/errors.ts';
import type { Storage } from '../shared/storage/index.ts';

/** Bytes read before deciding the type (file-type needs at most ~4 KB for audio containers). */
const SNIFF_BYTES = 4100;

/**
 * Audio by URL: a worker (never the API) fetches it through the SSRF guard, with a time and size limit,
 * streaming it into storage. The type is decided from the bytes, as for uploads.
 */
export async function fetchAudioInto(
  storage: Storage,
  key: string,
  url: string,
  opts: { maxBytes: number; timeoutMs: number; allowPrivate: boolean; signal: AbortSignal },
): Promise<{ mime: string; bytes: number }> {
  let res: Awaited<ReturnType<typeof safeRequest>>;
  try {
    res = await safeRequest(url, {
      method: 'GET',
      timeoutMs: opts.timeoutMs,
      allowPrivate: opts.allowPrivate,
      signal: opts.signal,
    });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.name === 'UnsafeUrlError' || e.code === 'EPRIVATE')
      throw new PermanentError('audio_url_refused', `audio_url refused: ${e.message}`);
    throw new RetryableError('audio_url_unreachable', `audio_url could not be fetched: ${e.message}`, {
      cause: err,
    });
  }
  const status = res.statusCode ?? 0;
  if (status >= 500 || status === 408 || status === 429) {
    res.resume();
    throw new RetryableError('audio_url_unreachable', `audio_url answered ${status}`);
  }
  if (status !== 200) {
    res.resume();
    throw new PermanentError(
      'audio_url_unreachable',
      `audio_url answered ${status}; it must answer 200 with the audio (redirects are not followed).`,
    );
  }
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > opts.maxBytes) {
    res.destroy();
    throw new PermanentError(
      'audio_too_large',
      `audio_url is ${declared} bytes; the limit is ${opts.maxBytes}.`,
    );
  }
  let mime: string | undefined;
  let bytes = 0;
  let head = Buffer.alloc(0);
  /** Decides the type from the first bytes, like an upload: audio passes, anything else fails the job. */
  const decide = async (): Promise<PermanentError | undefined> => {
    const type = (await fileTypeFromBuffer(head))?.mime;
    if (!type || !ACCEPTED_AUDIO[type]) {
      return new PermanentError(
        'unsupported_media_type',
        `audio_url is not audio we can process (detected: ${type ?? 'unknown'}).`,
      );
    }
    mime = type;
    return undefined;
  };
  const check = new Transform({
    async transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > opts.maxBytes) {
        return cb(
          new PermanentError('audio_too_large', `audio_url is over the limit of ${opts.maxBytes} bytes.`),
        );
      }
      if (mime !== undefined) return cb(null, chunk);
      head = Buffer.concat([head, chunk]);
      if (head.length < SNIFF_BYTES) return cb();
      const refused = await decide();
      cb(refused ?? null, refused ? undefined : head);
    },
    async flush(cb) {
      if (mime !== undefined) return cb();
      const refused = await decide();
      cb(refused ?? null, refused ? undefined : head);
    },
  });
  try {
    res.once('error', (err) => check.destroy(err));
    await storage.put(key, res.pipe(check), { contentType: 'application/octet-stream', signal: opts.signal });
  } catch (err) {
    if (err instanceof PermanentError) throw err;
    throw new RetryableError(
      'audio_url_unreachable',
      `audio_url download failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { mime: canonicalAudioType(mime ?? 'application/octet-stream'), bytes };
}
