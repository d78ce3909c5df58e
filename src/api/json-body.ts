import express, { type RequestHandler } from 'express';
import { HttpError } from '../shared/errors.ts';

/** How deep a JSON body may nest: far beyond any real request, far below what could exhaust the stack. */
export const MAX_JSON_DEPTH = 32;

/** The deepest nesting of objects and arrays in a JSON text (strings skipped), stopping past `limit`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

/** Refuses a JSON text nested deeper than MAX_JSON_DEPTH with a 400, before anything parses or validates it. */
export function assertJsonDepth(text: string, what = 'The JSON body'): void {
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new HttpError(400, 'json_too_deep', `${what} nests deeper than ${MAX_JSON_DEPTH} levels.`);
  }
}

/** express.json, strict, with the nesting bound checked on the raw bytes first. */
export function jsonBody(limit: string): RequestHandler {
  return express.json({
    limit,
    strict: true,
    verify: (_req, _res, buf) => assertJsonDepth(buf.toString('utf8')),
  });
}
