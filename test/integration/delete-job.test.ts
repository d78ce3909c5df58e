import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/shared/job-files.ts';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { sweep } from '../../src/worker/retention.ts';
import { getJob, postJob, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';

/**
 * DELETE of an ended job marks it first (a tombstone, one transition), then deletes its files. A delete cut
 * short between the two (the process dies, the store fails) leaves a tombstone whose files the next DELETE or
 * the maintenance sweep deletes.
 */
describe('deleting an ended job', () => {
  let stack: Stack;
  let redis: Redis;
  beforeAll(async () => {
    stack = await startStack();
    redis = new Redis(stack.config.redisUrl);
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  const deletingKey = () => redisKeys(stack.config.prefix).deleting;
  const endedJob = async () => {
    const { body } = await postJob(stack.url, { text: 'delete me' });
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(await stack.api.deps.storage.exists(keys.speech(body.id, 'mp3'))).toBe(true);
    return body.id as string;
  };
  const del = (id: string) => fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' });
  /** The store fails the next file delete, as a process dying right before it would. */
  const failNextFileDelete = () => {
    const storage = stack.api.deps.storage;
    const real = storage.deletePrefix.bind(storage);
    storage.deletePrefix = async () => {
      storage.deletePrefix = real;
      throw new Error('the process died here');
    };
  };

  it('a DELETE leaves a tombstone and no files, and no delete pending', async () => {
    const id = await endedJob();
    const res = await del(id);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id, status: 'succeeded', deleted_at: expect.any(String) });
    expect(await stack.api.deps.storage.exists(keys.speech(id, 'mp3'))).toBe(false);
    expect(await redis.sismember(deletingKey(), id)).toBe(0);
    // A second DELETE changes nothing.
    const again = await del(id);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { deleted_at: string }).deleted_at).toBe(
      (await getJob(stack.url, id)).deleted_at,
    );
  });

  it('a DELETE cut short after the tombstone: the job reads as deleted, and the sweep deletes its files', async () => {
    const id = await endedJob();
    failNextFileDelete();
    expect((await del(id)).status).toBe(500);
    // Marked first: the job already answers as deleted, its outputs gone from the record.
    const job = await getJob(stack.url, id);
    expect(job.deleted_at).toEqual(expect.any(String));
    expect(job.reply_text ?? null).toBeNull();
    expect(await redis.sismember(deletingKey(), id)).toBe(1);
    expect(await stack.api.deps.storage.exists(keys.speech(id, 'mp3'))).toBe(true);

    const result = await sweep({
      ...stack.api.deps,
      log: createLogger({ level: 'silent', env: 'test' }),
      retentionSeconds: stack.config.retentionSeconds,
    });
    expect(result.deletes).toBe(1);
    expect(await stack.api.deps.storage.exists(keys.speech(id, 'mp3'))).toBe(false);
    expect(await redis.sismember(deletingKey(), id)).toBe(0);
  });

  it('a DELETE cut short after the tombstone is finished by the next DELETE', async () => {
    const id = await endedJob();
    failNextFileDelete();
    expect((await del(id)).status).toBe(500);
    expect((await getJob(stack.url, id)).deleted_at).toEqual(expect.any(String));
    expect((await del(id)).status).toBe(200);
    expect(await stack.api.deps.storage.exists(keys.speech(id, 'mp3'))).toBe(false);
    expect(await redis.sismember(deletingKey(), id)).toBe(0);
  });
});
