/**
 * PUBLIC_URL unset (the default): file links in an answer start with the host the request came in on, so
 * a page or client that reached the API as 127.0.0.1 or as localhost gets links that work from there; the
 * start-up log names the address that links fall back to where no request names one (webhooks).
 */
import { get } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../src/api/server.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { freePort } from '../support/free-port.ts';
import { type Job, postJob, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;
let port: number;
beforeAll(async () => {
  stack = await startStack({ env: { PUBLIC_URL: '' } });
  port = Number(new URL(stack.url).port);
});
afterAll(async () => stack?.close());

async function jobThrough(host: string): Promise<Job> {
  const base = `http://${host}:${port}`;
  const { body } = await postJob(base, { text: `Hello from ${host}` });
  const job = await waitForJob(base, body.id);
  expect(job.status).toBe('succeeded');
  return job;
}

describe('links without PUBLIC_URL', () => {
  it.each(['127.0.0.1', 'localhost'])(
    'a job read through %s links its audio and artifacts on that host',
    async (host) => {
      const job = await jobThrough(host);
      const origin = `http://${host}:${port}`;
      expect(new URL(job.audio_url).origin).toBe(origin);
      const audio = await fetch(job.audio_url);
      expect(audio.status).toBe(200);
      expect((await audio.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      for (const url of Object.values(job.artifacts ?? {}) as string[])
        expect(new URL(url).origin).toBe(origin);
      // The same job read through the other name links to that other name.
      const other = host === 'localhost' ? '127.0.0.1' : 'localhost';
      const again = (await (await fetch(`http://${other}:${port}/v1/jobs/${job.id}`)).json()) as Job;
      expect(new URL(again.audio_url).origin).toBe(`http://${other}:${port}`);
      expect((await fetch(again.audio_url)).status).toBe(200);
    },
  );

  it('the synchronous contract answers with a link on the host it was called on', async () => {
    const form = new FormData();
    form.set('text', 'good morning');
    const res = await fetch(`http://localhost:${port}/api/voicebot/`, { method: 'POST', body: form });
    const body = (await res.json()) as { output_wav_url: string };
    expect(res.status).toBe(200);
    expect(body.output_wav_url.startsWith(`http://localhost:${port}/files/`)).toBe(true);
    expect((await fetch(body.output_wav_url)).status).toBe(200);
  });

  it('a Host header that is not a host name gets the default links, not its text', async () => {
    const { body } = await postJob(stack.url, { text: 'odd host' });
    await waitForJob(stack.url, body.id);
    // fetch() sets Host itself: send this one with node:http.
    const job = await new Promise<Job>((resolve, reject) => {
      const req = get(
        { host: '127.0.0.1', port, path: `/v1/jobs/${body.id}`, headers: { host: 'evil.test/x?y=' } },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(JSON.parse(text) as Job));
        },
      );
      req.on('error', reject);
    });
    expect(job.audio_url).not.toContain('evil');
    expect(job.audio_url.startsWith(`${stack.config.publicUrl}/files/`)).toBe(true);
  });

  it('the start-up log names the address the fallback links use, and says links follow the request', async () => {
    const lines: Array<{ msg: string; address?: string }> = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    const apiPort = await freePort();
    const config = loadConfig({ ...stack.env, PORT: String(apiPort), HOST: '0.0.0.0' });
    const api = await startApi(config, pino({ level: 'info' }, sink));
    try {
      const listening = lines.find((l) => l.msg.startsWith('api listening on'));
      expect(listening?.address).toBe(`http://127.0.0.1:${apiPort}`);
      expect(config.publicUrl).toBe(listening?.address);
      expect(listening?.msg).toContain('file links use the host each request came in on');
    } finally {
      await api.close();
    }
  });
});
