import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { safeRequest } from '../client-urls/safe-request.ts';
import type { JobStore } from '../job-store.ts';
import { inSpan, recordTraceparent, tracedProcessor } from '../tracing.ts';

export interface SendResult {
  statusCode: number | null;
  retryAfter: string | null;
  latencyMs: number;
  error: string | null;
}

/**
 * POSTs a webhook body through `safeRequest`; never throws — the outcome is data to record. One CLIENT span
 * per attempt when tracing is on (the receiver's host and answer; never the URL's path or query).
 */
export function sendWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; allowPrivate: boolean },
): Promise<SendResult> {
  const host = URL.canParse(url) ? new URL(url).host : 'invalid';
  const attributes = { 'http.request.method': 'POST', 'server.address': host };
  return inSpan('webhook POST', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const result = await send(url, body, headers, opts);
    if (result.statusCode !== null) span.setAttribute('http.response.status_code', result.statusCode);
    const failed =
      result.error ?? (result.statusCode && result.statusCode >= 300 ? `HTTP ${result.statusCode}` : null);
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: failed });
    return result;
  });
}

/** The delivery job's run as one span of its job's trace (`deliver webhook`); unchanged while tracing is off. */
export function traceDelivery<J extends Job<{ jobId: string; batchId?: string | null }>, R>(
  deps: { store: JobStore },
  processor: (job: J) => Promise<R>,
): (job: J) => Promise<R> {
  return tracedProcessor('deliver webhook', 'deliver', recordTraceparent(deps.store), processor, (job) => ({
    'voicebot.job_id': job.data.jobId,
    ...(job.data.batchId ? { 'voicebot.batch_id': job.data.batchId } : {}),
  }));
}

async function send(
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
