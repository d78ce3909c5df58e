import { redisKeys } from './lifecycle/keys.ts';
import type { RedisClient } from './redis.ts';

export interface Turn {
  job_id: string;
  user: string;
  assistant: string;
}

/**
 * Earlier turns of a conversation, for the chat stage: a sorted set per conversation, scored by each job's
 * creation time, holding at most `maxTurns`. Recording the same turn twice (a retried stage) is a no-op,
 * because the member is the same.
 */
export class ConversationStore {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly maxTurns: number;
  readonly ttlSeconds: number;

  constructor(redis: RedisClient, prefix: string, maxTurns: number, ttlSeconds: number) {
    this.redis = redis;
    this.prefix = prefix;
    this.maxTurns = maxTurns;
    this.ttlSeconds = ttlSeconds;
  }

  key(conversationId: string): string {
    return redisKeys(this.prefix).conversation(conversationId);
  }

  /** The turns recorded before `beforeMs` (a job's creation time), oldest first. */
  async history(conversationId: string, beforeMs: number): Promise<Turn[]> {
    const rows = await this.redis.zrangebyscore(this.key(conversationId), '-inf', `(${beforeMs}`);
    return rows.map((r) => JSON.parse(r) as Turn).slice(-this.maxTurns);
  }

  async record(conversationId: string, atMs: number, turn: Turn): Promise<void> {
    const key = this.key(conversationId);
    await this.redis
      .multi()
      .zadd(key, atMs, JSON.stringify(turn))
      .zremrangebyrank(key, 0, -(this.maxTurns + 1))
      .expire(key, this.ttlSeconds)
      .exec();
  }
}
