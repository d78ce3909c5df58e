/** The few calls the page makes to the voicebot API (same origin). */
import type { components } from '../../packages/sdk/src/generated/openapi.ts';

/** The job's status, as the OpenAPI document (and so the service) lists them. */
export type JobStatus = components['schemas']['Job']['status'];

export interface JobError {
  code: string;
  message: string;
  stage?: string | null;
  attempts?: number;
}

export interface JobView {
  id: string;
  status: JobStatus;
  stage: string | null;
  transcript: string | null;
  reply_text: string | null;
  audio_url: string | null;
  audio_url_expires_at: string | null;
  error: JobError | null;
}

/** A refused request: the API answers problem+json `{title, status, code, detail}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface Submission {
  conversationId: string;
  audio?: Blob;
  filename?: string;
  text?: string;
  /** stream the reply (words and spoken pieces as they exist); false: the whole-stage path */
  streamReply?: boolean;
}

export interface Api {
  createJob(s: Submission): Promise<JobView>;
  getJob(id: string): Promise<JobView>;
  eventsUrl(id: string): string;
}

/** `apiKey()` is read on every call: when set, it goes as `Authorization: Bearer …` (and `access_token`). */
export function createApi(apiKey: () => string): Api {
  async function request(path: string, init: RequestInit = {}): Promise<JobView> {
    const key = apiKey();
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (key) headers.Authorization = `Bearer ${key}`;
    let res: Response;
    try {
      res = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'same-origin' });
    } catch {
      throw new ApiError(0, 'network_error', 'Could not reach the server. Check your connection.');
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!res.ok) {
      const detail = typeof body?.detail === 'string' ? body.detail : undefined;
      const title = typeof body?.title === 'string' ? body.title : res.statusText;
      const code = typeof body?.code === 'string' ? body.code : `http_${res.status}`;
      throw new ApiError(res.status, code, detail ?? title ?? `HTTP ${res.status}`);
    }
    return body as unknown as JobView;
  }

  return {
    createJob(s) {
      const form = new FormData();
      // Plain fields first: the server streams the audio part, fields after it would arrive late.
      form.append('conversation_id', s.conversationId);
      // A person waits for this turn: its stages go ahead of batch work in every queue.
      form.append('mode', 'interactive');
      if (s.streamReply !== undefined) form.append('stream_reply', String(s.streamReply));
      if (s.audio) form.append('audio', s.audio, s.filename ?? 'recording');
      else form.append('text', s.text ?? '');
      return request('/v1/jobs', { method: 'POST', body: form });
    },
    getJob(id) {
      return request(`/v1/jobs/${encodeURIComponent(id)}`);
    },
    eventsUrl(id) {
      const url = `/v1/jobs/${encodeURIComponent(id)}/events`;
      const key = apiKey();
      return key ? `${url}?access_token=${encodeURIComponent(key)}` : url;
    },
  };
}

/**
 * Local-storage file links are served by the same API that serves this page: use them same-origin, so the
 * page works whatever host name PUBLIC_URL names (CSP `media-src 'self'`). Other URLs (S3) are kept.
 */
export function playableUrl(url: string): string {
  try {
    const u = new URL(url, location.href);
    if (u.origin !== location.origin && u.pathname.startsWith('/files/')) return u.pathname + u.search;
    return u.href;
  } catch {
    return url;
  }
}
