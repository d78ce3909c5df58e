import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { assertPublicUrl, guardedLookup } from '../shared/webhooks/ssrf.ts';

export interface SendResult {
  statusCode: number | null;
  retryAfter: string | null;
  latencyMs: number;
  error: string | null;
}

/**
 * POSTs a webhook body: a time limit, redirects not followed (a 3xx is an answer, not a hop), and the
 * socket connects only to an address the SSRF guard checked (one DNS lookup, no rebinding).
 */
export async function sendWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; allowPrivate: boolean },
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let target: URL;
  try {
    target = await assertPublicUrl(url, opts.allowPrivate);
  } catch (err) {
    return {
      statusCode: null,
      retryAfter: null,
      latencyMs: elapsed(),
      error: `refused: ${(err as Error).message}`,
    };
  }
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'voicebot-webhooks/1', ...headers },
        lookup: guardedLookup(opts.allowPrivate),
        timeout: opts.timeoutMs,
        signal: AbortSignal.timeout(opts.timeoutMs),
      },
      (res) => {
        res.resume(); // the body does not matter; drain it so the socket is freed
        res.on('end', () =>
          resolve({
            statusCode: res.statusCode ?? null,
            retryAfter: header(res.headers['retry-after']),
            latencyMs: elapsed(),
            error: null,
          }),
        );
        res.on('error', (err) =>
          resolve({
            statusCode: res.statusCode ?? null,
            retryAfter: null,
            latencyMs: elapsed(),
            error: err.message,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err) =>
      resolve({ statusCode: null, retryAfter: null, latencyMs: elapsed(), error: err.message }),
    );
    req.end(body);
  });
}

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? (v[0] ?? null) : (v ?? null));
