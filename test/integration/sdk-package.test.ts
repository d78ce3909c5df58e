/**
 * The SDK installs on its own: `npm pack` of packages/sdk (its build generates the types from the service's
 * OpenAPI document and emits ESM with .d.ts), installed from the tarball into an empty project, runs a
 * job against a started stack, and its types check in a strict TypeScript project that uses them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.ts';
import { typeErrorsOf } from '../support/type-check.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const npmEnv = {
  ...process.env,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

let stack: Stack;
let dir: string;
let packed: { filename: string; files: Array<{ path: string }> };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vb-sdk-'));
  const { stdout } = await run('npm', ['pack', './packages/sdk', '--json', '--pack-destination', dir], {
    cwd: root,
    env: npmEnv,
  });
  // npm prints the prepack build's output before the JSON answer.
  packed = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];
  const project = join(dir, 'app');
  await run('mkdir', ['-p', project]);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'sdk-user', private: true, type: 'module' }),
  );
  await run('npm', ['install', '--prefer-offline', join(dir, packed.filename)], {
    cwd: project,
    env: npmEnv,
  });
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the packed SDK', () => {
  it('holds the built ESM client, its declarations and nothing of the server', async () => {
    const files = packed.files.map((f) => f.path).sort();
    expect(files).toEqual(expect.arrayContaining(['dist/client.js', 'dist/client.d.ts', 'package.json']));
    expect(files.filter((f) => !f.startsWith('dist/'))).toEqual(['README.md', 'package.json']);
    const js = await readFile(join(dir, 'app/node_modules/voicebot-sdk/dist/client.js'), 'utf8');
    expect(js).not.toMatch(/from '\.\.\//);
  });

  it('runs a job from a project that installed only the tarball', async () => {
    const app = join(dir, 'app');
    await writeFile(
      join(app, 'run.js'),
      `import { VoicebotClient, VoicebotError } from 'voicebot-sdk';
const client = new VoicebotClient({ baseUrl: process.argv[2] });
const job = await client.submit({ text: 'Is the shop open on Sunday?' }, { metadata: { from: 'sdk' } });
const done = await client.wait(job.id);
let refused = null;
try { await client.get('00000000-0000-4000-8000-000000000000'); } catch (err) {
  refused = err instanceof VoicebotError ? { status: err.status, code: err.code } : String(err);
}
console.log(JSON.stringify({ status: done.status, reply: done.reply_text, metadata: done.metadata, audio: done.audio_url, refused }));
`,
    );
    const { stdout } = await run('node', ['run.js', stack.url], { cwd: app });
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({
      status: 'succeeded',
      metadata: { from: 'sdk' },
      refused: { status: 404, code: 'not_found' },
    });
    expect(out.reply).toContain('Is the shop open on Sunday?');
    expect((await fetch(out.audio)).status).toBe(200);
  });

  it('its declarations type-check a strict TypeScript project, and catch misuse', async () => {
    const app = join(dir, 'app');
    await writeFile(
      join(app, 'use.ts'),
      `import { type JobView, VoicebotClient } from 'voicebot-sdk';
const client = new VoicebotClient({ baseUrl: 'http://localhost:3000', apiKey: 'k' });
export async function reply(text: string): Promise<string | null> {
  const job: JobView = await client.wait((await client.submit({ text }, { pipeline: 'voicebot' })).id);
  return job.status === 'succeeded' ? job.reply_text : null;
}
// @ts-expect-error: not a pipeline
client.submit({ text: 'x' }, { pipeline: 'podcast' });
`,
    );
    expect(await typeErrorsOf(app, 'use.ts')).toBe('');
  });
});
