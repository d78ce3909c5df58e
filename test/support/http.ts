import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** Polls GET /v1/jobs/:id until the job is terminal; returns it. */
export async function waitForJob(url: string, id: string, timeoutMs = 30_000) {
  let job: Job = {};
  await waitFor(
    async () => {
      job = await getJob(url, id);
      return ['succeeded', 'failed', 'canceled'].includes(job.status);
    },
    { timeoutMs, intervalMs: 50, message: `job ${id} did not end` },
  );
  return job;
}

/** Reads a job's Server-Sent Events until the server ends the stream (after the terminal event). */
export async function readEvents(
  url: string,
  id: string,
  headers: Record<string, string> = {},
): Promise<Job[]> {
  const res = await fetch(`${url}/v1/jobs/${id}/events`, { headers, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return text
    .split('\n\n')
    .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
    .filter((l): l is string => l !== undefined)
    .map((l) => JSON.parse(l.slice(6)) as Job);
}
