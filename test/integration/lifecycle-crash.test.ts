import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApi } from '../../src/api/server.ts';
import { type Config, loadConfig } from '../../src/shared/config.ts';
import { jobStreamKey } from '../../src/shared/events.ts';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { type Simulator as SimulatorHandle, startSimulator } from '../../src/simulator/server.ts';
import { CRASH_SETTINGS } from '../support/crash-settings.ts';
import { audioForm, fixture } from '../support/http.ts';
import { freePort, type RedisHandle, startRedis } from '../support/index.ts';
import { serviceEnv } from '../support/service-env.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

/**
 * Crashes at any instant leave nothing behind. Worker processes SIGKILL themselves right after a share of
 * their lifecycle transitions (a failpoint between the transition's script and BullMQ's own completion of the
 * stage job — the one place a stage still makes two Redis calls), and are also killed from outside at random
 * moments (mid-stage, mid-transition, mid-delivery). Then the invariants are checked directly in Redis.
 */
describe('job lifecycle under SIGKILL at any instant', () => {
  let redis: RedisHandle;
  let sim: SimulatorHandle;
  let api: ApiServer;
  let config: Config;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let env: Record<string, string>;
  const workers = new Set<ServiceProcess>();
  let stopped = false;
  let spawned = 0;

  const spawnWorker = () => {
    const w = spawnService('worker', env);
    spawned++;
    workers.add(w);
    w.exited.then(() => {
      workers.delete(w);
      if (!stopped) spawnWorker(); // a supervisor restarts what died
    });
  };

  beforeAll(async () => {
    redis = await startRedis();
    sim = await startSimulator({ latencyMs: 15, disableTools: ['pocketsphinx', 'espeak-ng'] });
    const secret = newSecret();
    receiver = await startReceiver(secret);
    const port = await freePort();
    env = serviceEnv({
      port,
      redis,
      simUrl: sim.url,
      dataDir: `/tmp/voicebot-crash-${redis.prefix}`,
      logLevel: 'error',
      extra: {
        ...CRASH_SETTINGS,
        WEBHOOK_SECRET: secret,
      },
    });
    config = loadConfig(env);
    api = await startApi(config, createLogger({ level: 'error', env: 'test' }));
  });

  afterAll(async () => {
    stopped = true;
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all([...workers].map((w) => w.exited));
    await api?.close();
    await receiver?.close();
    await sim?.close();
    await redis?.stop();
  });

  it('no ended job in flight, every ended job in the retention index, one terminal event and one webhook each', async () => {
    env.TEST_CRASH_AFTER_TRANSITION = '0.03';
    spawnWorker();
    spawnWorker();
    // Outside kills too: at random moments, wherever a worker happens to be — for the first 30 s, and only a
    // worker that has been up a while (on a loaded machine a new process needs seconds to start working).
    const started = new Map<ServiceProcess, number>();
    const killer = setInterval(() => {
      const now = Date.now();
      for (const w of workers) if (!started.has(w)) started.set(w, now);
      const ripe = [...workers].filter((w) => now - (started.get(w) ?? now) > 2000);
      ripe[Math.floor(Math.random() * ripe.length)]?.kill('SIGKILL');
    }, 900);
    setTimeout(() => clearInterval(killer), 30_000);

    const post = async (body: FormData | Record<string, unknown>, path = '/v1/jobs') => {
      const init: RequestInit =
        body instanceof FormData
          ? { method: 'POST', body }
          : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
      const res = await fetch(`${api.url}${path}`, init);
      expect(res.status).toBe(202);
      return (await res.json()) as { id: string; jobs?: Array<{ id: string }> };
    };
    const wav = await fixture('question.wav');
    const ids: string[] = [];
    const canceled: string[] = [];
    for (let i = 0; i < 40; i++) {
      const form = audioForm(wav);
      form.append('webhook_url', receiver.url);
      ids.push((await post(i % 2 ? form : { text: `question ${i}`, webhook_url: receiver.url })).id);
      if (i % 8 === 3) {
        const id = ids.at(-1) as string;
        canceled.push(id);
        setTimeout(() => fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' }), 50 + i * 10);
      }
    }
    const batch = await post(
      {
        webhook_url: receiver.url,
        items: Array.from({ length: 12 }, (_, i) => ({ text: `batch item ${i}` })),
      },
      '/v1/batches',
    );
    const reader = new Redis(redis.url);
    const batchIds = await reader.lrange(redisKeys(config.prefix).batchJobs(batch.id), 0, -1);
    expect(batchIds).toHaveLength(12);
    const all = [...ids, ...batchIds];
    const key = redisKeys(config.prefix).job;
    const terminal = new Set(['succeeded', 'failed', 'canceled']);

    // Waits while jobs keep ending: a busy machine makes restarts slow, never wrong. A stage job delayed by
    // backoff whose wake-up marker died with its worker waits out another worker's idle block
    // (WORKER_IDLE_BLOCK_SECONDS, 120 s), so "stuck" means no job ended for longer than that.
    let statuses: Array<string | null> = [];
    const readStatuses = async () => {
      const pipe = reader.pipeline();
      for (const id of all) pipe.hget(key(id), 'status');
      statuses = ((await pipe.exec()) ?? []).map(([, v]) => v as string | null);
      return statuses;
    };
    await waitFor(async () => (await readStatuses()).every((s) => s && terminal.has(s)), {
      progress: () => statuses,
      timeoutMs: 200_000,
      maxIntervalMs: 500,
      message: 'every job of the crash run to end',
    }).catch(() => undefined); // the assertion below names what did not end
    clearInterval(killer);
    expect(statuses.filter((s) => !s || !terminal.has(s))).toEqual([]);
    // Webhooks are delivered at least once: wait (workers still restart) until every job's is recorded delivered.
    const webhookState = async () => {
      const pipe = reader.pipeline();
      for (const id of ids) pipe.hget(key(id), 'webhook');
      return ((await pipe.exec()) ?? []).map(([, v]) => JSON.parse((v as string) ?? 'null'));
    };
    let delivered: unknown[] = [];
    await waitFor(
      async () => {
        const states = await webhookState();
        delivered = states.map((w) => w?.status);
        const batchDone = receiver.received.some((r) => r.verified?.type === 'batch.completed');
        return batchDone && states.every((w) => w?.status === 'delivered');
      },
      { progress: () => [delivered, receiver.received.length], timeoutMs: 200_000, maxIntervalMs: 500 },
    ).catch(() => undefined); // the assertions below name what was not delivered
    stopped = true;
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all([...workers].map((w) => w.exited));

    // The run really crashed workers many times, at the failpoint and from outside.
    expect(spawned).toBeGreaterThan(10);

    // 1. No job that ended is counted in flight: the client's in-flight set is empty.
    expect(await reader.smembers(redisKeys(config.prefix).clientActive('public'))).toEqual([]);
    // 2. Every ended job is in the retention index, with its end time.
    const pipe = reader.pipeline();
    for (const id of all) pipe.zscore(redisKeys(config.prefix).finished, id);
    const scores = ((await pipe.exec()) ?? []).map(([, v]) => v);
    expect(scores.filter((s) => s === null)).toEqual([]);
    // 3. One terminal event per job, and at most one stage.completed per stage (a retried transition is a no-op).
    const events = reader.pipeline();
    for (const id of all) events.xrange(jobStreamKey(config.prefix, id), '-', '+');
    const streams = ((await events.exec()) ?? []).map(([, v]) => v as Array<[string, string[]]>);
    for (const [i, stream] of streams.entries()) {
      const types = stream.map(([, f]) => f[1] as string);
      expect(
        types.filter((t) => t.startsWith('job.') && t !== 'job.queued'),
        all[i],
      ).toHaveLength(1);
      const completed = stream
        .filter(([, f]) => f[1] === 'stage.completed')
        .map(([, f]) => (JSON.parse(f[3] as string) as { stage: string }).stage);
      expect(new Set(completed).size, all[i]).toBe(completed.length);
    }
    // 4. Each terminal state produces one webhook: one webhook-id per job, the one of its final status.
    const states = await webhookState();
    for (const [i, id] of ids.entries()) {
      const got = receiver.received.filter((r) => (r.verified?.data as { id?: string })?.id === id);
      const eventIds = new Set(got.map((r) => r.headers['webhook-id']));
      expect(eventIds.size, id).toBe(1);
      expect([...eventIds][0]).toBe(`msg_${id.replaceAll('-', '')}_${statuses[i]}`);
      expect(states[i]?.status, id).toBe('delivered');
    }
    // The batch completed once: every item counted once, one batch.completed webhook-id.
    const b = await reader.hgetall(redisKeys(config.prefix).batch(batch.id));
    expect(Number(b.ended)).toBe(12);
    expect(b.completed_at).toBeTruthy();
    const batchHooks = receiver.received.filter((r) => r.verified?.type === 'batch.completed');
    expect(new Set(batchHooks.map((r) => r.headers['webhook-id'])).size).toBe(1);
    // Cancels took: every job canceled before it ended says so (the rest had already finished).
    expect(canceled.some((id) => statuses[all.indexOf(id)] === 'canceled')).toBe(true);
    reader.disconnect();
  });
});
