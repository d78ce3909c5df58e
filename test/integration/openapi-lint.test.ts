/**
 * The OpenAPI document as a generator and a linter see it: Redocly's recommended rules pass (the one
 * documented exception is in .redocly.lint-ignore.yaml), every operation names itself and its security,
 * and a client generated from it with openapi-typescript type-checks against real use.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOpenApiDocument } from '../../scripts/openapi.ts';
import { typeErrorsOf } from '../support/type-check.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is walked by key
type Doc = Record<string, any>;

let dir: string;
let doc: Doc;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vb-openapi-'));
  // The layout `npm run openapi:lint` uses: the config and its ignore file beside dist/openapi.json.
  writeOpenApiDocument(join(dir, 'dist/openapi.json'));
  await copyFile(join(root, 'redocly.yaml'), join(dir, 'redocly.yaml'));
  await copyFile(join(root, '.redocly.lint-ignore.yaml'), join(dir, '.redocly.lint-ignore.yaml'));
  doc = JSON.parse(await readFile(join(dir, 'dist/openapi.json'), 'utf8'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const operations = () =>
  Object.entries(doc.paths as Doc).flatMap(([path, ops]) =>
    Object.entries(ops as Doc).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
  );

describe('the OpenAPI document', () => {
  it('passes Redocly lint with the recommended rules: no error, no warning, only the trailing-slash exception', async () => {
    const { stdout, stderr } = await run(bin('redocly'), ['lint', 'dist/openapi.json', '--format=stylish'], {
      cwd: dir,
      env: {
        ...process.env,
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        NO_COLOR: '1',
      },
    });
    const out = stdout + stderr;
    expect(out).not.toMatch(/\b(error|warning)\b/);
    expect(out).toContain('Your API description is valid');
    expect(out).toContain('1 problem is explicitly ignored');
  });

  it('gives every operation a unique operationId, declared security and a 4xx answer', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(10);
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { name, op } of ops) {
      expect(Array.isArray(op.security), name).toBe(true);
      expect(
        Object.keys(op.responses).some((s) => s.startsWith('4')),
        name,
      ).toBe(true);
    }
    const publicOps = ops.filter(({ op }) => op.security.length === 0).map(({ name }) => name);
    expect(publicOps.sort()).toEqual(
      ['GET /docs', 'GET /files/{key}', 'GET /healthz', 'GET /openapi.json', 'GET /readyz'].sort(),
    );
    const job = ops.find(({ name }) => name === 'GET /v1/jobs/{id}')?.op;
    expect(job.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(job.responses)).toEqual(['200', '400', '401', '404', '408', '429', '431', '503']);
    expect(doc.tags.every((t: Doc) => typeof t.description === 'string' && t.description.length > 0)).toBe(
      true,
    );
  });

  it('generates a client (openapi-typescript) that type-checks where it is used, and refuses misuse', async () => {
    await run(bin('openapi-typescript'), ['dist/openapi.json', '-o', 'client/api.d.ts'], { cwd: dir });
    await mkdir(join(dir, 'client'), { recursive: true });
    await writeFile(
      join(dir, 'client/use.ts'),
      `import type { components, operations, paths } from './api.d.ts';

type Job = components['schemas']['Job'];
type NewJob = NonNullable<operations['createJob']['requestBody']>['content']['application/json'];
type Accepted = operations['createJob']['responses'][202]['content']['application/json'];
type Problem = operations['getJob']['responses'][404]['content']['application/problem+json'];

export async function submit(base: string, body: NewJob): Promise<Accepted> {
  const res = await fetch(base + '/v1/jobs', { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 202) throw new Error(((await res.json()) as Problem).detail);
  return (await res.json()) as Accepted;
}
export function describeJob(job: Job): string {
  const done: Job['status'][] = ['succeeded', 'failed', 'canceled'];
  return done.includes(job.status) ? (job.transcript ?? '') + ' → ' + (job.reply_text ?? '') : job.stage ?? '';
}
export const first: NewJob = { text: 'Are you open on Sunday?', pipeline: 'voicebot', metadata: { ticket: 42 } };
export const path: keyof paths = '/v1/jobs/{id}/events';
// @ts-expect-error: not a job status
export const wrong: Job['status'] = 'done';
// @ts-expect-error: not a pipeline
export const wrongPipeline: NewJob = { text: 'x', pipeline: 'podcast' };
`,
    );
    expect(await typeErrorsOf(join(dir, 'client'), 'use.ts')).toBe('');
  });
});
