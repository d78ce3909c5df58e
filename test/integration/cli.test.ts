import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAL_ENGINES } from '../../src/simulator/types.ts';
import { FIXTURES, type Job, postJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** Runs the `voicebot` CLI as a user would; resolves with its exit code and output. */
function voicebot(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('voicebot CLI', () => {
  let stack: Stack;
  let work: string;
  const secret = newSecret();
  beforeAll(async () => {
    stack = await startStack({
      env: {
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_SECRET: secret,
        STAGE_CONCURRENCY: '16',
        MAX_BATCH_ITEMS: '1000',
      },
      // The CLI's batching is the subject, not recognition: the simulator's cheap deterministic engines
      // (real pocketsphinx and Festival per job made the 1,000-file batch take minutes).
      simulator: { disableTools: [...REAL_ENGINES] },
    });
    work = await mkdtemp(join(tmpdir(), 'vb-cli-'));
  });
  afterAll(async () => {
    await stack?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('a 1,000-file batch completes with a progress bar and a results folder; the batch webhook arrives once', async () => {
    const dir = join(work, 'voicemails');
    await mkdir(dir);
    for (let i = 0; i < 1000; i++)
      await copyFile(join(FIXTURES, 'question.mp3'), join(dir, `call-${String(i).padStart(4, '0')}.mp3`));
    const receiver = await startReceiver(secret);
    const out = join(work, 'results');
    const r = await voicebot([
      '--url',
      stack.url,
      'batch',
      dir,
      '--out',
      out,
      '--concurrency',
      '16',
      '--webhook-url',
      receiver.url,
      '--poll-ms',
      '1000',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/batch .* 1000\/1000 ended \| 1000 ok, 0 failed/);
    expect(r.stdout).toContain('1000 succeeded, 0 failed');

    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as {
      counts: Record<string, number>;
      items: Array<{ status: string; source: string }>;
    };
    expect(results.counts.succeeded).toBe(1000);
    expect(results.items).toHaveLength(1000);
    expect(results.items[7]?.source).toBe('call-0007.mp3');
    const folders = (await readdir(out)).filter((f) => f !== 'results.json');
    expect(folders).toHaveLength(1000);
    expect((await readdir(join(out, folders[0] ?? ''))).sort()).toEqual([
      'job.json',
      'reply.mp3',
      'reply.txt',
      'transcript.json',
      'transcript.srt',
      'transcript.txt',
      'transcript.vtt',
    ]);

    await waitFor(() => receiver.received.length > 0, { timeoutMs: 120_000 });
    await new Promise((res) => setTimeout(res, 1000));
    expect(receiver.received).toHaveLength(1);
    const event = receiver.received[0]?.verified as {
      type: string;
      data: { counts: Record<string, number>; total: number };
    };
    expect(event.type).toBe('batch.completed');
    expect(event.data).toMatchObject({ total: 1000, counts: { succeeded: 1000 } });
    await receiver.close();
  });

  it('submit --wait --out downloads the results; --json prints JSON; exit codes say what happened', async () => {
    const out = join(work, 'single');
    const r = await voicebot([
      '--url',
      stack.url,
      '--json',
      'submit',
      join(FIXTURES, 'question.wav'),
      '--wait',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const job = JSON.parse(r.stdout.trim()) as { id: string; status: string };
    expect(job.status).toBe('succeeded');
    expect((await readdir(join(out, job.id))).sort()).toEqual([
      'job.json',
      'reply.mp3',
      'reply.txt',
      'transcript.json',
      'transcript.srt',
      'transcript.txt',
      'transcript.vtt',
    ]);

    stack.sim.configure({ failNext: [{ endpoint: 'chat', status: 400 }] });
    const failed = await voicebot(['--url', stack.url, 'submit', '--text', 'this one fails', '--wait']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('failed');

    expect((await voicebot(['--url', stack.url, 'submit'])).code).toBe(2);
    expect((await voicebot(['--url', stack.url, 'batch', '--concurrency', 'lots', work])).code).toBe(2);
    expect((await voicebot(['frobnicate'])).code).toBe(2);
    const help = await voicebot(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
  });

  it('a missing or unreadable file is a usage error (exit 2, "no such file: …") and submits nothing', async () => {
    // the newest job of the (open) client: unchanged when nothing was submitted
    const newest = async () =>
      ((await (await fetch(`${stack.url}/v1/jobs?limit=1`)).json()) as Job).data[0]?.id;
    const before = (await postJob(stack.url, { text: 'the last job before' })).body.id;
    expect(await newest()).toBe(before);
    const missing = join(work, 'no-such-call.wav');
    // the good file and --text come first: nothing at all is submitted when one file is wrong
    const r = await voicebot([
      '--url',
      stack.url,
      'submit',
      '--text',
      'hello',
      join(FIXTURES, 'question.wav'),
      missing,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no such file: ${missing}`);
    expect(r.stderr).not.toMatch(/blob/i);

    const folder = join(work, 'a-folder.wav');
    await mkdir(folder);
    const dir = await voicebot(['--url', stack.url, 'submit', folder]);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toContain(`no such file: ${folder}`);

    // A file without read permission (root reads every file, so only checked as another user).
    if (process.getuid?.() !== 0) {
      const locked = join(work, 'locked.wav');
      await copyFile(join(FIXTURES, 'question.wav'), locked);
      await chmod(locked, 0o000);
      const denied = await voicebot(['--url', stack.url, 'submit', locked]);
      expect(denied.code).toBe(2);
      expect(denied.stderr).toContain(`no such file: ${locked}`);
    }
    const csv = await voicebot(['--url', stack.url, 'batch', join(work, 'no-such-list.csv')]);
    expect(csv.code).toBe(2);
    expect(await newest()).toBe(before);
  });

  it('keys create | list | revoke manage keys in Redis; the key is shown once and works', async () => {
    const env = { REDIS_URL: stack.config.redisUrl, QUEUE_PREFIX: stack.config.prefix };
    const created = await voicebot(['--json', 'keys', 'create', '--name', 'cli-test'], env);
    expect(created.code, created.stderr).toBe(0);
    const { key, key_id } = JSON.parse(created.stdout) as { key: string; key_id: string };
    const list = await voicebot(['--json', 'keys', 'list'], env);
    expect(list.stdout).toContain(key_id);
    expect(list.stdout).not.toContain(key);
    await waitFor(async () => (await fetch(`${stack.url}/v1/jobs`)).status === 401, { timeoutMs: 120_000 });
    const status = await voicebot([
      '--url',
      stack.url,
      '--api-key',
      key,
      '--json',
      'submit',
      '--text',
      'with a key',
    ]);
    expect(status.code, status.stderr).toBe(0);
    // Another key stays: with none left the API goes back to open (outside production, by design, once its
    // 5 s view of "any key exists" renews) and would take any request — a revoked key included.
    expect((await voicebot(['keys', 'create', '--name', 'stays'], env)).code).toBe(0);
    expect((await voicebot(['keys', 'revoke', key_id], env)).code).toBe(0);
    expect((await voicebot(['--json', 'keys', 'list'], env)).stdout).not.toContain(key_id);
    const after = await voicebot(['--url', stack.url, '--api-key', key, 'submit', '--text', 'revoked']);
    expect(after.code).toBe(2);
    expect(after.stderr).toContain('invalid_api_key');
  });
});
