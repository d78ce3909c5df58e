/**
 * Job events across processes.
 * - `<prefix>:job:<id>:events` (a Redis stream) holds one job's events, capped and expiring, so a client can
 *   replay them and resume with Last-Event-ID. The lifecycle scripts append to it inside each transition.
 * - The same scripts PUBLISH each event on `<prefix>:jobev:<id>` while the job has listeners. A process
 *   subscribes only to the jobs it has listeners for (an SSE stream, a waiting synchronous request) and counts
 *   itself in the job's `watchers` (Lifecycle.watch): no process reads events it does not need, a job nobody
 *   follows costs no PUBLISH, and the cost per event does not grow with the number of processes.
 * - A job's terminal event is also published on `<prefix>:ended` (monitors: benchmarks, tests).
 * - A cancel is also published on `<prefix>:cancel`, which workers subscribe to (and nothing else).
 * Pub/sub is fire-and-forget: after a reconnect the hub re-reads the streams of the jobs it listens to.
 */
import type { EventType } from './job-states.ts';
import { redisKeys } from './lifecycle/keys.ts';
import type { RedisClient } from './redis.ts';

export interface JobEvent {
  /** Stream id in the job's own stream: the SSE event id. */
  id: string;
  jobId: string;
  type: EventType;
  data: Record<string, unknown>;
}

export const jobStreamKey = (prefix: string, jobId: string) => redisKeys(prefix).jobEvents(jobId);
const jobChannelPrefix = (prefix: string) => redisKeys(prefix).jobChannelPrefix;
const jobChannel = (prefix: string, jobId: string) => redisKeys(prefix).jobChannel(jobId);
const cancelChannel = (prefix: string) => redisKeys(prefix).cancelChannel;
const endedChannel = (prefix: string) => redisKeys(prefix).endedChannel;

/** A job's events after `afterId` (exclusive), oldest first. */
export async function readJobEvents(
  redis: RedisClient,
  prefix: string,
  jobId: string,
  afterId = '-',
): Promise<JobEvent[]> {
  const start = afterId === '-' ? '-' : `(${afterId}`;
  const rows = await redis.xrange(jobStreamKey(prefix, jobId), start, '+');
  return rows.map(([id, fields]) => ({
    id,
    jobId,
    type: field(fields, 'type') as EventType,
    data: JSON.parse(field(fields, 'data') ?? '{}') as Record<string, unknown>,
  }));
}

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** `sid \n type \n data` as the lifecycle scripts publish it. */
function parseMessage(jobId: string, message: string): JobEvent {
  const a = message.indexOf('\n');
  const b = message.indexOf('\n', a + 1);
  return {
    id: message.slice(0, a),
    jobId,
    type: message.slice(a + 1, b) as EventType,
    data: JSON.parse(message.slice(b + 1)) as Record<string, unknown>,
  };
}

export type EventListener = (event: JobEvent) => void;

/** One subscriber connection per process, fanning events out to in-process listeners by job id. */
export class EventHub {
  private readonly listeners = new Map<string, Set<EventListener>>();
  private readonly endedListeners = new Set<EventListener>();
  private readonly cancelListeners = new Set<(jobId: string) => void>();
  private readonly lastSeen = new Map<string, string>();
  private readonly subscribing = new Map<string, Promise<unknown>>();
  private readonly prefix: string;
  private readonly sub: RedisClient;
  private readonly redis: RedisClient;
  private readonly channelPrefix: string;
  private readonly watch: (jobId: string, delta: 1 | -1) => Promise<unknown>;
  private wasReady = false;

  /**
   * `sub` must be a dedicated connection (it enters subscriber mode); `redis` serves catch-up reads; `watch`
   * counts this process in or out of a job's listeners (Lifecycle.watch), so the job's events get published.
   */
  constructor(
    sub: RedisClient,
    redis: RedisClient,
    prefix: string,
    watch: (jobId: string, delta: 1 | -1) => Promise<unknown>,
  ) {
    this.sub = sub;
    this.redis = redis;
    this.prefix = prefix;
    this.watch = watch;
    this.channelPrefix = jobChannelPrefix(prefix);
    sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    sub.on('ready', () => {
      // ioredis re-subscribes by itself after a reconnect; events published meanwhile are re-read here.
      if (this.wasReady) this.catchUp().catch(() => {});
      this.wasReady = true;
    });
  }

  async start(): Promise<void> {
    this.wasReady = this.sub.status === 'ready';
  }

  private onMessage(channel: string, message: string): void {
    if (channel === cancelChannel(this.prefix)) {
      for (const fn of this.cancelListeners) fn(message);
      return;
    }
    if (channel === endedChannel(this.prefix)) {
      const cut = message.indexOf('\n');
      const event = parseMessage(message.slice(0, cut), message.slice(cut + 1));
      for (const fn of this.endedListeners) fn(event);
      return;
    }
    if (!channel.startsWith(this.channelPrefix)) return;
    const jobId = channel.slice(this.channelPrefix.length);
    this.dispatch(parseMessage(jobId, message));
  }

  private dispatch(event: JobEvent): void {
    const set = this.listeners.get(event.jobId);
    if (set) this.lastSeen.set(event.jobId, event.id);
    for (const fn of set ?? []) fn(event);
  }

  private async catchUp(): Promise<void> {
    for (const jobId of this.listeners.keys()) {
      const events = await readJobEvents(this.redis, this.prefix, jobId, this.lastSeen.get(jobId) ?? '-');
      for (const e of events) this.dispatch(e);
    }
  }

  /**
   * Listens to one job's events; resolves once Redis has confirmed the subscription, so a caller that reads the
   * job's stream afterwards misses nothing. Returns the unsubscribe function.
   */
  async subscribe(jobId: string, fn: EventListener): Promise<() => void> {
    let set = this.listeners.get(jobId);
    const first = !set;
    if (!set) {
      set = new Set<EventListener>();
      this.listeners.set(jobId, set);
    }
    set.add(fn);
    const unsubscribe = () => {
      const current = this.listeners.get(jobId);
      if (!current?.delete(fn) || current.size > 0) return;
      this.listeners.delete(jobId);
      this.lastSeen.delete(jobId);
      this.watch(jobId, -1)
        .catch(() => {})
        .finally(() => this.sub.unsubscribe(jobChannel(this.prefix, jobId)).catch(() => {}));
    };
    if (first) {
      const channel = jobChannel(this.prefix, jobId);
      // Subscribed first, counted second: from the count on, events are published to a live subscription.
      this.subscribing.set(
        jobId,
        this.sub.subscribe(channel).then(() => this.watch(jobId, 1)),
      );
    }
    try {
      await this.subscribing.get(jobId);
    } catch (err) {
      unsubscribe();
      throw err;
    } finally {
      if (first) this.subscribing.delete(jobId);
    }
    return unsubscribe;
  }

  /**
   * The terminal event of every job (one message per job). For monitors — benchmarks and tests that watch a
   * whole run; the service's own listeners follow single jobs.
   */
  async onEnded(fn: EventListener): Promise<() => void> {
    this.endedListeners.add(fn);
    if (this.endedListeners.size === 1) await this.sub.subscribe(endedChannel(this.prefix));
    return () => {
      this.endedListeners.delete(fn);
      if (this.endedListeners.size === 0) this.sub.unsubscribe(endedChannel(this.prefix)).catch(() => {});
    };
  }

  /** Cancellations (workers abort the job's running stage). */
  async onCancel(fn: (jobId: string) => void): Promise<() => void> {
    this.cancelListeners.add(fn);
    if (this.cancelListeners.size === 1) await this.sub.subscribe(cancelChannel(this.prefix));
    return () => {
      this.cancelListeners.delete(fn);
    };
  }

  async stop(): Promise<void> {
    this.sub.disconnect();
  }
}
