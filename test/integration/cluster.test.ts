/**
 * The whole service on a real Redis Cluster (3 masters + 3 replicas, local redis-servers): a real WAV through
 * every stage, SSE, a signed webhook, a batch with its batch.completed webhook, a long voicemail's chunk flow,
 * the rate limiter's Lua script — and then the master holding the service's slot is SIGKILLed mid-run and its
 * replica promoted: every job that was answered 202 still succeeds. The long form (more jobs, several failovers) is scripts/cluster-failover.ts.
 */
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { audioForm, fixture, getJob, type Job, postJob, readEvents, waitForJob } from '../support/http.ts';
import { type RedisClusterHandle, startRedisCluster } from '../support/redis-cluster.ts';
import { loopWav, probeSeconds, speechWav } from '../support/speech.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

const secret = newSecret();

describe('on a Redis Cluster (3 masters + 3 replicas)', () => {
  let cluster: RedisClusterHandle;
  let stack: Stack;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    stack = await startStack({
      redis: cluster,
      simulator: { latencyMs: 100 },
      env: {
        // 202 only once a replica has the job (a failover cannot lose an acknowledged job).
        REDIS_WAIT_REPLICAS: '1',
        // The limiter runs its Lua script on every request: exercised here, never reached.
        RATE_LIMIT_RPM: '100000',
        WEBHOOK_SECRET: secret,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_RETRY_SCHEDULE: '0,200,500,1000,2000,4000',
        // A job whose worker lost its lock in the failover is picked up again within seconds.
        LOCK_DURATION_MS: '4000',
        STALLED_INTERVAL_MS: '2000',
        STAGE_BACKOFF_MS: '200',
        STAGE_ATTEMPTS: '8',
        // Long audio is cut into 30 s chunks: a BullMQ flow (transcribe parent, transcribe-chunk children).
        TRANSCRIBE_CHUNK_SECONDS: '30',
        TRANSCRIBE_MODEL: 'whisper-1',
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await cluster?.stop();
  });

  it('connects as a Cluster, and every key the service writes lands in the prefix slot', async () => {
    expect(stack.api.deps.redis).toBeInstanceOf(Cluster);
    expect(stack.worker?.connection).toBeInstanceOf(Cluster);
    const { body } = await postJob(stack.url, { text: 'which slot?' });
    expect((await waitForJob(stack.url, body.id)).status).toBe('succeeded');
    const master = await cluster.prefixMaster();
    const slot = await cluster.prefixSlot();
    const { Redis } = await import('ioredis');
    const node = new Redis(master.port, '127.0.0.1');
    try {
      const keys = (await node.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '1000')) as string[];
      expect(keys.some((k) => k === redisKeys(`{${cluster.prefix}}`).job(body.id))).toBe(true);
      expect(keys.some((k) => k.startsWith(`{${cluster.prefix}}:chat:`))).toBe(true);
      // Nothing of ours anywhere else: the other masters hold no key at all.
      const others = (await cluster.nodes()).filter((n) => n.role === 'master' && n.port !== master.port);
      for (const o of others) {
        const c = new Redis(o.port, '127.0.0.1');
        expect(await c.dbsize()).toBe(0);
        c.disconnect();
      }
    } finally {
      node.disconnect();
    }
  });

  it('a real WAV: transcript, reply and downloadable speech; live events from the streams', async () => {
    stack.sim.reset();
    const { res, body } = await postJob(stack.url, audioForm(await fixture('question.wav')));
    expect(res.status).toBe(202);
    const events = await readEvents(stack.url, body.id);
    expect(events.map((e) => e.type)).toContain('job.succeeded');
    const job = await waitForJob(stack.url, body.id);
    expect(job).toMatchObject({ status: 'succeeded', error: null });
    expect(job.transcript.toLowerCase()).toContain('opening');
    expect(job.reply_text).toContain(job.transcript);
    const audio = await fetch(job.audio_url);
    expect(audio.status).toBe(200);
    const { writeFile } = await import('node:fs/promises');
    const file = `${stack.dataDir}/probe-${body.id}.mp3`;
    await writeFile(file, Buffer.from(await audio.arrayBuffer()));
    expect(await probeSeconds(file)).toBeGreaterThan(0.5);
    await rm(file);
    expect(stack.sim.stats().calls).toEqual({ transcriptions: 1, chat: 1, speech: 1 });
  });

  it('a signed webhook, and a batch with one batch.completed webhook', async () => {
    const receiver = await startReceiver(secret);
    try {
      const { body } = await postJob(stack.url, { text: 'call me back', webhook_url: receiver.url });
      await waitForJob(stack.url, body.id);
      await waitFor(() => receiver.received.length === 1, { timeoutMs: 120_000 });
      expect(receiver.received[0]?.verified).toMatchObject({ type: 'job.succeeded', data: { id: body.id } });

      const res = await fetch(`${stack.url}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          items: [{ text: 'one' }, { text: 'two' }, { text: 'three' }],
          webhook_url: receiver.url,
        }),
      });
      expect(res.status).toBe(202);
      const batch = (await res.json()) as Job;
      await waitFor(() => receiver.received.length === 2, { timeoutMs: 120_000 });
      expect(receiver.received[1]?.verified).toMatchObject({
        type: 'batch.completed',
        data: { total: 3, counts: { succeeded: 3 } },
      });
      const view = (await (await fetch(`${stack.url}/v1/batches/${batch.id}`)).json()) as Job;
      expect(view).toMatchObject({ status: 'completed', counts: { succeeded: 3 } });
    } finally {
      await receiver.close();
    }
  });

  it('a long voicemail fans out into chunk jobs — a flow across two queues — and is stitched back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vb-cluster-vm-'));
    try {
      const long = await loopWav(await speechWav(dir, 'vm'), join(dir, 'long.wav'), 65);
      // The simulator's deterministic transcript per upload: the chunking is the subject, not recognition.
      stack.sim.configure({ disableTools: ['pocketsphinx'] });
      stack.sim.reset();
      const form = new FormData();
      form.append('pipeline', 'voicemail');
      form.append('audio', await openAsBlob(long), 'long.wav');
      const { res, body } = await postJob(stack.url, form);
      expect(res.status).toBe(202);
      const job = await waitForJob(stack.url, body.id);
      expect(job).toMatchObject({ status: 'succeeded', error: null });
      expect(job.duration_seconds).toBeCloseTo(65, 0);
      expect(stack.sim.stats().calls.transcriptions).toBeGreaterThanOrEqual(3);
      expect(job.summary).toMatchObject({ urgency: expect.any(String) });
    } finally {
      stack.sim.configure({ disableTools: [] });
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the master of the service slot is killed mid-run: its replica takes over and no 202-acknowledged job is lost', async () => {
    const accepted: string[] = [];
    const refused: number[] = [];
    let submitting = true;
    let n = 0;
    const submitLoop = (async () => {
      while (submitting) {
        const i = n++;
        const res = await fetch(`${stack.url}/v1/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: `failover job ${i}` }),
          signal: AbortSignal.timeout(15_000),
        }).catch(() => undefined);
        if (res?.status === 202) accepted.push(((await res.json()) as Job).id);
        else refused.push(res?.status ?? 0);
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    await waitFor(() => accepted.length >= 15, { timeoutMs: 120_000, message: '15 jobs accepted' });
    const failover = await cluster.killPrefixMaster();
    console.log(
      `failover: master :${failover.killedPort} killed, replica :${failover.promotedPort} serving after ${failover.ms} ms${failover.forced ? ' (forced)' : ''}`,
    );
    const acceptedAtKill = accepted.length;
    // Keep submitting until the service accepts again on the promoted master.
    await waitFor(() => accepted.length >= acceptedAtKill + 10, {
      timeoutMs: 120_000,
      message: 'jobs accepted again after the failover',
    });
    submitting = false;
    await submitLoop;
    // Whatever was refused during the failover was refused cleanly (503), never a 500.
    expect(refused.filter((s) => s !== 503 && s !== 429)).toEqual([]);

    const failed: Array<{ id: string; job: Job }> = [];
    for (const id of accepted) {
      const job = await waitForJob(stack.url, id);
      if (job.status !== 'succeeded') failed.push({ id, job });
    }
    expect(failed).toEqual([]);
    console.log(
      `failover run: ${accepted.length} jobs accepted (all succeeded), ${refused.length} refused with 503 during the failover`,
    );
    // The service still works end to end on the new master.
    const after = await postJob(stack.url, { text: 'after the failover' });
    expect((await waitForJob(stack.url, after.body.id)).status).toBe('succeeded');
    expect((await getJob(stack.url, after.body.id)).reply_text).toContain('after the failover');
  });
});
