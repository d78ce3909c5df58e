/**
 * The job lifecycle: the one module that writes a job's record. Every transition — accept, start a stage, hand
 * off, finish (succeeded / failed / canceled), patch, webhook attempt — is one Lua script run in one round trip
 * (commands/*.lua, each with its KEYS, ARGV and returns in its header): guard, record, event, indexes, TTLs and
 * the next BullMQ job change together or not at all. Every key a script touches is passed in KEYS, built by
 * keys.ts; each script's parameters have a type in params.ts. Reads stay with JobStore.
 */
import type { Queue } from 'bullmq';
import { fromHashFields, type JobRecord, toHash } from '../job-record.ts';
import type { EndStatus, EventType } from '../job-states.ts';
import { jobsEnded } from '../metrics.ts';
import type { Stage } from '../pipelines.ts';
import {
  type DeliveryPayload,
  type JobMode,
  type QueueSet,
  runOf,
  stageJobId,
  stageQueueOptions,
} from '../queue-registry.ts';
import type { RedisClient } from '../redis.ts';
import { type AddSpec, checkBullmqContract, fromScriptError, prepareAdd } from './bullmq-add.ts';
import { COMMAND_NAMES, COMMANDS, type CommandName } from './commands.ts';
import { type RedisKeys, redisKeys } from './keys.ts';
import type { AcceptBatchParams, AcceptParams, CommandParams, KeytermsParam } from './params.ts';

export type { KeytermsParam } from './params.ts';

/** A webhook transition's outcome: recorded, recorded without touching a newer delivery's status, or refused. */
export type WebhookReply = 'ok' | 'stale' | 'missing';

/** A script as ioredis defines it without a fixed key count: numkeys, keys…, arguments…. */
type Script = (...args: Array<string | number | Buffer>) => Promise<unknown>;
type ScriptClient = Record<`vb_${CommandName}`, Script>;

/**
 * A script's arguments: our keys, then the keys of its BullMQ adds; ARGV[1] = the parameters as JSON, then each
 * add slot as name, #keys, three arguments — or '' for "no add" (a slot given as undefined).
 */
function scriptArgs<C extends CommandName>(
  keys: string[],
  params: CommandParams[C],
  adds: Array<AddSpec | undefined> = [],
): Array<string | number | Buffer> {
  const addKeys = adds.flatMap((a) => (a ? a[1] : []));
  const addArgs = adds.flatMap((a) => (a ? [a[0], String(a[1].length), ...a[2]] : ['']));
  return [keys.length + addKeys.length, ...keys, ...addKeys, JSON.stringify(params), ...addArgs];
}

/** What a deleted job's record no longer holds: its outputs and what the client sent with it. */
const TOMBSTONE_DROPS: Array<keyof JobRecord> = [
  'transcript',
  'reply_text',
  'audio_key',
  'metadata',
  'summary',
  'artifacts',
];

/**
 * `webhook-id` of a job's terminal event in one run: every attempt and redelivery of it shares the id, and a
 * retried job's later runs get their own (`_r<run>`), so a receiver tells the runs apart.
 */
const jobEventId = (id: string, status: string, run: number) =>
  `msg_${id.replaceAll('-', '')}_${status}${run > 1 ? `_r${run}` : ''}`;

interface AcceptOptions {
  /** admitted only while the client has fewer jobs in flight */
  cap: number;
  fair: boolean;
  idempotency?: { key: string; value: string; ttlSeconds: number };
  keyterms?: KeytermsParam | undefined;
}

type AcceptReply = [string, number | string, string | null];

function acceptResult(res: AcceptReply): AcceptResult {
  if (res[0] === 'ok')
    return { outcome: 'accepted', rank: Number(res[1]), transcriptOptions: res[2] || null };
  if (res[0] === 'full') return { outcome: 'full', active: Number(res[1]) };
  return { outcome: 'replay', stored: String(res[1]) };
}

export type BatchAcceptResult =
  | { outcome: 'accepted'; ranks: number[]; transcriptOptions: Array<string | null> }
  | { outcome: 'full'; active: number }
  | { outcome: 'replay'; stored: string };

export type RetryResult =
  | { outcome: 'retried'; run: number }
  /** the client has `cap` jobs in flight: nothing changed */
  | { outcome: 'full'; active: number }
  /** the job is not failed or canceled (e.g. a concurrent retry re-opened it first) */
  | { outcome: 'not_retryable'; status: string }
  /** its stored files were deleted: nothing left to resume from */
  | { outcome: 'deleted' }
  | { outcome: 'missing' }
  /** the record moved on since it was read (another run began and ended): read it again */
  | { outcome: 'changed' };

export type AcceptResult =
  | { outcome: 'accepted'; rank: number; transcriptOptions: string | null }
  | { outcome: 'full'; active: number }
  | { outcome: 'replay'; stored: string };

export class Lifecycle {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly keys: RedisKeys;
  readonly retentionSeconds: number;
  readonly queues: QueueSet;
  private readonly cmd: ScriptClient;
  private readonly crashAt: ReadonlySet<string>;

  constructor(
    redis: RedisClient,
    opts: {
      prefix: string;
      retentionSeconds: number;
      queues: QueueSet;
      /** tests only: the share of transitions after which this process SIGKILLs itself (a crash failpoint) */
      crashAfterTransition?: number;
      /** tests only: `<transition>:<stage>` (start, handoff) after which this process SIGKILLs itself */
      crashAt?: readonly string[];
    },
  ) {
    this.crashAt = new Set(opts.crashAt ?? []);
    this.redis = redis;
    this.prefix = opts.prefix;
    this.keys = redisKeys(opts.prefix);
    this.retentionSeconds = opts.retentionSeconds;
    this.queues = opts.queues;
    for (const name of COMMAND_NAMES) {
      if (!(`vb_${name}` in redis)) redis.defineCommand(`vb_${name}`, { lua: COMMANDS[name] });
    }
    const scripts = redis as unknown as ScriptClient;
    const rate = opts.crashAfterTransition ?? 0;
    this.cmd =
      rate > 0
        ? (Object.fromEntries(
            COMMAND_NAMES.map((name) => [
              `vb_${name}`,
              async (...args: Parameters<Script>) => {
                const result = await scripts[`vb_${name}`](...args);
                if (Math.random() < rate) process.kill(process.pid, 'SIGKILL');
                return result;
              },
            ]),
          ) as ScriptClient)
        : scripts;
  }

  /**
   * Run by the API and the workers at start: the installed BullMQ adds jobs with the scripts and arguments the
   * lifecycle embeds (see bullmq-add.ts); a BullmqContractError otherwise.
   */
  checkBullmq(): Promise<void> {
    return checkBullmqContract(this.queues.stages.transcribe);
  }

  private async run<C extends CommandName>(
    name: C,
    keys: string[],
    params: CommandParams[C],
    adds?: Array<AddSpec | undefined>,
  ): Promise<unknown> {
    try {
      return await this.cmd[`vb_${name}`](...scriptArgs(keys, params, adds));
    } catch (err) {
      throw fromScriptError(err);
    }
  }

  private stageAdd(
    id: string,
    stage: Stage,
    priority: number | null,
    mode: JobMode | null = null,
    run = 1,
  ): Promise<AddSpec> {
    return prepareAdd(this.queues.stages[stage], stage, run > 1 ? { jobId: id, run } : { jobId: id }, {
      jobId: stageJobId(id, stage, run),
      ...stageQueueOptions(mode, priority),
    });
  }

  private deliverAdd(payload: DeliveryPayload, jobId: string): Promise<AddSpec> {
    return prepareAdd(this.queues.deliver as Queue, payload.eventType, payload, { jobId });
  }

  /**
   * Admits and records a new job and enqueues its first stage. Refused (nothing written) when the client has
   * `cap` jobs in flight already; with an idempotency claim, a stored claim is returned for the caller to replay.
   * `fair`: the job's BullMQ priority is its rank among the client's jobs in flight (fair queuing).
   */
  async accept(record: JobRecord, opts: AcceptOptions): Promise<AcceptResult> {
    const args = await this.acceptArgs(record, opts);
    return acceptResult((await this.run('accept', ...args)) as AcceptReply);
  }

  /**
   * Admits and records a batch's jobs and the batch itself, all or nothing, in one script (accept-batch.lua):
   * admitted iff the client's jobs in flight + n ≤ cap; the Idempotency-Key, when given, is claimed in the same
   * step, so a crash can leave neither a claim without its batch nor part of a batch.
   */
  async acceptBatch(
    items: Array<{ record: JobRecord; keyterms?: KeytermsParam | undefined }>,
    opts: {
      cap: number;
      fair: boolean;
      batch: { id: string; fields: Record<string, string> };
      idempotency?: { key: string; value: string; ttlSeconds: number } | undefined;
    },
  ): Promise<BatchAcceptResult> {
    const k = this.keys;
    const client = items[0]?.record.client_id;
    if (client === undefined) throw new Error('a batch has at least one job');
    const adds = await Promise.all(
      items.map(({ record }) => {
        if (!record.stage) throw new Error('a job is accepted at a stage');
        return this.stageAdd(record.id, record.stage, opts.fair ? 1 : null);
      }),
    );
    const keys = [
      k.client(client),
      k.clientActive(client),
      k.clientJobs(client),
      k.batch(opts.batch.id),
      k.batchJobs(opts.batch.id),
      ...(opts.idempotency ? [opts.idempotency.key] : []),
    ];
    for (const { record } of items) keys.push(k.job(record.id), k.jobEvents(record.id));
    const params: AcceptBatchParams = {
      cap: opts.cap,
      fair: opts.fair,
      idem: opts.idempotency ? [opts.idempotency.value, opts.idempotency.ttlSeconds] : undefined,
      batch: Object.entries(opts.batch.fields).flat(),
      items: items.map(({ record, keyterms }) => ({
        id: record.id,
        fields: Object.entries(toHash(record)).flat(),
        created: Date.parse(record.created_at),
        event: JSON.stringify({ job_id: record.id, status: 'queued' }),
        keyterms,
      })),
    };
    const res = (await this.run('accept-batch', keys, params, adds)) as [
      string,
      number | string,
      Array<string | null>,
    ];
    if (res[0] === 'full') return { outcome: 'full', active: Number(res[1]) };
    if (res[0] === 'replay') return { outcome: 'replay', stored: String(res[1]) };
    const before = Number(res[1]);
    return {
      outcome: 'accepted',
      ranks: items.map((_, i) => before + i + 1),
      transcriptOptions: items.map((_, i) => res[2][i] || null),
    };
  }

  private async acceptArgs(
    record: JobRecord,
    opts: AcceptOptions,
  ): Promise<[string[], AcceptParams, AddSpec[]]> {
    const stage = record.stage;
    if (!stage) throw new Error('a job is accepted at a stage');
    const k = this.keys;
    // An interactive job has no fair-queuing rank: unprioritized and LIFO, it goes ahead of batch work.
    const fair = opts.fair && record.mode !== 'interactive';
    const add = await this.stageAdd(record.id, stage, fair ? 1 : null, record.mode);
    const keys = [
      k.job(record.id),
      k.jobEvents(record.id),
      k.client(record.client_id),
      k.clientActive(record.client_id),
      k.clientJobs(record.client_id),
      ...(opts.idempotency ? [opts.idempotency.key] : []),
    ];
    const params: AcceptParams = {
      id: record.id,
      fields: Object.entries(toHash(record)).flat(),
      created: Date.parse(record.created_at),
      cap: opts.cap,
      fair,
      idem: opts.idempotency ? [opts.idempotency.value, opts.idempotency.ttlSeconds] : undefined,
      event: JSON.stringify({ job_id: record.id, status: 'queued' }),
      keyterms: opts.keyterms,
    };
    return [keys, params, [add]];
  }

  /** Tests only: dies here, before BullMQ hears of the transition, when TEST_CRASH_AT names it. */
  private failpoint(transition: 'start' | 'handoff', stage: Stage): void {
    if (this.crashAt.has(`${transition}:${stage}`)) process.kill(process.pid, 'SIGKILL');
  }

  /**
   * A stage starts: the job is marked running and stage.started published. Returns the record (as it now is),
   * or undefined when the job is gone, has ended, has moved past this stage, or is in another run than `run`
   * (its stage job belongs to a run that was retried since).
   */
  async start(id: string, stage: Stage, attempt: number, run = 1): Promise<JobRecord | undefined> {
    const now = new Date().toISOString();
    const res = (await this.run('start', [this.keys.job(id), this.keys.jobEvents(id)], {
      stage,
      run,
      now,
      event: ['stage.started', JSON.stringify({ job_id: id, stage, attempt })],
      channel: this.keys.jobChannel(id),
    })) as [string, string[] | string];
    if (res[0] !== 'ok') return undefined;
    this.failpoint('start', stage);
    const record = fromHashFields(res[1] as string[]);
    return { ...record, status: 'running', updated_at: now };
  }

  /** A stage's output is recorded and the next stage enqueued. False when the job ended or moved on meanwhile. */
  async handOff(
    record: JobRecord,
    stage: Stage,
    next: Stage,
    output: Partial<JobRecord>,
    completed: Record<string, unknown>,
  ): Promise<boolean> {
    const { id } = record;
    const add = await this.stageAdd(id, next, record.priority, record.mode, runOf(record));
    const res = await this.run(
      'handoff',
      [this.keys.job(id), this.keys.jobEvents(id)],
      {
        stage,
        run: runOf(record),
        fields: Object.entries(
          toHash({ ...output, stage: next, updated_at: new Date().toISOString() }),
        ).flat(),
        event: ['stage.completed', JSON.stringify({ job_id: id, ...completed })],
        channel: this.keys.jobChannel(id),
      },
      [add],
    );
    if (res === 'ok') this.failpoint('handoff', stage);
    return res === 'ok';
  }

  /**
   * Ends a job once (succeeded, failed or canceled). `stage` and `run`, when given, must still be the job's
   * stage and run (a worker ending the job it runs); `completed` is the last stage's stage.completed, published just before the
   * terminal event. Returns false when the job had already ended (or moved on).
   */
  async finish(
    record: Pick<JobRecord, 'id' | 'client_id' | 'batch_id' | 'webhook_url' | 'retries'>,
    status: EndStatus,
    patch: Partial<JobRecord> = {},
    opts: { stage?: Stage; run?: number; completed?: Record<string, unknown> } = {},
  ): Promise<boolean> {
    const { id } = record;
    const k = this.keys;
    const now = new Date();
    const eventType = `job.${status}` as const;
    const run = runOf(record);
    const eventId = jobEventId(id, status, run);
    // The deliver jobs are prepared only for a job (or batch) that can have a webhook (the script checks again).
    // One terminal webhook per run: each run's deliver job has its own id.
    const jobAdd = record.webhook_url
      ? await this.deliverAdd(
          { jobId: id, eventType, eventId },
          `${id}_deliver_0${run > 1 ? `_r${run}` : ''}`,
        )
      : undefined;
    const batchAdd = record.batch_id
      ? await this.deliverAdd(
          {
            jobId: record.batch_id,
            batchId: record.batch_id,
            eventType: 'batch.completed',
            eventId: `msg_${record.batch_id.replaceAll('-', '')}_completed`,
          },
          `batch_${record.batch_id}_deliver`,
        )
      : undefined;
    const res = await this.run(
      'finish',
      [
        k.job(id),
        k.jobEvents(id),
        k.finished,
        k.finishedOwners,
        k.clientActive(record.client_id),
        ...(record.batch_id ? [k.batch(record.batch_id), k.batchJobs(record.batch_id)] : []),
      ],
      {
        id,
        status,
        stage: opts.stage,
        client: record.client_id,
        batch: record.batch_id ?? undefined,
        run: opts.run,
        fields: Object.entries(
          toHash({
            ...patch,
            status,
            finished_at: now.toISOString(),
            updated_at: now.toISOString(),
          }),
        ).flat(),
        webhook: JSON.stringify({
          event_id: eventId,
          event_type: eventType,
          status: 'pending',
          attempts: [],
        }),
        retention: this.retentionSeconds,
        now: now.toISOString(),
        now_ms: now.getTime(),
        completed: opts.completed
          ? ['stage.completed', JSON.stringify({ job_id: id, ...opts.completed })]
          : undefined,
        event: [
          eventType,
          JSON.stringify({ job_id: id, status, ...(patch.error ? { error: patch.error } : {}) }),
        ],
        channel: k.jobChannel(id),
        ended: k.endedChannel,
        cancel: k.cancelChannel,
      },
      [jobAdd, batchAdd],
    );
    if (res !== 'ok') return false;
    jobsEnded.inc({ status, code: status === 'failed' ? (patch.error?.code ?? 'unknown') : '' });
    return true;
  }

  /**
   * Writes fields of a job that has not ended (`anyStatus`: whatever its status, e.g. a tombstone) and removes
   * `remove`. False when the job is missing (or has ended, without `anyStatus`, or is no longer at `stage`).
   */
  async patch(
    id: string,
    fields: Partial<JobRecord>,
    opts: {
      anyStatus?: boolean;
      /** a stage job's patch: only while the job is at this stage */
      stage?: Stage;
      remove?: Array<keyof JobRecord>;
      event?: { type: EventType; data: Record<string, unknown> };
    } = {},
  ): Promise<boolean> {
    const res = await this.run('patch', [this.keys.job(id), this.keys.jobEvents(id)], {
      event: opts.event ? [opts.event.type, JSON.stringify({ job_id: id, ...opts.event.data })] : undefined,
      fields: Object.entries(toHash({ ...fields, updated_at: new Date().toISOString() })).flat(),
      remove: opts.remove ?? [],
      any: opts.anyStatus === true,
      stage: opts.stage,
      channel: this.keys.jobChannel(id),
    });
    return res === 'ok';
  }

  /**
   * Re-opens a failed or canceled job at the stage it ended in, as run n + 1 (see commands/retry.lua): one
   * transition that checks the status and the client's in-flight cap (`cap`), resets the error, re-enters the
   * in-flight set, leaves the retention index, clears the TTLs, publishes job.retried and enqueues the stage.
   * `record` is the job as last read: when it has moved on since, the answer is `changed`.
   */
  async retry(record: JobRecord, opts: { cap: number }): Promise<RetryResult> {
    const stage = record.stage;
    if (!stage) return { outcome: 'not_retryable', status: record.status };
    const run = runOf(record) + 1;
    const add = await this.stageAdd(record.id, stage, record.priority, record.mode, run);
    const k = this.keys;
    const { id } = record;
    const res = (await this.run(
      'retry',
      [
        k.job(id),
        k.jobEvents(id),
        k.finished,
        k.finishedOwners,
        k.clientActive(record.client_id),
        ...(record.batch_id ? [k.batch(record.batch_id), k.batchJobs(record.batch_id)] : []),
      ],
      {
        id,
        client: record.client_id,
        batch: record.batch_id ?? undefined,
        stage,
        run,
        cap: opts.cap,
        now: new Date().toISOString(),
        event: [
          'job.retried',
          JSON.stringify({ job_id: id, status: 'queued', stage, attempt: run, retries: run - 1 }),
        ],
        channel: k.jobChannel(id),
      },
      [add],
    )) as [string, (string | number)?];
    switch (res[0]) {
      case 'ok':
        return { outcome: 'retried', run };
      case 'full':
        return { outcome: 'full', active: Number(res[1]) };
      case 'status':
        return { outcome: 'not_retryable', status: String(res[1]) };
      case 'deleted':
        return { outcome: 'deleted' };
      case 'missing':
        return { outcome: 'missing' };
      default:
        return { outcome: 'changed' };
    }
  }

  /**
   * Records a webhook delivery attempt on `key` (a job's or a batch's hash, see keys.ts), keeping the last `max`
   * attempts. `state.delivery` says which delivery made it (0: the first; a redelivery's sequence): an attempt of
   * a delivery older than the newest started is recorded but leaves the status alone ('stale'); an attempt for
   * another event than the hash's (an earlier run's, the job retried since) writes nothing ('stale'). Nothing is
   * written when the hash is gone ('missing': an expired record is never re-created).
   */
  async webhookAttempt(
    key: string,
    state: { eventId: string; eventType: string; status: string; delivery?: number | undefined },
    attempt: Record<string, unknown>,
    max = 50,
  ): Promise<WebhookReply> {
    return (await this.run(
      'webhook',
      [key],
      {
        event_id: state.eventId,
        event_type: state.eventType,
        status: state.status,
        delivery: state.delivery ?? 0,
        attempt: JSON.stringify(attempt),
        max,
      },
      [undefined],
    )) as WebhookReply;
  }

  /**
   * The first step of deleting an ended job, before its files: the record becomes a tombstone (`deleted_at`,
   * outputs dropped) and the job is listed as a delete in progress. The caller deletes the files, then calls
   * `filesDeleted`; a delete cut short in between is finished by the maintenance sweep (or the next DELETE).
   */
  async tombstone(id: string): Promise<'ok' | 'already' | 'running' | 'missing'> {
    const now = new Date().toISOString();
    return (await this.run('tombstone', [this.keys.job(id), this.keys.deleting], {
      id,
      fields: Object.entries(toHash({ deleted_at: now, updated_at: now })).flat(),
      remove: TOMBSTONE_DROPS,
    })) as 'ok' | 'already' | 'running' | 'missing';
  }

  /** The files of these tombstoned jobs are gone: their deletes are complete. */
  async filesDeleted(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.srem(this.keys.deleting, ...ids);
  }

  /**
   * Retention: the jobs (ended, their files deleted) leave every index that names them — the client's job list,
   * their batch's job list, the retention index — and their record and event stream go (expired by now, or about
   * to). Idempotent: a sweep cut short retires them again.
   */
  async retire(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const k = this.keys;
    const owners = await this.redis.hmget(k.finishedOwners, ...ids);
    const multi = this.redis.multi();
    for (const [i, id] of ids.entries()) {
      const owner = owners[i];
      const [client, batch] = owner
        ? (JSON.parse(owner) as [string, string])
        : // ended before the owners were kept: the record may still say
          await this.redis.hmget(k.job(id), 'client_id', 'batch_id');
      if (client) multi.zrem(k.clientJobs(client), id);
      if (batch) multi.lrem(k.batchJobs(batch), 0, id);
      multi.del(k.job(id), k.jobEvents(id));
    }
    multi.zrem(k.finished, ...ids);
    multi.hdel(k.finishedOwners, ...ids);
    await multi.exec();
  }

  /**
   * Takes ids whose record is gone out of the client's in-flight set (a record that vanished while its job was in
   * flight, e.g. one written by a version that gave in-flight records a TTL). Returns the ids removed. A missing
   * record never comes back (ids are not reused), so the caller's check and this removal need no atomicity.
   */
  async freeOrphans(clientId: string, ids: string[]): Promise<string[]> {
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.srem(this.keys.clientActive(clientId), id);
    const rows = (await pipe.exec()) ?? [];
    return ids.filter((_, i) => rows[i]?.[1] === 1);
  }

  /**
   * Counts a listener of the job's events in (+1) or out (-1): transitions publish a job's events only while
   * it has listeners (see commands/watch.lua). Returns the count.
   */
  async watch(id: string, delta: 1 | -1): Promise<number> {
    return Number(await this.run('watch', [this.keys.job(id)], { delta }));
  }

  /**
   * Sends an ended job's terminal webhook again (same webhook-id) as delivery `seq` (larger than any before: the
   * caller passes the time in ms), which also makes the deliver job new. 'missing' when the record is gone.
   */
  async redeliver(record: JobRecord, seq: number): Promise<WebhookReply> {
    const eventType = `job.${record.status}` as EventType;
    const eventId = jobEventId(record.id, record.status, runOf(record));
    const add = await this.deliverAdd(
      { jobId: record.id, eventType, eventId, delivery: seq },
      `${record.id}_deliver_${seq}`,
    );
    return (await this.run(
      'webhook',
      [this.keys.job(record.id)],
      { event_id: eventId, event_type: eventType, status: 'pending', delivery: seq, max: 50 },
      [add],
    )) as WebhookReply;
  }
}
