import { fromHash, type JobRecord } from './job-record.ts';
import type { RedisClient } from './redis.ts';

/**
 * Reads job records and their indexes. Every write goes through the lifecycle module
 * (src/shared/lifecycle/), one atomic script per transition.
 */
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

  /** How many of a client's jobs have not ended yet. */
  async activeCount(clientId: string): Promise<number> {
    return this.redis.scard(this.clientActiveKey(clientId));
  }

  /** A page of a client's job ids, newest first; `cursor` is the previous page's last created-at (ms). */
  async pageForClient(
    clientId: string,
    limit: number,
    cursor?: number,
  ): Promise<{ ids: string[]; next: number | null }> {
    const max = cursor === undefined ? '+inf' : `(${cursor}`;
    const rows = await this.redis.zrevrangebyscore(
      this.clientJobsKey(clientId),
      max,
      '-inf',
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    const ids: string[] = [];
    let last: number | null = null;
    for (let i = 0; i < rows.length; i += 2) {
      ids.push(rows[i] ?? '');
      last = Number(rows[i + 1]);
    }
    return { ids, next: ids.length === limit ? last : null };
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
}
