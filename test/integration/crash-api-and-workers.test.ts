import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../src/shared/config.ts';
import { jobStreamKey } from '../../src/shared/events.ts';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { type Simulator as SimulatorHandle, startSimulator } from '../../src/simulator/server.ts';
import { CRASH_SETTINGS } from '../support/crash-settings.ts';
import { freePort, type RedisHandle, startRedis } from '../support/index.ts';
import { serviceEnv } from '../support/service-env.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

const JOBS = 16;
const BATCH = 6;
const KILLS = { api: 3, worker: 4 };
const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

/**
 * SIGKILL of the API and of the workers while jobs are posted, batches run and cancels come in: a supervisor
 * restarts what died, clients retry what a dead API did not answer (with their Idempotency-Key), and once every
 * job has ended the invariants hold in Redis: no ended job in an in-flight set, every ended job in the retention
 * index, one terminal event and one webhook per job, and no record, stream or batch without a TTL.
 */
describe('the lifecycle when API and worker processes are killed', () => {
  let redis: RedisHandle;
  let sim: SimulatorHandle;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let config: Config;
  let env: Record<string, string>;
  /** Two API processes, as behind a load balancer: a client whose request died tries the other. */
  const apiPorts: number[] = [];
  const running = { api: new Set<ServiceProcess>(), worker: new Set<ServiceProcess>() };
  const upSince = new Map<ServiceProcess, number>();
  const spawned = { api: 0, worker: 0 };
  let stopped = false;

  const supervise = (kind: 'api' | 'worker', port?: number) => {
    const p = spawnService(
      kind,
      kind === 'worker'
        ? { ...env, TEST_CRASH_AFTER_TRANSITION: '0.01' }
        : { ...env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
    );
    spawned[kind]++;
    running[kind].add(p);
    upSince.set(p, Date.now());
    p.exited.then(() => {
      running[kind].delete(p);
      if (!stopped) supervise(kind, port); // a supervisor restarts what died
    });
  };

  beforeAll(async () => {
    redis = await startRedis();
    sim = await startSimulator({ latencyMs: 20, disableTools: ['pocketsphinx', 'espeak-ng'] });
    const secret = newSecret();
    receiver = await startReceiver(secret);
    apiPorts.push(await freePort(), await freePort());
    const port = apiPorts[0] as number;
    env = serviceEnv({
      port,
      redis,
      simUrl: sim.url,
      dataDir: `/tmp/voicebot-crash-all-${redis.prefix}`,
      logLevel: 'error',
      extra: {
        ...CRASH_SETTINGS,
        WEBHOOK_SECRET: secret,
      },
    });
    config = loadConfig(env);
  });

  afterAll(async () => {
    stopped = true;
    const all = [...running.api, ...running.worker];
    for (const p of all) p.kill('SIGKILL');
    await Promise.all(all.map((p) => p.exited));
    await receiver?.close();
    await sim?.close();
    await redis?.stop();
  });

  /** A client that retries what a dead API did not answer: connection errors and 5xx, same request. */
  const call = async (path: string, init: RequestInit): Promise<Response> => {
    let last: unknown;
    for (let i = 0; i < 200; i++) {
      try {
        const url = `http://127.0.0.1:${apiPorts[i % apiPorts.length]}${path}`;
        const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
        if (res.status < 500) return res;
        last = new Error(`${init.method} ${path} answered ${res.status}`);
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${init.method} ${path}: no answer from any API process`, { cause: last });
  };
  const post = async (path: string, body: Record<string, unknown>, idempotencyKey: string) => {
    const res = await call(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    return (await res.json()) as { id: string };
  };

  it('no ended job in flight or outside the retention index, one terminal event and webhook each, every TTL set', async () => {
    for (const port of apiPorts) supervise('api', port);
    for (let i = 0; i < 3; i++) supervise('worker');
    const reader = new Redis(redis.url);
    const key = redisKeys(config.prefix).job;
    const statuses = async (ids: string[]) => {
      const pipe = reader.pipeline();
      for (const id of ids) pipe.hget(key(id), 'status');
      return ((await pipe.exec()) ?? []).map(([, v]) => v as string | null);
    };

    // The batch goes in first (its Idempotency-Key claim precedes its accept: a kill between the two is another
    // point of the issue), then the killing starts while single jobs are posted and canceled.
    const batch = await post(
      '/v1/batches',
      {
        webhook_url: receiver.url,
        items: Array.from({ length: BATCH }, (_, i) => ({ text: `batch item ${i}` })),
      },
      'crash-batch',
    );
    const batchIds = await reader.lrange(redisKeys(config.prefix).batchJobs(batch.id), 0, -1);
    expect(batchIds).toHaveLength(BATCH);

    // Kills follow progress, not the clock: one at a time, each once the service has moved on since the last
    // (a job accepted or ended), alternating API and workers, on processes up long enough to be working.
    const ids: string[] = [];
    const kills = { api: 0, worker: 0 };
    let lastProgress = '';
    const killer = setInterval(async () => {
      const ended = (await statuses([...ids, ...batchIds]).catch(() => [])).filter(
        (s) => s && TERMINAL.has(s),
      ).length;
      const progress = `${ids.length}/${ended}`;
      if (progress === lastProgress) return;
      const kind = kills.api < KILLS.api && kills.api <= kills.worker / 2 ? 'api' : 'worker';
      if (kills[kind] >= KILLS[kind]) return;
      const ripe = [...running[kind]].filter((p) => Date.now() - (upSince.get(p) ?? 0) > 1500);
      const victim = ripe[Math.floor(Math.random() * ripe.length)];
      if (!victim) return;
      lastProgress = progress;
      kills[kind]++;
      victim.kill('SIGKILL');
    }, 400);

    const canceled: string[] = [];
    const cancels: Array<Promise<Response>> = [];
    for (let i = 0; i < JOBS; i++) {
      ids.push(
        (await post('/v1/jobs', { text: `question ${i}`, webhook_url: receiver.url }, `crash-job-${i}`)).id,
      );
      if (i % 5 === 2) {
        const id = ids.at(-1) as string;
        canceled.push(id);
        cancels.push(call(`/v1/jobs/${id}`, { method: 'DELETE' }));
      }
    }
    for (const res of await Promise.all(cancels)) expect(res.status).toBe(200);
    const all = [...ids, ...batchIds];

    let last: Array<string | null> = [];
    await waitFor(
      async () => {
        last = await statuses(all);
        return last.every((s) => s && TERMINAL.has(s));
      },
      {
        timeoutMs: 120_000,
        intervalMs: 300,
        progress: () => last.filter((st) => st && TERMINAL.has(st)).length,
        message: 'every job to end',
      },
    );
    // Single jobs have their own webhook; a batch's items have none, the batch has batch.completed.
    const webhookState = async () => {
      const pipe = reader.pipeline();
      for (const id of all) pipe.hget(key(id), 'webhook');
      return ((await pipe.exec()) ?? []).map(([, v]) => JSON.parse((v as string) ?? 'null'));
    };
    let undelivered: unknown[] = [];
    await waitFor(
      async () => {
        const states = await webhookState();
        undelivered = ids.flatMap((id, i) => (states[i]?.status === 'delivered' ? [] : [[id, states[i]]]));
        return (
          undelivered.length === 0 && receiver.received.some((r) => r.verified?.type === 'batch.completed')
        );
      },
      {
        timeoutMs: 120_000,
        intervalMs: 300,
        progress: () => [undelivered.length, receiver.received.length],
        message: 'every webhook delivered',
      },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; not delivered: ${JSON.stringify(undelivered)}`);
    });
    expect((await webhookState()).slice(ids.length)).toEqual(batchIds.map(() => null));
    clearInterval(killer);
    stopped = true;
    const alive = [...running.api, ...running.worker];
    for (const p of alive) p.kill('SIGKILL');
    await Promise.all(alive.map((p) => p.exited));

    // The run really killed the API and the workers.
    expect(kills.api).toBeGreaterThan(0);
    expect(spawned.api).toBeGreaterThan(apiPorts.length);
    expect(spawned.worker).toBeGreaterThan(3);
    const final = await statuses(all);

    // 1. No ended job is counted in flight.
    expect(await reader.smembers(redisKeys(config.prefix).clientActive('public'))).toEqual([]);
    // 2. Every ended job is in the retention index.
    const idx = reader.pipeline();
    for (const id of all) idx.zscore(redisKeys(config.prefix).finished, id);
    const scores = ((await idx.exec()) ?? []).map(([, v]) => v);
    expect(all.filter((_, i) => scores[i] === null)).toEqual([]);
    // 3. One terminal event per job, of its final status.
    const ev = reader.pipeline();
    for (const id of all) ev.xrange(jobStreamKey(config.prefix, id), '-', '+');
    const streams = ((await ev.exec()) ?? []).map(([, v]) => v as Array<[string, string[]]>);
    for (const [i, stream] of streams.entries()) {
      const terminal = stream
        .map(([, f]) => f[1] as string)
        .filter((t) => t.startsWith('job.') && t !== 'job.queued');
      expect(terminal, all[i]).toEqual([`job.${final[i]}`]);
    }
    // 4. One webhook per job (delivered at least once, all under one webhook-id: the final status's); the
    // batch's items none of their own, the batch one batch.completed.
    for (const [i, id] of all.entries()) {
      const got = receiver.received.filter(
        (r) => r.verified?.type !== 'batch.completed' && (r.verified?.data as { id?: string })?.id === id,
      );
      expect(new Set(got.map((r) => r.headers['webhook-id'])), id).toEqual(
        new Set(i < ids.length ? [`msg_${id.replaceAll('-', '')}_${final[i]}`] : []),
      );
    }
    const batchHooks = receiver.received.filter((r) => r.verified?.type === 'batch.completed');
    expect(new Set(batchHooks.map((r) => r.headers['webhook-id'])).size).toBe(1);
    // 5. No record without a TTL once ended: the record, its event stream, and the completed batch's keys.
    const ttl = reader.pipeline();
    for (const id of all) ttl.ttl(key(id)).ttl(jobStreamKey(config.prefix, id));
    ttl.ttl(redisKeys(config.prefix).batch(batch.id)).ttl(redisKeys(config.prefix).batchJobs(batch.id));
    const ttls = ((await ttl.exec()) ?? []).map(([, v]) => v as number);
    expect(ttls.filter((t) => t <= 0)).toEqual([]);
    // Cancels took where they came before the end.
    expect(canceled.some((id) => final[all.indexOf(id)] === 'canceled')).toBe(true);
    reader.disconnect();
  });
});
