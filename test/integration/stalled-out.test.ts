/**
 * A stage job that stalls out (its workers died more than MAX_STALLED_COUNT times) after it had handed off to the
 * next stage must not fail the job that moved on (issue 21, point 3): the terminal transition is guarded by the
 * stage it ends from. Workers are separate processes that SIGKILL themselves at a named transition
 * (TEST_CRASH_AT), so the crash lands exactly between the hand-off and BullMQ's completion of the chat job.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readJobEvents } from '../../src/shared/events.ts';
import { stageJobId } from '../../src/shared/queue-registry.ts';
import { getJob, type Job, postJob, readEvents, waitForJob } from '../support/http.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

describe('a stage job that stalls out after its hand-off', () => {
  let stack: Stack | undefined;
  const workers: ServiceProcess[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.kill('SIGKILL');
      await w.exited;
    }
    await stack?.close();
    stack = undefined;
  });

  for (const maxStalled of [0, 1]) {
    it(`MAX_STALLED_COUNT=${maxStalled}: the chat job stalls out after handing off to speak — the job is not failed, and speak still runs`, async () => {
      stack = await startStack({
        workers: false,
        env: { MAX_STALLED_COUNT: String(maxStalled), LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '500' },
      });
      const s = stack;
      const worker = (env: Record<string, string>) => {
        const w = spawnService('worker', { ...s.env, ...env });
        workers.push(w);
        return w;
      };
      const { body } = await postJob(s.url, { text: 'does a stalled chat job fail the job?' });
      const id = body.id as string;
      // maxStalled + 1 deaths of the chat job: the earlier ones mid-chat, the last right after its hand-off.
      const crashes = [...Array.from({ length: maxStalled }, () => 'start:chat'), 'handoff:chat'];
      for (const crashAt of crashes) {
        const w = worker({ WORKER_STAGES: 'chat', TEST_CRASH_AT: crashAt });
        expect(await w.exited, `the worker crashing at ${crashAt}`).toBe('SIGKILL');
      }
      expect(await getJob(s.url, id)).toMatchObject({ status: 'running', stage: 'speak' });

      // A chat worker finds the chat job's lock gone once more: past MAX_STALLED_COUNT, BullMQ fails it.
      const checker = worker({ WORKER_STAGES: 'chat', LOG_LEVEL: 'info' });
      await waitFor(
        () => checker.output.some((l) => l.includes(id) && /job failed|job left as it is/.test(l)),
        { timeoutMs: 120_000, message: `the chat worker to handle job ${id}'s stalled-out chat job` },
      );
      const chat = await s.api.deps.queues.stages.chat.getJob(stageJobId(id, 'chat'));
      expect(await chat?.getState()).toBe('failed');
      expect(chat?.failedReason).toMatch(/stalled more than allowable limit/);
      const held = await getJob(s.url, id);
      expect(held).toMatchObject({ status: 'running', stage: 'speak' });
      expect(held.error ?? null).toBeNull();

      worker({ WORKER_STAGES: 'speak' });
      const job = await waitForJob(s.url, id);
      expect(job.status).toBe('succeeded');
      expect(job.reply_text).toBeTruthy();
      const types = (await readEvents(s.url, id)).map((e: Job) => e.type);
      expect(types).not.toContain('job.failed');
      expect(types.at(-1)).toBe('job.succeeded');
    });
  }
  it("a stage job's patch (stage.retrying, a fetched input) is refused once the job is at another stage", async () => {
    stack = await startStack({ workers: false });
    const { body } = await postJob(stack.url, { text: 'which stage?' });
    const id = body.id as string;
    const { lifecycle } = stack.api.deps;
    const retrying = { type: 'stage.retrying' as const, data: { stage: 'transcribe' } };
    expect(await lifecycle.patch(id, { input_bytes: 1 }, { stage: 'transcribe', event: retrying })).toBe(
      false,
    );
    const job = await getJob(stack.url, id);
    expect(job.stage).toBe('chat');
    expect(job.input_bytes ?? null).toBeNull();
    const { redis } = stack.api.deps;
    const prefix = stack.config.prefix;
    const events = async () => (await readJobEvents(redis, prefix, id)).map((e) => e.type);
    expect(await events()).toEqual(['job.queued']);
    expect(
      await lifecycle.patch(id, {}, { stage: 'chat', event: { ...retrying, data: { stage: 'chat' } } }),
    ).toBe(true);
    expect(await events()).toEqual(['job.queued', 'stage.retrying']);
  });
});
