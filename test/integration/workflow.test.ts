/**
 * .github/workflows/ci.yml, as far as it can be checked without GitHub: it validates against the workflow
 * schema (@action-validator/cli), runs the README's commands on ubuntu-latest with Node 24 and a Redis
 * service, and its docker job's check — scripts/smoke-job.sh, the README's first curl — passes against a
 * running API here. The docker build and `docker compose up` themselves run only on GitHub.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Stack, startStack } from '../support/stack.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const file = join(root, '.github/workflows/ci.yml');
// biome-ignore lint/suspicious/noExplicitAny: a workflow is walked by key
const workflow = parse(readFileSync(file, 'utf8')) as Record<string, any>;
// biome-ignore lint/suspicious/noExplicitAny: a workflow is walked by key
const commands = (job: Record<string, any>) => job.steps.map((s: { run?: string }) => s.run ?? '').join('\n');

describe('.github/workflows/ci.yml', () => {
  it('is a valid GitHub Actions workflow', async () => {
    const { stdout, stderr } = await run(join(root, 'node_modules/.bin/action-validator'), [file]);
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });

  it('runs the README commands on ubuntu-latest with Node 24 and a Redis service, for pushes and pull requests', () => {
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    const test = workflow.jobs.test;
    expect(test['runs-on']).toBe('ubuntu-latest');
    const setupNode = test.steps.find((s: { uses?: string }) => s.uses?.startsWith('actions/setup-node'));
    expect(String(setupNode.with['node-version'])).toBe('24');
    expect(test.services.redis.image).toMatch(/^redis:/);
    expect(test.services.redis.ports).toContain('6379:6379');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const command of ['npm ci', 'npm run typecheck', 'npm run lint', 'npm test', 'npm start']) {
      expect(readme).toContain(command);
      expect(commands(test)).toContain(command);
    }
    expect(commands(test)).toMatch(/festival festvox-us-slt-hts/);
  });

  it('builds the image, starts docker compose and waits for a job to succeed', () => {
    const docker = workflow.jobs.docker;
    expect(docker['runs-on']).toBe('ubuntu-latest');
    const script = commands(docker);
    expect(script.indexOf('docker compose build')).toBeGreaterThanOrEqual(0);
    expect(script.indexOf('docker compose up -d')).toBeGreaterThan(script.indexOf('docker compose build'));
    expect(script.indexOf('scripts/smoke-job.sh http://localhost:3000')).toBeGreaterThan(
      script.indexOf('docker compose up -d'),
    );
  });
});

describe('scripts/smoke-job.sh (the check both CI jobs end with)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  it('submits question.wav with curl, waits, and exits 0 with the job succeeded', async () => {
    const { stdout } = await run(join(root, 'scripts/smoke-job.sh'), [stack.url], {
      env: { ...process.env, SMOKE_TIMEOUT_SECONDS: '60' },
    });
    expect(stdout).toContain('smoke: status=succeeded');
    expect(stdout).toMatch(/smoke: transcript=\S/);
  });

  it('exits non-zero when the job fails', async () => {
    stack.sim.configure({ failNext: [{ endpoint: 'transcriptions', status: 400 }] });
    const err = await run(join(root, 'scripts/smoke-job.sh'), [stack.url], {
      env: { ...process.env, SMOKE_TIMEOUT_SECONDS: '60' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toContain('the job did not succeed');
  });
});
