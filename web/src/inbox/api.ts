/** The inbox's calls to the voicebot API (same origin), and the shapes it reads. */
import { ApiError, type JobStatus, playableUrl } from '../api.ts';

export type Urgency = 'high' | 'normal' | 'low';
export type Status = JobStatus;

export interface Voicemail {
  id: string;
  status: Status;
  stage: string | null;
  pipeline: string;
  created_at: string;
  duration_seconds: number | null;
  transcript: string | null;
  input: { kind: 'audio' | 'text'; type: string | null; bytes: number | null; url?: string | null };
  summary: {
    summary: string;
    caller_name: string | null;
    callback_number: string | null;
    urgency: Urgency;
    intent: string;
    action_items: string[];
  } | null;
  handled?: boolean;
  artifacts: Partial<
    Record<'transcript_txt' | 'transcript_json' | 'transcript_srt' | 'transcript_vtt', string>
  > | null;
  error: { code: string; message: string } | null;
  /** issue #15: a recording without speech succeeds with `no_speech: true` */
  no_speech?: boolean;
}

export interface Page {
  data: Voicemail[];
  next_cursor: string | null;
}

export interface Filters {
  urgency: string;
  status: string;
  handled: string;
  q: string;
}

/** Problem JSON from a failed call, for messages in plain words. */
export interface Problem {
  status: number;
  code: string;
  detail: string;
}

export function createInboxApi(apiKey: () => string) {
  const authHeaders = (): Record<string, string> => {
    const key = apiKey();
    return key ? { Authorization: `Bearer ${key}` } : {};
  };

  async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(path, {
        ...init,
        headers: {
          Accept: 'application/json',
          ...authHeaders(),
          ...(init.headers as Record<string, string>),
        },
        cache: 'no-store',
        credentials: 'same-origin',
      });
    } catch {
      throw new ApiError(0, 'network_error', 'Could not reach the server. Check your connection.');
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!res.ok) {
      const detail = typeof body?.detail === 'string' ? body.detail : res.statusText;
      throw new ApiError(
        res.status,
        typeof body?.code === 'string' ? body.code : `http_${res.status}`,
        detail,
      );
    }
    return body as T;
  }

  return {
    authHeaders,
    list(filters: Filters, bucket: string | undefined, cursor: string | null, limit: number): Promise<Page> {
      const q = new URLSearchParams({ pipeline: 'voicemail', limit: String(limit) });
      if (bucket) q.set('urgency', bucket);
      if (filters.status) q.set('status', filters.status);
      if (filters.handled) q.set('handled', filters.handled);
      if (filters.q.trim()) q.set('q', filters.q.trim());
      if (cursor) q.set('cursor', cursor);
      return request<Page>(`/v1/jobs?${q}`);
    },
    /** The newest voicemails, whatever the filters: new results are found here. */
    newest(limit: number): Promise<Page> {
      return request<Page>(`/v1/jobs?pipeline=voicemail&limit=${limit}`);
    },
    get(id: string): Promise<Voicemail> {
      return request<Voicemail>(`/v1/jobs/${encodeURIComponent(id)}`);
    },
    setHandled(id: string, handled: boolean): Promise<Voicemail> {
      return request<Voicemail>(`/v1/jobs/${encodeURIComponent(id)}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ handled }),
      });
    },
    eventsUrl(id: string): string {
      const url = `/v1/jobs/${encodeURIComponent(id)}/events`;
      const key = apiKey();
      return key ? `${url}?access_token=${encodeURIComponent(key)}` : url;
    },
    /** Whether the batch endpoint takes `word_timestamps` (issue #15): read once from the OpenAPI document. */
    async acceptsWordTimestamps(): Promise<boolean> {
      try {
        const doc = (await request<{ paths?: Record<string, unknown> }>('/openapi.json')).paths?.[
          '/v1/batches'
        ];
        return JSON.stringify(doc ?? {}).includes('"word_timestamps"');
      } catch {
        return false;
      }
    },
  };
}
export type InboxApi = ReturnType<typeof createInboxApi>;

/** A stored file's link, same-origin for local files (see playableUrl). */
export const fileUrl = playableUrl;
