import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';

const run = promisify(execFile);

/** A Python with `requests`, as the original client used (Debian: python3-requests). */
async function pythonWithRequests(): Promise<string | undefined> {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      await run(py, ['-c', 'import requests']);
      return py;
    } catch {}
  }
  return undefined;
}

// The client from the original post, unchanged but for the URL.
const CLIENT = `
import json, sys, requests
def send_audio(file_path):
    with open(file_path, 'rb') as f:
        files = {'audio': (file_path, f, 'audio/wav')}
        response = requests.post(sys.argv[1] + "/api/voicebot/", files=files)
    return response
response = send_audio(sys.argv[2])
print(json.dumps({"status": response.status_code, "body": response.json()}))
`;

const python = await pythonWithRequests();

describe('POST /api/voicebot/ — the original contract', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  it.skipIf(!python)(
    'the original Python requests client gets {output_wav_url, return_text} and the URL downloads',
    async () => {
      const { stdout } = await run(python ?? 'python3', [
        '-c',
        CLIENT,
        stack.url,
        join(FIXTURES, 'question.wav'),
      ]);
      const { status, body } = JSON.parse(stdout) as { status: number; body: Record<string, string> };
      expect(status).toBe(200);
      expect(Object.keys(body).sort()).toEqual(['output_wav_url', 'return_text']);
      expect(body.return_text).toMatch(/opening/i);
      const audio = await fetch(body.output_wav_url ?? '');
      expect(audio.status).toBe(200);
      expect((await audio.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    },
  );

  it('takes form text too (urlencoded and multipart)', async () => {
    const urlencoded = await fetch(`${stack.url}/api/voicebot/`, {
      method: 'POST',
      body: new URLSearchParams({ text: 'good morning' }),
    });
    expect(urlencoded.status).toBe(200);
    expect(((await urlencoded.json()) as { return_text: string }).return_text).toContain('good morning');
    const form = new FormData();
    form.append('text', 'good evening');
    const multipart = await fetch(`${stack.url}/api/voicebot/`, { method: 'POST', body: form });
    expect(((await multipart.json()) as { return_text: string }).return_text).toContain('good evening');
  });

  it('answers 400 without audio or text, as before', async () => {
    const res = await fetch(`${stack.url}/api/voicebot/`, { method: 'POST', body: new FormData() });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('POST /api/voicebot/ when the input itself is the problem', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { MAX_AUDIO_SECONDS: '2' } });
  });
  afterAll(async () => stack?.close());

  it('answers 422 with the input error (audio_too_long), not 502', async () => {
    const form = new FormData();
    form.append('audio', new Blob([new Uint8Array(await fixture('question.wav'))]), 'q.wav');
    const res = await fetch(`${stack.url}/api/voicebot/`, { method: 'POST', body: form });
    const problem = (await res.json()) as { code: string; detail: string; job_id: string };
    expect(res.status).toBe(422);
    expect(problem.code).toBe('audio_too_long');
    expect(problem.job_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('POST /api/voicebot/ when the job outlasts the wait', () => {
  let stack: Stack;
  beforeAll(async () => {
    // The chat call takes 10 minutes: an answer while the job still runs is the endpoint not hanging.
    stack = await startStack({
      env: { SYNC_WAIT_SECONDS: '1' },
      simulator: { latencyMs: { chat: 600_000 } },
    });
  });
  afterAll(async () => stack?.close());

  it('answers 202 with the job id and status URL instead of hanging', async () => {
    const res = await fetch(`${stack.url}/api/voicebot/`, {
      method: 'POST',
      body: new URLSearchParams({ text: 'slow one' }),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: expect.stringMatching(/queued|running/),
      status_url: `/v1/jobs/${body.id}`,
    });
    expect(res.headers.get('location')).toBe(`/v1/jobs/${body.id}`);
    const job = (await (await fetch(`${stack.url}/v1/jobs/${body.id}`)).json()) as { status: string };
    expect(['queued', 'running']).toContain(job.status);
    // Cancelled: the stage's call in flight is aborted (else closing the stack would wait for it).
    expect((await fetch(`${stack.url}/v1/jobs/${body.id}`, { method: 'DELETE' })).status).toBe(200);
  });
});
