/**
 * The Redis key layout: the one place (TypeScript side) where the names of voicebot's keys and channels are
 * written. Stores read through it, the lifecycle passes what it builds here in KEYS to its scripts
 * (commands/*.lua never build a name), tests and benchmarks look keys up through it.
 *
 * Every name starts with the prefix, which on a Redis Cluster is a hash tag (`{voicebot}`), so all the keys of a
 * transition live in one slot. BullMQ's own keys (`<prefix>:<queue>:…`) are BullMQ's (see bullmq-add.ts).
 */
export class RedisKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** A job's record (hash). */
  job = (id: string) => `${this.prefix}:job:${id}`;
  /** A job's events (stream): replay, Last-Event-ID. */
  jobEvents = (id: string) => `${this.prefix}:job:${id}:events`;
  /** Ended jobs by end time in ms (sorted set): the retention sweep's index. */
  get finished(): string {
    return `${this.prefix}:jobs:finished`;
  }
  /**
   * The client and batch of each job in the retention index (hash: id → JSON [client, batch or '']), so the
   * sweep can trim the lists that name a job after its record has expired.
   */
  get finishedOwners(): string {
    return `${this.prefix}:jobs:finished:owners`;
  }

  /** Deleted jobs whose stored files may still exist (set): a DELETE cut short leaves its id here. */
  get deleting(): string {
    return `${this.prefix}:jobs:deleting`;
  }

  /** A client (hash: webhook secret, default keyterms, …). */
  client = (clientId: string) => `${this.prefix}:client:${clientId}`;
  /** A client's jobs by creation time in ms (sorted set): listing. */
  clientJobs = (clientId: string) => `${this.prefix}:client:${clientId}:jobs`;
  /** A client's jobs in flight (set): the in-flight cap, fair-queuing ranks. */
  clientActive = (clientId: string) => `${this.prefix}:client:${clientId}:active`;
  /** SCAN pattern of every client's in-flight set, and the client id of a key it matched. */
  get clientActivePattern(): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}:client:*:active`;
  }
  clientOfActive = (key: string) => key.slice(`${this.prefix}:client:`.length, -':active'.length);

  /** A batch (hash) and its job ids in order (list). */
  batch = (id: string) => `${this.prefix}:batch:${id}`;
  batchJobs = (id: string) => `${this.prefix}:batch:${id}:jobs`;

  /** A stored Idempotency-Key of a client (string), by the key's SHA-256. */
  idempotency = (clientId: string, keyHash: string) => `${this.prefix}:idem:${clientId}:${keyHash}`;

  /** An API key by its SHA-256 (hash), and the index of all of them (set). */
  apiKey = (hash: string) => `${this.prefix}:apikey:${hash}`;
  get apiKeys(): string {
    return `${this.prefix}:apikeys`;
  }

  /** A conversation's turns (sorted set). */
  conversation = (id: string) => `${this.prefix}:conversation:${id}`;

  /** Prefix of the HTTP rate limiter's counters. */
  get rateLimit(): string {
    return `${this.prefix}:ratelimit:`;
  }

  /** Pub/sub channels: a job's events (while it has listeners), every job's end, cancels for the workers. */
  get jobChannelPrefix(): string {
    return `${this.prefix}:jobev:`;
  }
  jobChannel = (id: string) => `${this.jobChannelPrefix}${id}`;
  get endedChannel(): string {
    return `${this.prefix}:ended`;
  }
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }
}

/** The key layout under `prefix`. */
export const redisKeys = (prefix: string) => new RedisKeys(prefix);
