import type { Redis } from 'ioredis';
import { fromHash, type JobRecord, toHash } from './job-record.ts';
import type { JobStatus } from './stages.ts';

/**
 * Reads and writes job records. Every write that changes a job goes through a guard script: once a job is
 * terminal (succeeded, failed, canceled) it stays so, whichever process writes late.
 */
const GUARDED_HSET = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status == 'succeeded' or status == 'failed' or status == 'canceled' then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if tonumber(ARGV[1]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1`;

export type UpdateResult = 'updated' | 'terminal' | 'missing';

export class JobStore {
  readonly redis: Redis;
  readonly prefix: string;
  readonly retentionSeconds: number;

  constructor(redis: Redis, prefix: string, retentionSeconds: number) {
    this.redis = redis;
    this.prefix = prefix;
    this.retentionSeconds = retentionSeconds;
  }

  key(id: string): string {
    return `${this.prefix}:job:${id}`;
  }

  /** Sorted set of ended jobs by end time: the retention sweep finds what to delete here. */
  get finishedKey(): string {
    return `${this.prefix}:jobs:finished`;
  }

  /** Ids of jobs that ended before `before` (ms), oldest first. */
  async finishedBefore(before: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.finishedKey, '-inf', before, 'LIMIT', 0, limit);
  }

  async forgetFinished(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zrem(this.finishedKey, ...ids);
  }

  async create(record: JobRecord): Promise<void> {
    // Non-terminal records also expire (after twice the retention) so an abandoned job cannot live forever.
    await this.redis
      .multi()
      .hset(this.key(record.id), toHash(record))
      .expire(this.key(record.id), this.retentionSeconds * 2)
      .exec();
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const hash = await this.redis.hgetall(this.key(id));
    return Object.keys(hash).length === 0 ? undefined : fromHash(hash);
  }

  /** Updates a job unless it is already terminal. */
  async update(id: string, patch: Partial<JobRecord>): Promise<UpdateResult> {
    return this.guarded(id, patch, 0);
  }

  /** Moves a job to a terminal status (once); the record then expires after the retention period. */
  async finish(
    id: string,
    status: Extract<JobStatus, 'succeeded' | 'failed' | 'canceled'>,
    patch: Partial<JobRecord> = {},
  ): Promise<UpdateResult> {
    const now = new Date();
    const result = await this.guarded(
      id,
      { ...patch, status, finished_at: now.toISOString() },
      this.retentionSeconds,
    );
    if (result === 'updated') await this.redis.zadd(this.finishedKey, now.getTime(), id);
    return result;
  }

  /** Writes fields whatever the status (used for tombstones after deletion). */
  async overwrite(id: string, patch: Partial<JobRecord>, removeFields: string[] = []): Promise<void> {
    const tx = this.redis
      .multi()
      .hset(this.key(id), toHash({ ...patch, updated_at: new Date().toISOString() }));
    if (removeFields.length > 0) tx.hdel(this.key(id), ...removeFields);
    await tx.exec();
  }

  private async guarded(id: string, patch: Partial<JobRecord>, ttl: number): Promise<UpdateResult> {
    const fields = toHash({ ...patch, updated_at: new Date().toISOString() });
    const args = [String(ttl), ...Object.entries(fields).flat()];
    const r = (await this.redis.eval(GUARDED_HSET, 1, this.key(id), ...args)) as number;
    return r === 1 ? 'updated' : r === 0 ? 'terminal' : 'missing';
  }
}
