import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';

/** Where `npm run build` writes the web page (web/ → dist/web/). */
export const WEB_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/**
 * The talk-to-the-bot page at `/` and the voicemail inbox at `/inbox`, served as static files (same origin: no CORS needed). Hashed assets are
 * cached for good; index.html is revalidated so a new build is picked up.
 */
export function webPage(): RequestHandler {
  return express.static(WEB_DIR, {
    index: 'index.html',
    // `/inbox` → inbox.html
    extensions: ['html'],
    redirect: false,
    setHeaders(res, path) {
      res.setHeader(
        'Cache-Control',
        path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
