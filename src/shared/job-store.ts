import { Cluster } from 'ioredis';
import { fromHash, type JobRecord } from './job-record.ts';
import { type RedisKeys, redisKeys } from './lifecycle/keys.ts';
import type { RedisClient } from './redis.ts';

/**
 * Reads job records and their indexes. Every write goes through the lifecycle module
 * (src/shared/lifecycle/), one atomic script per transition.
 */
/** A position in a client's job list: the created-at score (ms) and how many jobs of that score came before. */
export interface ListPosition {
  score: number;
  skip: number;
}

export class JobStore {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly retentionSeconds: number;
  readonly keys: RedisKeys;

  constructor(redis: RedisClient, prefix: string, retentionSeconds: number) {
    this.redis = redis;
    this.prefix = prefix;
    this.retentionSeconds = retentionSeconds;
    this.keys = redisKeys(prefix);
  }

  key(id: string): string {
    return this.keys.job(id);
  }

  /** Sorted set of ended jobs by end time: the retention sweep finds what to delete here. */
  get finishedKey(): string {
    return this.keys.finished;
  }

  /** Ids of jobs that ended before `before` (ms), oldest first. */
  /** When the job that ended first among those not yet swept ended (ms since the epoch), if any. */
  async oldestFinishedAt(): Promise<number | undefined> {
    const [, score] = await this.redis.zrange(this.finishedKey, '0', '0', 'WITHSCORES');
    return score === undefined ? undefined : Number(score);
  }

  async finishedBefore(before: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.finishedKey, '-inf', before, 'LIMIT', 0, limit);
  }

  /** A client's jobs, newest first (listing), and the ones not yet ended (in-flight cap, fair queuing). */
  clientJobsKey = (clientId: string) => this.keys.clientJobs(clientId);
  clientActiveKey = (clientId: string) => this.keys.clientActive(clientId);

  /** Ids of deleted jobs whose files are still to delete (at most `limit`; see Lifecycle.tombstone). */
  async deleting(limit = 500): Promise<string[]> {
    return this.redis.srandmember(this.keys.deleting, limit);
  }

  /** Ids of the clients that have an in-flight set (a maintenance scan: SCAN, never KEYS). */
  async clientsWithActive(): Promise<string[]> {
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    const clients = new Set<string>();
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', this.keys.clientActivePattern, 'COUNT', 1000);
        for (const key of found) clients.add(this.keys.clientOfActive(key));
        cursor = next;
      } while (cursor !== '0');
    }
    return [...clients];
  }

  /** Ids in a client's in-flight set whose record does not exist. */
  async missingActive(clientId: string): Promise<string[]> {
    const missing: string[] = [];
    let cursor = '0';
    do {
      const [next, ids] = await this.redis.sscan(this.clientActiveKey(clientId), cursor, 'COUNT', 1000);
      const pipe = this.redis.pipeline();
      for (const id of ids) pipe.exists(this.key(id));
      const rows = (await pipe.exec()) ?? [];
      ids.forEach((id, i) => {
        if (rows[i]?.[1] === 0) missing.push(id);
      });
      cursor = next;
    } while (cursor !== '0');
    return missing;
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
}
