/**
 * The lifecycle's contract with BullMQ (src/shared/lifecycle/bullmq-add.ts): the add scripts it embeds leave
 * Redis exactly as `queue.add` does, BullMQ's negative codes become errors, and a bullmq whose add scripts
 * changed stops the service at start.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type JobsOptions, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BullmqAddError,
  BullmqContractError,
  fromScriptError,
  loadBullmqAdders,
  prepareAdd,
} from '../../src/shared/lifecycle/bullmq-add.ts';
import { COMMANDS, resolveLua } from '../../src/shared/lifecycle/commands.ts';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { freePort, type RedisHandle, startRedis } from '../support/index.ts';
import { serviceEnv } from '../support/service-env.ts';
import { spawnService } from '../support/service-process.ts';

/** Runs one prepared add the way the transitions do (includes/bullmq-add.lua), priority override included. */
const ADD_ONLY = `local rcall = redis.call
--- @include "includes/bullmq-add"
local add = readAdd(1, 2)
local priority = nil
if ARGV[1] ~= '' then priority = tonumber(ARGV[1]) end
return bullmq_add(add, priority)`;

type Dump = Record<string, unknown>;

/** Every key under `prefix` (the prefix cut off) with its type and content; stream ids left out. */
async function dump(redis: Redis, prefix: string): Promise<Dump> {
  const out: Dump = {};
  for (const key of (await redis.keys(`${prefix}:*`)).sort()) {
    const type = await redis.type(key);
    const name = key.slice(prefix.length);
    if (type === 'hash') out[name] = await redis.hgetall(key);
    else if (type === 'list') out[name] = await redis.lrange(key, 0, -1);
    else if (type === 'zset') out[name] = await redis.zrange(key, '0', '-1', 'WITHSCORES');
    else if (type === 'set') out[name] = (await redis.smembers(key)).sort();
    else if (type === 'string') out[name] = await redis.get(key);
    else if (type === 'stream') out[name] = (await redis.xrange(key, '-', '+')).map(([, fields]) => fields);
    else out[name] = type;
  }
  return out;
}

describe('BullMQ add contract', () => {
  let redis: RedisHandle;
  let client: Redis;
  let n = 0;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    client.defineCommand('vbAddOnly', { lua: resolveLua(ADD_ONLY) });
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  /** A queue of its own under a fresh prefix, ready (its meta written). */
  async function freshQueue(): Promise<[Queue, string]> {
    const prefix = `${redis.prefix}-${++n}`;
    const queue = new Queue('stage', { connection: client, prefix });
    await queue.waitUntilReady();
    // BullMQ writes the queue's meta on connect without waiting: let that land first.
    await queue.getMeta();
    return [queue, prefix];
  }

  const addOnly = (
    [name, keys, argv]: Awaited<ReturnType<typeof prepareAdd>>,
    priority?: number,
  ): Promise<unknown> =>
    (client as unknown as { vbAddOnly(...a: unknown[]): Promise<unknown> }).vbAddOnly(
      keys.length,
      ...keys,
      priority === undefined ? '' : String(priority),
      name,
      keys.length,
      ...argv,
    );

  const timestamp = Date.parse('2026-01-01T00:00:00Z');
  const cases: Array<[string, JobsOptions, JobsOptions | undefined, number | undefined]> = [
    ['standard', {}, undefined, undefined],
    ['prioritized', { priority: 7 }, undefined, undefined],
    // What fair queuing does: prepared with priority 1, the script sets the job's rank.
    ['prioritized, the priority set by the script', { priority: 3 }, { priority: 1 }, 3],
    ['delayed', { delay: 60_000 }, undefined, undefined],
  ];

  for (const [kind, opts, prepared, override] of cases) {
    it(`a ${kind} add leaves Redis as queue.add does`, async () => {
      const [reference, refPrefix] = await freshQueue();
      const [ours, ourPrefix] = await freshQueue();
      const full = { ...opts, timestamp, attempts: 3, jobId: 'job-1' };
      await reference.add('transcribe', { jobId: 'j1' }, full);
      const spec = await prepareAdd(ours, 'transcribe', { jobId: 'j1' }, { ...full, ...(prepared ?? {}) });
      expect(await addOnly(spec, override)).toBe('job-1');
      const expected = await dump(client, refPrefix);
      expect(Object.keys(expected).length).toBeGreaterThan(2);
      expect(await dump(client, ourPrefix)).toEqual(expected);
      await reference.close();
      await ours.close();
    });
  }

  it("BullMQ's negative return code (a missing parent) is an error naming the code, and nothing is added", async () => {
    const [queue, prefix] = await freshQueue();
    const before = await dump(client, prefix);
    const spec = await prepareAdd(
      queue,
      'transcribe',
      {},
      { jobId: 'orphan', parent: { id: 'gone', queue: `${prefix}:parents` } },
    );
    const err = await addOnly(spec).then(
      () => undefined,
      (e: unknown) => fromScriptError(e),
    );
    expect(err).toBeInstanceOf(BullmqAddError);
    expect((err as BullmqAddError).message).toMatch(/ParentJobNotExist \(-5\)/);
    expect(await dump(client, prefix)).toEqual(before);
    await queue.close();
  });

  it('a lifecycle script called with another number of keys or arguments than it reads writes nothing', async () => {
    client.defineCommand('vbStartChecked', { lua: COMMANDS.start });
    const start = (...a: unknown[]) =>
      (client as unknown as { vbStartChecked(...x: unknown[]): Promise<unknown> }).vbStartChecked(...a);
    const job = redisKeys(redis.prefix).job('checked');
    await client.hset(job, 'status', 'queued', 'stage', 'chat');
    const params = JSON.stringify({
      stage: 'chat',
      now: 'now',
      event: ['stage.started', '{}'],
      channel: 'c',
    });
    await expect(start(1, job, params)).rejects.toThrow(
      /voicebot start: called with 1 keys and 1 arguments, read 2 and 1/,
    );
    await expect(
      start(2, job, redisKeys(redis.prefix).jobEvents('checked'), params, 'extra'),
    ).rejects.toThrow(/voicebot start: called with 2 keys and 2 arguments, read 2 and 1/);
    expect(await client.hget(job, 'status')).toBe('queued');
    expect(await start(2, job, redisKeys(redis.prefix).jobEvents('checked'), params)).toEqual([
      'ok',
      ['status', 'queued', 'stage', 'chat'],
    ]);
  });

  it('a script missing from the installed bullmq is a clear error at load', async () => {
    await expect(loadBullmqAdders([{ name: 'addStandardJob', keys: 8 }])).rejects.toThrow(
      /BullMQ contract broken: the installed bullmq has no script addStandardJob-8/,
    );
    await expect(loadBullmqAdders([{ name: 'addStandardJob', keys: 8 }])).rejects.toBeInstanceOf(
      BullmqContractError,
    );
  });

  for (const [mode, message] of [
    ['renamed-script', /BullMQ contract broken: BullMQ adds with the script addStandardJob10:/],
    [
      'extra-argument',
      /BullMQ contract broken: BullMQ calls addStandardJob with 13 arguments, the embedded script takes 9 keys \+ 3/,
    ],
  ] as const) {
    it(`a bullmq whose add scripts changed (${mode}) stops the API and the worker at start, saying why`, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'vb-contract-'));
      try {
        const env = {
          ...serviceEnv({ port: await freePort(), redis, simUrl: 'http://127.0.0.1:9', dataDir }),
          NODE_OPTIONS: `--import=${pathToFileURL(join(import.meta.dirname, '..', 'support', 'bullmq-upgrade.ts')).href}`,
          BULLMQ_SIMULATED_UPGRADE: mode,
          METRICS_PORT: '0',
        };
        for (const entry of ['api', 'worker'] as const) {
          const proc = spawnService(entry, env);
          const code = await proc.exited;
          expect(code, `${entry} exit code`).not.toBe(0);
          expect(proc.output.join('\n'), `${entry} output`).toMatch(message);
        }
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  }
});
