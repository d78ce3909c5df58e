import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { assertPublicUrl, guardedLookup } from './guard.ts';

export interface SafeRequestOptions {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  allowPrivate: boolean;
  signal?: AbortSignal;
}

/**
 * An outgoing request to a URL a client gave us (webhook, audio_url): a time limit, redirects not followed
 * (a 3xx is an answer, not a hop), and the socket connects only to an address the SSRF guard checked
 * (guard.ts: one DNS lookup, no rebinding). Resolves with the response (headers received); the caller reads the body.
 */
export async function safeRequest(url: string, opts: SafeRequestOptions): Promise<IncomingMessage> {
  const target = await assertPublicUrl(url, opts.allowPrivate);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const signal = opts.signal
    ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)])
    : AbortSignal.timeout(opts.timeoutMs);
  return new Promise((resolve, reject) => {
    const req = request(target, {
      method: opts.method,
      headers: opts.headers,
      lookup: guardedLookup(opts.allowPrivate),
      timeout: opts.timeoutMs,
      signal,
    });
    req.on('response', resolve);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
