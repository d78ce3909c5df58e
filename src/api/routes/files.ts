import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { SPEECH_CONTENT_TYPES } from '../../shared/audio-types.ts';
import { HttpError } from '../../shared/errors.ts';
import { LocalStorage, StorageNotFoundError } from '../../shared/storage/index.ts';
import { isSafeKey, verifySignature } from '../../shared/storage/url-signing.ts';
import { renderedFile, renderTranscript } from '../../shared/transcript-files.ts';
import type { ApiDeps } from '../deps.ts';
import { problem } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';
import { audioFile } from '../submission-docs.ts';

/** Stored files by extension: spoken replies (the shared table) and text. */
const TYPES: Record<string, string> = {
  ...Object.fromEntries(Object.entries(SPEECH_CONTENT_TYPES).map(([ext, type]) => [`.${ext}`, type])),
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
};

/**
 * GET /files/<key>?expires=&sig= — downloads through an HMAC-signed, expiring URL: a stored file from the
 * local-directory storage, or (any storage) a transcript's text form rendered from transcript.json
 * (src/shared/transcript-files.ts). A tampered or expired URL → 403; path tricks never reach the disk.
 */
function serveFile(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const storage = deps.storage;
    const parts = (req.params as { key?: string[] }).key ?? [];
    const key = parts.join('/');
    const expires = Number(req.query.expires);
    const sig = typeof req.query.sig === 'string' ? req.query.sig : '';
    if (!isSafeKey(key) || !Number.isInteger(expires) || !sig)
      throw new HttpError(403, 'forbidden', 'Invalid file link.');
    const verdict = verifySignature(await storage.linkSecret(), key, expires, sig);
    if (verdict === 'bad_signature') throw new HttpError(403, 'forbidden', 'Invalid file link signature.');
    if (verdict === 'expired')
      throw new HttpError(
        403,
        'link_expired',
        'This file link has expired; fetch the job again for a fresh one.',
      );
    const headers = { 'Cache-Control': 'private, no-store', 'X-Content-Type-Options': 'nosniff' };
    const rendered = renderedFile(key);
    if (rendered) {
      const json = await storage.getText(rendered.source);
      if (json === undefined) throw new HttpError(404, 'not_found', 'The file no longer exists.');
      const { body, contentType } = renderTranscript(json, rendered.format);
      res.set({ ...headers, 'Content-Type': contentType }).send(body);
      return;
    }
    if (!(storage instanceof LocalStorage))
      throw new HttpError(404, 'not_found', 'Files are served by S3 in this deployment.');
    let body: Awaited<ReturnType<typeof storage.get>>;
    try {
      body = await storage.get(key);
    } catch (err) {
      if (err instanceof StorageNotFoundError)
        throw new HttpError(404, 'not_found', 'The file no longer exists.');
      throw err;
    }
    res.set({ ...headers, 'Content-Type': TYPES[extname(key)] ?? 'application/octet-stream' });
    await pipeline(body, res);
  };
}

export const route = defineRoute({
  operation: {
    method: 'get',
    path: '/files/*key',
    operationId: 'getFile',
    access: 'public',
    tags: ['files'],
    summary: 'Download a stored file through a signed, expiring link (local storage)',
    description:
      'The links come from a job (`audio_url`, `artifacts`); the signature is the access control. `key` may contain slashes.',
    request: {
      params: z.object({ key: z.string() }),
      query: z.object({ expires: z.coerce.number().int(), sig: z.string() }),
    },
    errors: [403],
    responses: {
      200: { description: 'The file', content: { 'application/octet-stream': { schema: audioFile } } },
      404: problem('The file no longer exists (or storage is S3)'),
    },
  },
  handlers: (deps) => [serveFile(deps)],
});
