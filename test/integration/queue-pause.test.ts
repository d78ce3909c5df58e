/**
 * A provider's 429 pauses a stage queue; the pause and its end live in Redis (src/shared/queue-pause.ts). Two
 * worker processes run the speak stage, each blocking idle for 60 s: only a wake-up scheduled in Redis can
 * start the next job within seconds of the pause's end, also when the process that paused is SIGKILLed
 * during the pause.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { endPause, PAUSE_END_JOB, pauseLeft, pauseQueue } from '../../src/shared/queue-pause.ts';
import { stageJobId } from '../../src/shared/queue-registry.ts';
import { postJob, waitForJob } from '../support/http.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

const PAUSE_MS = 2000;
const IDLE_BLOCK_SECONDS = 60;

/** One event of a BullMQ queue's event stream, with the Redis time it was written at (ms). */
interface QueueEvent {
  at: number;
  event: string;
  jobId: string;
  prev?: string;
}

describe('429 pause of a stage queue: ended from Redis', () => {
  let stack: Stack;
  let redis: Redis;
  let queue: Queue;
  const workers: ServiceProcess[] = [];

  beforeAll(async () => {
    stack = await startStack({
      workers: false,
      env: { WORKER_IDLE_BLOCK_SECONDS: String(IDLE_BLOCK_SECONDS), STAGE_CONCURRENCY: '2' },
    });
    redis = new Redis(stack.redis.url);
    queue = new Queue('speak', { connection: redis, prefix: stack.config.prefix });
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.kill('SIGKILL');
      await w.exited;
    }
  });
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await stack?.close();
  });

  const events = async (): Promise<QueueEvent[]> =>
    (await redis.xrange(queue.keys.events ?? '', '-', '+')).map(([id, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
      return { at: Number(id.split('-')[0]), event: f.event ?? '', jobId: f.jobId ?? '', prev: f.prev };
    });

  /** Two speak workers, each blocked idle on the queue (BZPOPMIN) before the test goes on. */
  async function startIdleWorkers(): Promise<ServiceProcess[]> {
    const started = [0, 1].map(() =>
      spawnService('worker', { ...stack.env, WORKER_STAGES: 'speak', LOG_LEVEL: 'info' }),
    );
    workers.push(...started);
    const name = `${stack.config.prefix}:${Buffer.from('speak').toString('base64')}`;
    await waitFor(
      async () => {
        const clients = (await redis.client('LIST')) as string;
        const blocked = clients
          .split('\n')
          .filter((l) => l.includes(` name=${name}`) && / cmd=bzpopmin /.test(l));
        return blocked.length >= 2;
      },
      { timeoutMs: 120_000, intervalMs: 100, message: 'two speak workers blocked idle on the queue' },
    );
    return started;
  }

  async function pausedRun(killPauser: boolean) {
    await redis.del(queue.keys.events ?? '');
    stack.sim.reset();
    const [a, b] = await startIdleWorkers();
    if (!a || !b) throw new Error('no workers');
    stack.sim.configure({ failNext: [{ endpoint: 'speech', status: 429, retryAfterMs: PAUSE_MS }] });
    const { res, body } = await postJob(stack.url, { text: 'wait for me', pipeline: 'speak' });
    expect(res.status).toBe(202);
    const bullId = stageJobId(body.id, 'speak');

    // The pause is set in Redis, and the job is back in the queue (not held by a worker).
    await waitFor(async () => (await pauseLeft(redis, queue.keys)) > 0, {
      timeoutMs: 120_000,
      message: 'the 429 to pause the speak queue',
    });
    await waitFor(async () => ['prioritized', 'waiting'].includes(await queue.getJobState(bullId)), {
      timeoutMs: 120_000,
      message: 'the rate-limited job back in the queue',
    });
    const pauser = [a, b].find((w) => w.output.some((l) => l.includes('stage paused')));
    expect(pauser).toBeDefined();
    if (killPauser && pauser) {
      pauser.kill('SIGKILL');
      expect(await pauser.exited).toBe('SIGKILL');
    }

    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(stack.sim.stats().calls.speech).toBe(2);

    // The order in the queue's event stream: the job put back; the pause-end job (a delayed job, due when the
    // pause ends) promoted and run; only then the job again.
    const log = await events();
    const putBack = log.find((e) => e.jobId === bullId && e.event === 'waiting' && e.prev === 'active');
    const restarted = log.filter((e) => e.jobId === bullId && e.event === 'active')[1];
    const pauseEnd = log.find((e) => e.event === 'delayed' && e.jobId !== bullId);
    const pauseEndRun = log.find((e) => e.event === 'active' && e.jobId === pauseEnd?.jobId);
    expect(putBack && restarted && pauseEnd && pauseEndRun).toBeTruthy();
    if (!putBack || !restarted || !pauseEnd || !pauseEndRun) return;
    expect(pauseEndRun.at).toBeLessThanOrEqual(restarted.at);
    // The pause held (the pause-end job was added just before the pause was set)…
    const startedAfter = restarted.at - pauseEnd.at;
    expect(startedAfter).toBeGreaterThanOrEqual(PAUSE_MS - 50);
    // …and ended long before an idle worker would have looked again by itself (its block is 60 s).
    expect(startedAfter).toBeLessThan((IDLE_BLOCK_SECONDS * 1000) / 2);
    console.info(
      `429 pause of ${PAUSE_MS} ms${killPauser ? ', pausing process SIGKILLed' : ''}: the job started again ${startedAfter} ms after the pause began`,
    );
    // The pause-only limit is gone (the queue has no STAGE_RPM limit of its own), removed by the pause-end job.
    expect(await redis.hget(queue.keys.meta ?? '', 'max')).toBeNull();
    expect(await pauseLeft(redis, queue.keys)).toBe(0);
  }

  it('a 2 s pause: the next job starts when the pause ends, woken by the pause-end job', async () => {
    await pausedRun(false);
  });

  it('the process that paused is SIGKILLed during the pause: the other worker starts the job when it ends', async () => {
    await pausedRun(true);
  });
});

describe('pause in Redis: overlapping pauses', () => {
  let stack: Stack;
  let redis: Redis;
  let queue: Queue;
  beforeAll(async () => {
    stack = await startStack({ workers: false });
    redis = new Redis(stack.redis.url);
    queue = new Queue('chat', { connection: redis, prefix: stack.config.prefix });
  });
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await stack?.close();
  });

  it('a shorter pause never cuts a longer one short; each schedules its own end', async () => {
    await pauseQueue(redis, queue, 30_000, false);
    await pauseQueue(redis, queue, 1000, false);
    expect(await pauseLeft(redis, queue.keys)).toBeGreaterThan(20_000);
    const ends = (await queue.getDelayed()).filter((j) => j.name === PAUSE_END_JOB);
    expect(ends.map((j) => j.opts.delay).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual([1000, 30_000]);
  });

  it('the end of a pause keeps the pause-only limit while another pause holds, and removes it after', async () => {
    await pauseQueue(redis, queue, 30_000, false);
    expect(await endPause(redis, queue.keys)).toBeGreaterThan(20_000);
    expect(await redis.hget(queue.keys.meta ?? '', 'max')).not.toBeNull();
    await redis.del(queue.keys.limiter ?? ''); // the pause ran out
    expect(await endPause(redis, queue.keys)).toBe(0);
    expect(await redis.hget(queue.keys.meta ?? '', 'max')).toBeNull();
  });

  it('a queue with a limit of its own (STAGE_RPM) keeps its meta untouched', async () => {
    await redis.hdel(queue.keys.meta ?? '', 'max', 'duration');
    await pauseQueue(redis, queue, 500, true);
    expect(await pauseLeft(redis, queue.keys)).toBeGreaterThan(0);
    expect(await redis.hget(queue.keys.meta ?? '', 'max')).toBeNull();
  });
});
