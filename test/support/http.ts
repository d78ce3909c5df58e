import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal } from '../../src/shared/job-states.ts';
import { waitFor } from './wait-for.ts';

/** A response body as tests read it: any JSON object. */
// biome-ignore lint/suspicious/noExplicitAny: tests assert on whatever the API answers
export type Job = Record<string, any>;

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
export const fixture = (name: string) => readFile(join(FIXTURES, name));

/** multipart/form-data with an `audio` file (filename and content-type as a client would send them). */
export function audioForm(
  bytes: Buffer,
  filename = 'audio.wav',
  type = 'audio/wav',
  fields: Record<string, string> = {},
): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('audio', new Blob([new Uint8Array(bytes)], { type }), filename);
  return form;
}

export async function postJob(
  url: string,
  body: FormData | Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const init: RequestInit =
    body instanceof FormData
      ? { method: 'POST', body, headers }
      : {
          method: 'POST',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json', ...headers },
        };
  const res = await fetch(`${url}/v1/jobs`, init);
  return { res, body: (await res.json()) as Job };
}

export async function getJob(url: string, id: string) {
  const res = await fetch(`${url}/v1/jobs/${id}`);
  return (await res.json()) as Job;
}

/**
 * Polls GET /v1/jobs/:id until the job is terminal; returns it. The wait follows the job: every change of
 * its status, stage or `updated_at` restarts `idleMs`, so a busy machine that keeps moving the job is
 * waited for and only a job stuck in one state for `idleMs` fails (5 min by default: one stage may
 * run minutes of real recognition on a busy machine with no visible change, e.g. a long voicemail's chunks). Polls from every 25 ms up to every
 * 250 ms (well under the API's default per-client rate limit even for a job that runs minutes) and honours a 429's Retry-After.
 */
export async function waitForJob(url: string, id: string, idleMs = 300_000) {
  let job: Job = {};
  await waitFor(
    async () => {
      const res = await fetch(`${url}/v1/jobs/${id}`);
      if (res.status === 429) {
        await res.body?.cancel();
        await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
        return false;
      }
      job = (await res.json()) as Job;
      return isTerminal(job.status);
    },
    {
      timeoutMs: idleMs,
      intervalMs: 25,
      maxIntervalMs: 250,
      progress: () => [job.status, job.stage, job.updated_at],
      message: `job ${id} to end`,
    },
  );
  return job;
}

/**
 * Reads a job's Server-Sent Events until the server ends the stream (after the terminal event). The stream
 * is given up only when it stays silent for `idleMs` (the server sends a keep-alive every 15 s, and an event
 * at every step of the job), so a slow job is followed to its end however long it takes.
 */
export async function readEvents(
  url: string,
  id: string,
  headers: Record<string, string> = {},
  idleMs = 120_000,
): Promise<Job[]> {
  const idle = new AbortController();
  let timer = setTimeout(
    () => idle.abort(new Error(`no byte of job ${id}'s events for ${idleMs} ms`)),
    idleMs,
  );
  const quiet = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(new Error(`no byte of job ${id}'s events for ${idleMs} ms`)), idleMs);
  };
  let text = '';
  try {
    const res = await fetch(`${url}/v1/jobs/${id}/events`, { headers, signal: idle.signal });
    const decoder = new TextDecoder();
    for await (const chunk of res.body ?? []) {
      quiet();
      text += decoder.decode(chunk, { stream: true });
    }
    text += decoder.decode();
  } finally {
    clearTimeout(timer);
  }
  return text
    .split('\n\n')
    .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
    .filter((l): l is string => l !== undefined)
    .map((l) => JSON.parse(l.slice(6)) as Job);
}
