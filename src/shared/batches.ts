import { redisKeys } from './lifecycle/keys.ts';
import type { RedisClient } from './redis.ts';

export interface BatchRecord {
  id: string;
  client_id: string;
  total: number;
  ended: number;
  webhook_url: string | null;
  metadata: Record<string, unknown> | null;
  created_at: string;
  completed_at: string | null;
}

/** A new batch's hash, as the accept transition writes it (read back by BatchStore.get). */
export function batchFields(b: Omit<BatchRecord, 'ended' | 'completed_at'>): Record<string, string> {
  const fields: Record<string, string> = {
    id: b.id,
    client_id: b.client_id,
    total: String(b.total),
    ended: '0',
    created_at: b.created_at,
  };
  if (b.webhook_url) fields.webhook_url = b.webhook_url;
  if (b.metadata) fields.metadata = JSON.stringify(b.metadata);
  return fields;
}

/**
 * Batches: a hash per batch (counts, webhook) and the list of its job ids in item order, both written with the
 * batch's jobs in one atomic step (Lifecycle.acceptBatch). Each job that ends
 * increments `ended` once, inside its finish transition (src/shared/lifecycle/); the increment that reaches
 * `total` completes the batch and queues the batch.completed webhook — exactly once.
 */
export class BatchStore {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly ttlSeconds: number;

  constructor(redis: RedisClient, prefix: string, ttlSeconds: number) {
    this.redis = redis;
    this.prefix = prefix;
    this.ttlSeconds = ttlSeconds;
  }

  key = (id: string) => redisKeys(this.prefix).batch(id);
  jobsKey = (id: string) => redisKeys(this.prefix).batchJobs(id);

  async get(id: string): Promise<BatchRecord | undefined> {
    const h = await this.redis.hgetall(this.key(id));
    if (!h.id) return undefined;
    return {
      id: h.id,
      client_id: h.client_id ?? '',
      total: Number(h.total),
      ended: Number(h.ended),
      webhook_url: h.webhook_url ?? null,
      metadata: h.metadata ? (JSON.parse(h.metadata) as Record<string, unknown>) : null,
      created_at: h.created_at ?? '',
      completed_at: h.completed_at ?? null,
    };
  }

  async jobIds(id: string, start = 0, stop = -1): Promise<string[]> {
    return this.redis.lrange(this.jobsKey(id), start, stop);
  }
}
