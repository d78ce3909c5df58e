import { safeRequest } from './safe-http.ts';

export interface SendResult {
  statusCode: number | null;
  retryAfter: string | null;
  latencyMs: number;
  error: string | null;
}

/** POSTs a webhook body through `safeRequest`; never throws — the outcome is data to record. */
export async function sendWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; allowPrivate: boolean },
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await safeRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'voicebot-webhooks/1', ...headers },
      body,
      ...opts,
    });
    res.resume(); // the body does not matter; drain it so the socket is freed
    await new Promise((resolve) => res.on('end', resolve).on('error', resolve));
    const retryAfter = res.headers['retry-after'];
    return {
      statusCode: res.statusCode ?? null,
      retryAfter: retryAfter ?? null,
      latencyMs: elapsed(),
      error: null,
    };
  } catch (err) {
    const e = err as Error;
    const refused = e.name === 'UnsafeUrlError' || (err as { code?: string }).code === 'EPRIVATE';
    return {
      statusCode: null,
      retryAfter: null,
      latencyMs: elapsed(),
      error: refused ? `refused: ${e.message}` : e.message,
    };
  }
}
