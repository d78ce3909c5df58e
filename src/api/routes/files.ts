import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RequestHandler } from 'express';
import { HttpError } from '../../shared/errors.ts';
import { LocalStorage, StorageNotFoundError } from '../../shared/storage/index.ts';
import { isSafeKey, verifySignature } from '../../shared/storage/url-signing.ts';
import type { ApiDeps } from '../deps.ts';

const TYPES: Record<string, string> = {
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.opus': 'audio/ogg',
  '.aac': 'audio/aac',
  '.flac': 'audio/flac',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.srt': 'application/x-subrip; charset=utf-8',
  '.vtt': 'text/vtt; charset=utf-8',
};

/**
 * GET /files/<key>?expires=&sig= — downloads from the local-directory storage through an HMAC-signed,
 * expiring URL. A tampered or expired URL → 403; path tricks never reach the disk.
 */
export function serveFile(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const storage = deps.storage;
    if (!(storage instanceof LocalStorage))
      throw new HttpError(404, 'not_found', 'Files are served by S3 in this deployment.');
    const parts = (req.params as { key?: string[] }).key ?? [];
    const key = parts.join('/');
    const expires = Number(req.query.expires);
    const sig = typeof req.query.sig === 'string' ? req.query.sig : '';
    if (!isSafeKey(key) || !Number.isInteger(expires) || !sig)
      throw new HttpError(403, 'forbidden', 'Invalid file link.');
    const verdict = verifySignature(storage.secret, key, expires, sig);
    if (verdict === 'bad_signature') throw new HttpError(403, 'forbidden', 'Invalid file link signature.');
    if (verdict === 'expired')
      throw new HttpError(
        403,
        'link_expired',
        'This file link has expired; fetch the job again for a fresh one.',
      );
    let body: Awaited<ReturnType<typeof storage.get>>;
    try {
      body = await storage.get(key);
    } catch (err) {
      if (err instanceof StorageNotFoundError)
        throw new HttpError(404, 'not_found', 'The file no longer exists.');
      throw err;
    }
    res.set({
      'Content-Type': TYPES[extname(key)] ?? 'application/octet-stream',
      'Cache-Control': 'private, no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    await pipeline(body, res);
  };
}
