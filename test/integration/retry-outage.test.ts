import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { fixture, type Job } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const JOBS = 1000;

function voicebot(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * The operator's story: the chat provider has an outage, every job that reaches chat fails (one attempt, as
 * once its attempts are used up), the provider comes back, one command resumes them all — at chat, so the
 * transcriptions already paid for are not paid again.
 */
describe('resuming after a chat provider outage', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        STAGE_ATTEMPTS: '1',
        STAGE_CONCURRENCY: '16',
        MAX_BATCH_ITEMS: String(JOBS),
        MAX_JOBS_IN_FLIGHT: String(JOBS),
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const counts = async (batchId: string) =>
    ((await (await fetch(`${stack.url}/v1/batches/${batchId}?limit=0`)).json()) as Job).counts as Record<
      string,
      number
    >;

  it(`${JOBS} jobs failed by the outage all succeed after \`voicebot retry --status failed --code provider_server_error\`; none is transcribed again`, async () => {
    stack.sim.reset();
    stack.sim.configure({ rate500: 1, faultEndpoints: ['chat'] });
    const mp3 = new Uint8Array(await fixture('question.mp3'));
    const form = new FormData();
    for (let i = 0; i < JOBS; i++)
      form.append('audio', new Blob([mp3], { type: 'audio/mpeg' }), `call-${i}.mp3`);
    const res = await fetch(`${stack.url}/v1/batches`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const batch = (await res.json()) as Job;
    await waitFor(async () => (await counts(batch.id)).failed === JOBS, {
      timeoutMs: 600_000,
      intervalMs: 500,
      message: `all ${JOBS} jobs failing at chat`,
    });
    const outage = stack.sim.stats().calls;
    expect(outage.transcriptions).toBe(JOBS);
    expect(outage.chat).toBe(JOBS);
    expect(outage.speech).toBe(0);

    // The provider is back.
    stack.sim.configure({ rate500: 0 });
    const r = await voicebot([
      '--url',
      stack.url,
      'retry',
      '--status',
      'failed',
      '--code',
      'provider_server_error',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${JOBS} of ${JOBS} matching jobs resumed`);
    await waitFor(async () => (await counts(batch.id)).succeeded === JOBS, {
      timeoutMs: 600_000,
      intervalMs: 500,
      message: `all ${JOBS} resumed jobs succeeding`,
    });
    const after = stack.sim.stats().calls;
    expect(after.transcriptions, 'transcriptions after the retry').toBe(outage.transcriptions);
    expect(after.chat - outage.chat).toBe(JOBS);
    expect(after.speech).toBe(JOBS);

    // Every job ran twice: its second run resumed at chat.
    const redis = stack.api.deps.redis;
    const ids = await redis.lrange(redisKeys(stack.config.prefix).batchJobs(batch.id), 0, -1);
    const pipe = redis.pipeline();
    for (const id of ids) pipe.hmget(redisKeys(stack.config.prefix).job(id), 'retries', 'status');
    const rows = ((await pipe.exec()) ?? []).map(([, v]) => (v as string[]).join(' '));
    expect(new Set(rows)).toEqual(new Set(['1 succeeded']));
    expect((await (await fetch(`${stack.url}/v1/batches/${batch.id}?limit=0`)).json()) as Job).toMatchObject({
      status: 'completed',
    });
  }, 1_200_000);
});
