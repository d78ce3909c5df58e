/**
 * The parameter object of each lifecycle script (ARGV[1], JSON), as the script reads it: commands/<name>.lua
 * documents its keys and returns, this file the shape of what it is given. Field names are the ones the Lua uses.
 * An event is `[type, data JSON]`; `channel` is the job's pub/sub channel (see keys.ts).
 */
import type { EndStatus } from '../job-states.ts';

export type EventParam = [type: string, data: string];

/** Audio jobs: the transcript options as JSON with `"__KEYTERMS__"` where the keyterms go, and the job's own. */
export interface KeytermsParam {
  template: string;
  own: string[];
  /** whether the job asked for any transcript option (the options are then written even without keyterms) */
  asked: boolean;
  max: number;
}

export interface AcceptParams {
  id: string;
  /** the record's fields, flattened [field, value, …] */
  fields: string[];
  /** creation time, ms (the client's job list's score) */
  created: number;
  /** admitted only while the client has fewer jobs in flight than this */
  cap: number;
  fair: boolean;
  /** job.queued's data */
  event: string;
  /** with an Idempotency-Key (in KEYS): the value stored and its TTL in seconds */
  idem?: [value: string, ttlSeconds: number] | undefined;
  keyterms?: KeytermsParam | undefined;
}

export interface AcceptBatchParams {
  /** admitted only when the client's jobs in flight + the batch's stay within this */
  cap: number;
  fair: boolean;
  /** with an Idempotency-Key (in KEYS): the value stored and its TTL in seconds */
  idem?: [value: string, ttlSeconds: number] | undefined;
  /** the batch hash's fields, flattened */
  batch: string[];
  /** the jobs, in item order (each one's keys in KEYS, its add in ARGV) */
  items: Array<{
    id: string;
    fields: string[];
    created: number;
    event: string;
    keyterms?: KeytermsParam | undefined;
  }>;
}

export interface StartParams {
  stage: string;
  /** the stage job's run: the job must be in it (retries + 1) */
  run: number;
  now: string;
  event: EventParam;
  channel: string;
}

export interface HandoffParams {
  /** the stage that hands off: the job must still be at it */
  stage: string;
  /** the run that hands off: the job must still be in it */
  run: number;
  fields: string[];
  event: EventParam;
  channel: string;
}

export interface FinishParams {
  id: string;
  status: EndStatus;
  /** when set, the job must still be at this stage */
  stage?: string | undefined;
  /** when set, the job must still be in this run (retries + 1) */
  run?: number | undefined;
  /** the record's client_id and batch_id, whose keys are in KEYS (checked against the record) */
  client: string;
  batch?: string | undefined;
  fields: string[];
  /** the webhook state written when the job has a webhook_url */
  webhook: string;
  /** the record's and the events' TTL from now on, seconds */
  retention: number;
  now: string;
  now_ms: number;
  /** the last stage's stage.completed, emitted before the terminal event */
  completed?: EventParam | undefined;
  event: EventParam;
  channel: string;
  /** the `ended` and `cancel` channels */
  ended: string;
  cancel: string;
}

export interface PatchParams {
  fields: string[];
  remove: string[];
  /** whatever the job's status (e.g. a tombstone on an ended job) */
  any: boolean;
  /** when set, the job must still be at this stage (a stage job's patch) */
  stage?: string | undefined;
  event?: EventParam | undefined;
  channel: string;
}

export interface WebhookParams {
  event_id: string;
  event_type: string;
  status: string;
  /** which delivery: 0 the first, a redelivery's sequence after (a newer one is larger) */
  delivery: number;
  /** the attempt to record, JSON; none for a redelivery going out */
  attempt?: string | undefined;
  /** attempts kept */
  max: number;
}

export interface TombstoneParams {
  id: string;
  /** deleted_at and updated_at, flattened */
  fields: string[];
  /** the outputs a deleted job no longer holds */
  remove: string[];
}

export interface RetryParams {
  id: string;
  /** the record's client_id and batch_id, whose keys are in KEYS (checked against the record) */
  client: string;
  batch?: string | undefined;
  /** the stage and run the caller read (the job must still be at that stage, in run `run` - 1) */
  stage: string;
  /** the new run */
  run: number;
  /** re-admitted only while the client has fewer jobs in flight than this */
  cap: number;
  now: string;
  /** job.retried */
  event: EventParam;
  channel: string;
}

export interface WatchParams {
  delta: 1 | -1;
}

/** Each script's parameter type. */
export interface CommandParams {
  accept: AcceptParams;
  'accept-batch': AcceptBatchParams;
  start: StartParams;
  handoff: HandoffParams;
  finish: FinishParams;
  patch: PatchParams;
  webhook: WebhookParams;
  watch: WatchParams;
  tombstone: TombstoneParams;
  retry: RetryParams;
}
