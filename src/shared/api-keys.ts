import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { redisKeys } from './lifecycle/keys.ts';
import type { RedisClient } from './redis.ts';

export interface ApiKeyRecord {
  key_id: string;
  client_id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

export interface ClientRecord {
  client_id: string;
  name: string;
  /** Standard Webhooks secret (`whsec_…`) this client's webhooks are signed with. */
  webhook_secret: string;
  created_at: string;
  /** vocabulary merged into every audio job's `keyterms` (set with `voicebot clients set --keyterms`) */
  keyterms: string[];
}

/** The client every request belongs to while no API key exists (development: the API runs open). */
export const OPEN_CLIENT = 'public';

/** The client of the key registered from INITIAL_API_KEY. */
export const INITIAL_CLIENT = 'default';

const LAST_USED_EVERY_MS = 60_000;

/**
 * API keys and the clients they belong to. Only a key's SHA-256 is stored; the key itself is shown once,
 * at creation. Every job belongs to the client of the key that created it.
 */
export class ApiKeys {
  readonly redis: RedisClient;
  readonly prefix: string;
  private lastUsedWritten = new Map<string, number>();

  constructor(redis: RedisClient, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  private keyKey = (hash: string) => redisKeys(this.prefix).apiKey(hash);
  private get indexKey() {
    return redisKeys(this.prefix).apiKeys;
  }
  clientKey = (clientId: string) => redisKeys(this.prefix).client(clientId);

  static hash(key: string): string {
    return createHash('sha256').update(key).digest('hex');
  }

  /** Creates a key (and its client, with a webhook secret, when new). Returns the key: shown once. */
  async create(opts: {
    name: string;
    clientId?: string;
    /** the key itself, when the operator chose it (INITIAL_API_KEY); default: a new random key */
    key?: string;
  }): Promise<{ key: string; record: ApiKeyRecord; client: ClientRecord }> {
    const key = opts.key ?? `vb_${randomBytes(24).toString('base64url')}`;
    const hash = ApiKeys.hash(key);
    const now = new Date().toISOString();
    const clientId = opts.clientId ?? `client_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const record: ApiKeyRecord = {
      key_id: `key_${hash.slice(0, 12)}`,
      client_id: clientId,
      name: opts.name,
      created_at: now,
      last_used_at: null,
    };
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    await this.redis.hsetnx(this.clientKey(clientId), 'webhook_secret', secret);
    await this.redis
      .multi()
      .hsetnx(this.clientKey(clientId), 'name', opts.name)
      .hsetnx(this.clientKey(clientId), 'created_at', now)
      .hset(this.keyKey(hash), {
        key_id: record.key_id,
        client_id: clientId,
        name: opts.name,
        created_at: now,
      })
      .hset(this.indexKey, record.key_id, hash)
      .exec();
    const client = await this.client(clientId);
    if (!client) throw new Error('client record missing after creation');
    return { key, record, client };
  }

  async list(): Promise<ApiKeyRecord[]> {
    const hashes = Object.values(await this.redis.hgetall(this.indexKey));
    const records = await Promise.all(hashes.map((h) => this.redis.hgetall(this.keyKey(h))));
    return records
      .filter((r) => r.key_id)
      .map(toRecord)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async revoke(keyId: string): Promise<boolean> {
    const hash = await this.redis.hget(this.indexKey, keyId);
    if (!hash) return false;
    await this.redis.multi().del(this.keyKey(hash)).hdel(this.indexKey, keyId).exec();
    return true;
  }

  /**
   * INITIAL_API_KEY: registers `key` for the `default` client when no key exists at all, so a fresh deployment
   * starts closed with a key from its secret store. Once any key exists it does nothing (a key revoked later
   * stays revoked while others exist). Safe when several API processes start at once: the same key hashes
   * to the same record. True when it registered the key.
   */
  async registerInitial(key: string): Promise<boolean> {
    if (await this.anyDefined()) return false;
    await this.create({ name: 'initial key (INITIAL_API_KEY)', clientId: INITIAL_CLIENT, key });
    return true;
  }

  /** True once any key exists: from then on every request needs one. */
  async anyDefined(): Promise<boolean> {
    return (await this.redis.hlen(this.indexKey)) > 0;
  }

  /** The key's record, or undefined for an unknown or revoked key. Records last use (at most once a minute). */
  async authenticate(key: string): Promise<ApiKeyRecord | undefined> {
    const hash = ApiKeys.hash(key);
    const raw = await this.redis.hgetall(this.keyKey(hash));
    if (!raw.key_id) return undefined;
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(hash) ?? 0) > LAST_USED_EVERY_MS) {
      this.lastUsedWritten.set(hash, now);
      await this.redis.hset(this.keyKey(hash), 'last_used_at', new Date(now).toISOString());
    }
    return toRecord(raw);
  }

  /** A client's default keyterms (none when unset). */
  async keyterms(clientId: string): Promise<string[]> {
    const raw = await this.redis.hget(this.clientKey(clientId), 'keyterms');
    return raw ? (JSON.parse(raw) as string[]) : [];
  }

  async client(clientId: string): Promise<ClientRecord | undefined> {
    const raw = await this.redis.hgetall(this.clientKey(clientId));
    if (!raw.webhook_secret) return undefined;
    return {
      client_id: clientId,
      name: raw.name ?? clientId,
      webhook_secret: raw.webhook_secret,
      created_at: raw.created_at ?? '',
      keyterms: raw.keyterms ? (JSON.parse(raw.keyterms) as string[]) : [],
    };
  }

  /**
   * Sets a client's default keyterms (an empty list clears them); false when the client does not exist.
   * The open client ("public", every request while no key exists) may have them too.
   */
  async setKeyterms(clientId: string, keyterms: string[]): Promise<boolean> {
    if (clientId !== OPEN_CLIENT && !(await this.client(clientId))) return false;
    if (keyterms.length === 0) await this.redis.hdel(this.clientKey(clientId), 'keyterms');
    else await this.redis.hset(this.clientKey(clientId), 'keyterms', JSON.stringify(keyterms));
    return true;
  }
}

function toRecord(raw: Record<string, string>): ApiKeyRecord {
  return {
    key_id: raw.key_id ?? '',
    client_id: raw.client_id ?? '',
    name: raw.name ?? '',
    created_at: raw.created_at ?? '',
    last_used_at: raw.last_used_at ?? null,
  };
}
