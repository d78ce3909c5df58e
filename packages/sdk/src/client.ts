/**
 * TypeScript SDK for the voicebot API: submit, get, wait (live events or polling), batch, cancel, list,
 * and verify a webhook. Types are generated from the service's OpenAPI document (../generate.ts), itself
 * built from the zod schemas that validate requests and describe answers: no import from the server.
 */
import { Webhook } from 'standardwebhooks';
import type { components, operations } from './generated/openapi.js';

type CreateJobBody = NonNullable<operations['createJob']['requestBody']>['content']['application/json'];
export type JobView = components['schemas']['Job'];
export type BatchView = components['schemas']['Batch'];
export type RetrySummary = components['schemas']['RetrySummary'];
/** Which ended jobs a bulk retry re-opens (`client`: operators only, with the admin token). */
export type RetryFilter = Partial<
  NonNullable<operations['adminRetryJobs']['requestBody']>['content']['application/json']
>;
export type JobOptions = Partial<Omit<CreateJobBody, 'text' | 'audio_url'>>;
export type JobInput = { file: Blob; filename?: string } | { text: string } | { audioUrl: string };
export interface JobEvent {
  id: string;
  type: string;
  [field: string]: unknown;
}

/** Whether a job has ended: an ended job has its end time (a retry clears it with the status). */
const ended = (job: JobView) => job.finished_at !== null;

/** An error answer of the API (RFC 9457 problem): status, machine-readable code, human detail. */
export class VoicebotError extends Error {
  override name = 'VoicebotError';
  readonly status: number;
  readonly code: string;
  readonly body: unknown;
  constructor(status: number, code: string, detail: string, body: unknown) {
    super(detail);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export interface ClientOptions {
  /** e.g. `http://localhost:3000` */
  baseUrl: string;
  apiKey?: string | undefined;
}

export class VoicebotClient {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/$/, '');
    this.apiKey = opts.apiKey;
  }

  /** Submits one job → 202's job view. `idempotencyKey` makes retrying the call safe. */
  async submit(
    input: JobInput,
    options: JobOptions = {},
    req: { idempotencyKey?: string } = {},
  ): Promise<JobView> {
    const headers: Record<string, string> = req.idempotencyKey
      ? { 'idempotency-key': req.idempotencyKey }
      : {};
    if ('file' in input) {
      const form = new FormData();
      for (const [k, v] of Object.entries(options))
        if (v !== undefined) form.append(k, typeof v === 'string' ? v : JSON.stringify(v));
      form.append('audio', input.file, input.filename ?? 'audio');
      return this.request('POST', '/v1/jobs', form, headers);
    }
    const body =
      'text' in input ? { ...options, text: input.text } : { ...options, audio_url: input.audioUrl };
    return this.request('POST', '/v1/jobs', body, headers);
  }

  get(id: string): Promise<JobView> {
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** Cancels a queued or running job; on a finished job deletes its stored files. */
  cancel(id: string): Promise<JobView> {
    return this.request('DELETE', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /**
   * Resumes a failed or canceled job at the stage it ended in (a new run: `attempt` + 1); the stages it
   * completed are not run again. 409 for a job in another state, 429 at your cap of jobs in flight.
   */
  retry(id: string): Promise<JobView> {
    return this.request('POST', `/v1/jobs/${encodeURIComponent(id)}/retry`);
  }

  /**
   * Resumes every ended job matching `filter` (default: every failed one), e.g. after a provider outage:
   * `{ status: 'failed', error_code: 'provider_server_error' }`. Your own jobs; with `adminToken` (ADMIN_TOKEN)
   * every client's, or `filter.client`'s.
   */
  retryMatching(filter: RetryFilter = {}, opts: { adminToken?: string } = {}): Promise<RetrySummary> {
    if (opts.adminToken)
      return this.request('POST', '/admin/jobs/retry', filter, {
        authorization: `Bearer ${opts.adminToken}`,
      });
    const { client: _client, ...own } = filter;
    return this.request('POST', '/v1/jobs/retry', own);
  }

  /** Marks a job (a voicemail) handled, or unhandled again. */
  setHandled(id: string, handled: boolean): Promise<JobView> {
    return this.request('PATCH', `/v1/jobs/${encodeURIComponent(id)}`, { handled });
  }

  list(
    query: {
      status?: string;
      batch_id?: string;
      pipeline?: string;
      handled?: boolean;
      urgency?: 'high' | 'normal' | 'low' | 'none';
      q?: string;
      cursor?: string;
      limit?: number;
    } = {},
  ): Promise<{ data: JobView[]; next_cursor: string | null }> {
    const q = new URLSearchParams(
      Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])),
    );
    return this.request('GET', `/v1/jobs${q.size ? `?${q}` : ''}`);
  }

  /** Follows the job's Server-Sent Events until it ends, calling `onEvent` for each. */
  async *events(id: string, signal?: AbortSignal): AsyncGenerator<JobEvent> {
    const res = await fetch(`${this.baseUrl}/v1/jobs/${encodeURIComponent(id)}/events`, {
      headers: this.headers(),
      signal,
    });
    if (!res.ok || !res.body) throw await toError(res);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data)
          yield { id: /^id: (.*)$/m.exec(block)?.[1] ?? '', ...(JSON.parse(data) as { type: string }) };
      }
    }
  }

  /** Resolves with the job once it has ended: follows its events, or polls with `mode: 'poll'`. */
  async wait(
    id: string,
    opts: {
      mode?: 'events' | 'poll';
      intervalMs?: number;
      timeoutMs?: number;
      onEvent?: (e: JobEvent) => void;
    } = {},
  ): Promise<JobView> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
    if ((opts.mode ?? 'events') === 'events') {
      try {
        for await (const e of this.events(id, AbortSignal.timeout(Math.max(1, deadline - Date.now())))) {
          opts.onEvent?.(e);
        }
        // The service ends the stream after the job's terminal event (of its last run, once retried); a stream
        // that ended otherwise (a proxy, a restart) leaves a job that has not ended: poll it.
        const job = await this.get(id);
        if (ended(job)) return job;
      } catch (err) {
        if (err instanceof VoicebotError) throw err;
        // The stream broke (proxy, network): fall back to polling.
      }
    }
    for (;;) {
      const job = await this.get(id);
      if (ended(job)) return job;
      if (Date.now() > deadline)
        throw new Error(`job ${id} did not end in time (last status: ${job.status})`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
    }
  }

  /** Creates a batch from JSON items or audio files. */
  async batch(
    input:
      | { items: Array<{ text?: string; audio_url?: string; metadata?: Record<string, unknown> }> }
      | { files: Array<{ file: Blob; filename: string }> },
    options: JobOptions & { metadata?: Record<string, unknown> } = {},
    req: { idempotencyKey?: string } = {},
  ): Promise<BatchView> {
    const headers: Record<string, string> = req.idempotencyKey
      ? { 'idempotency-key': req.idempotencyKey }
      : {};
    if ('files' in input) {
      const form = new FormData();
      for (const [k, v] of Object.entries(options))
        if (v !== undefined) form.append(k, typeof v === 'string' ? v : JSON.stringify(v));
      for (const f of input.files) form.append('audio', f.file, f.filename);
      return this.request('POST', '/v1/batches', form, headers);
    }
    return this.request('POST', '/v1/batches', { ...options, items: input.items }, headers);
  }

  getBatch(id: string, page: { cursor?: number; limit?: number } = {}): Promise<BatchView> {
    return this.request(
      'GET',
      `/v1/batches/${encodeURIComponent(id)}?cursor=${page.cursor ?? 0}&limit=${page.limit ?? 0}`,
    );
  }

  /** Verifies a webhook request's Standard Webhooks signature; returns the event or throws. */
  static verifyWebhook(
    secret: string,
    body: string,
    headers: Record<string, string>,
  ): { type: string; timestamp: string; data: unknown } {
    return new Webhook(secret).verify(body, headers) as { type: string; timestamp: string; data: unknown };
  }

  private headers(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const init: RequestInit = { method, headers: { ...this.headers(), ...headers } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { ...init.headers, 'content-type': 'application/json' };
    }
    const res = await fetch(`${this.baseUrl}${path}`, init);
    if (!res.ok) throw await toError(res);
    return (await res.json()) as T;
  }
}

async function toError(res: Response): Promise<VoicebotError> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as { code?: string; detail?: string };
    return new VoicebotError(res.status, p.code ?? 'error', p.detail ?? text, p);
  } catch {
    return new VoicebotError(res.status, 'error', text.slice(0, 200) || res.statusText, text);
  }
}
