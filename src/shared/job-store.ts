import { fromHash, type JobRecord, toHash } from './job-record.ts';
import type { RedisClient } from './redis.ts';
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

/** Marks a job handled (ARGV[1] = ISO time) or unhandled (ARGV[1] = ''); a missing job is not created. */
const SET_HANDLED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'handled_at') else redis.call('HSETNX', KEYS[1], 'handled_at', ARGV[1]) end
return 1`;

/** A position in a client's job list: the created-at score (ms) and how many jobs of that score came before. */
export interface ListPosition {
  score: number;
  skip: number;
}

export type UpdateResult = 'updated' | 'terminal' | 'missing';

export class JobStore {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly retentionSeconds: number;

  constructor(redis: RedisClient, prefix: string, retentionSeconds: number) {
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

  /** A client's jobs, newest first (listing), and the ones not yet ended (in-flight cap, fair queuing). */
  clientJobsKey = (clientId: string) => `${this.prefix}:client:${clientId}:jobs`;
  clientActiveKey = (clientId: string) => `${this.prefix}:client:${clientId}:active`;

  async create(record: JobRecord): Promise<void> {
    // Non-terminal records also expire (after twice the retention) so an abandoned job cannot live forever.
    await this.redis
      .multi()
      .hset(this.key(record.id), toHash(record))
      .expire(this.key(record.id), this.retentionSeconds * 2)
      .zadd(this.clientJobsKey(record.client_id), Date.parse(record.created_at), record.id)
      .sadd(this.clientActiveKey(record.client_id), record.id)
      .exec();
  }

  /** Removes a job that was never accepted (enqueueing failed). */
  async remove(record: JobRecord): Promise<void> {
    await this.redis
      .multi()
      .del(this.key(record.id))
      .zrem(this.clientJobsKey(record.client_id), record.id)
      .srem(this.clientActiveKey(record.client_id), record.id)
      .exec();
  }

  /** How many of a client's jobs have not ended yet. */
  async activeCount(clientId: string): Promise<number> {
    return this.redis.scard(this.clientActiveKey(clientId));
  }

  /**
   * A page of a client's job ids, newest first, from `from` on (inclusive of its score, after `skip` jobs
   * of that score: jobs created in the same millisecond are never skipped). `next` is where the next page starts.
   */
  async pageForClient(
    clientId: string,
    limit: number,
    from?: ListPosition,
  ): Promise<{ ids: string[]; scores: number[]; next: ListPosition | null }> {
    const rows = await this.redis.zrevrangebyscore(
      this.clientJobsKey(clientId),
      from === undefined ? '+inf' : from.score,
      '-inf',
      'WITHSCORES',
      'LIMIT',
      from?.skip ?? 0,
      limit,
    );
    const ids: string[] = [];
    const scores: number[] = [];
    let pos: ListPosition | null = from ?? null;
    for (let i = 0; i < rows.length; i += 2) {
      ids.push(rows[i] ?? '');
      const score = Number(rows[i + 1]);
      scores.push(score);
      pos = { score, skip: pos?.score === score ? pos.skip + 1 : 1 };
    }
    return { ids, scores, next: ids.length === limit ? pos : null };
  }

  async getMany(ids: string[]): Promise<Array<JobRecord | undefined>> {
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.key(id));
    const rows = (await pipe.exec()) ?? [];
    return rows.map(([, hash]) => {
      const h = hash as Record<string, string>;
      return h && Object.keys(h).length > 0 ? fromHash(h) : undefined;
    });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const hash = await this.redis.hgetall(this.key(id));
    return Object.keys(hash).length === 0 ? undefined : fromHash(hash);
  }

  /** Marks a job handled or not (whatever its status); false when the job no longer exists. */
  async setHandled(id: string, handled: boolean): Promise<boolean> {
    const at = handled ? new Date().toISOString() : '';
    return (await this.redis.eval(SET_HANDLED, 1, this.key(id), at)) === 1;
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
    if (result === 'updated') {
      const clientId = await this.redis.hget(this.key(id), 'client_id');
      const tx = this.redis.multi().zadd(this.finishedKey, now.getTime(), id);
      if (clientId) tx.srem(this.clientActiveKey(clientId), id);
      await tx.exec();
    }
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
