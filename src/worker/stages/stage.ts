import type { Job } from 'bullmq';
import type { Config } from '../../shared/config.ts';
import type { ConversationStore } from '../../shared/conversation-store.ts';
import type { JobRecord } from '../../shared/job-record.ts';
import type { EventType } from '../../shared/job-states.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Usage } from '../../shared/prices.ts';
import type { Storage } from '../../shared/storage/index.ts';
import type { Providers } from '../providers.ts';

export interface StageContext {
  record: JobRecord;
  storage: Storage;
  providers: Providers;
  conversations: ConversationStore;
  config: Config;
  signal: AbortSignal;
  log: Logger;
  /**
   * The first start of this stage's BullMQ job (BullMQ's attemptsStarted is 1): no earlier run can have left
   * a checkpoint, so the stage does not look for one (a read, or an S3 request, saved per stage and job).
   */
  fresh?: boolean;
  /**
   * Publishes an event of the running job while this stage still holds it (reply.delta, speech.segment): on the
   * job's stream and to its listeners. Nothing is published once the job ended or moved on.
   */
  emit?: (type: EventType, data: Record<string, unknown>) => Promise<void>;
  /** the stage's BullMQ job and lock token: a stage that fans out (chunked transcription) waits on children */
  job?: Job;
  token?: string;
}

/** What a stage adds to the job record once its output is stored. */
export type StageOutput = Partial<
  Pick<
    JobRecord,
    | 'transcript'
    | 'reply_text'
    | 'audio_key'
    | 'language'
    | 'duration_seconds'
    | 'artifacts'
    | 'summary'
    | 'transcript_options'
    | 'transcription_model'
    | 'warnings'
    | 'speakers'
    | 'redactions'
    | 'no_speech'
  >
>;

/**
 * A stage: takes its input from the record (texts) or storage (audio), calls its provider unless a large output
 * already exists under its deterministic key (the checkpoint), and returns the fields to record. Its hooks
 * let the generic runner (stage-runner.ts) do what only this stage knows, without naming it.
 */
export type StageFn = ((ctx: StageContext) => Promise<StageOutput>) & StageHooks;

export interface StageHooks {
  /**
   * Before the stage runs (and before its provider context): makes its input ready — e.g. audio given by
   * URL fetched into storage — and returns the record to run on.
   */
  prepareInput?(record: JobRecord, env: PrepareEnv): Promise<JobRecord>;
  /** After it ran: what it used, for the usage and cost metrics (and the trace's attributes). */
  usage?(output: StageOutput, record: JobRecord): StageUsage | undefined;
}

export interface PrepareEnv {
  storage: Storage;
  config: Config;
  signal: AbortSignal;
  /** see StageContext.fresh */
  fresh: boolean;
  /** records fields on the job (the lifecycle's patch) */
  patch(fields: Partial<JobRecord>): Promise<void>;
}

export interface StageUsage {
  model: string;
  usage: Usage;
  /** span attributes of the stage's trace */
  attributes?: Record<string, number>;
}
