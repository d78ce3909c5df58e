/**
 * A job's states and the events it emits: the one list of each. Everything else — the OpenAPI document, the SDK's
 * generated types, the web pages, the lifecycle's Lua scripts — takes them from here.
 */

/** A job not ended yet: waiting for a worker, or in a stage. */
export const ACTIVE_STATUSES = ['queued', 'running'] as const;
/** An ended job that did not succeed: what a retry (POST /v1/jobs/:id/retry, a bulk retry) re-opens. */
export const RETRYABLE_STATUSES = ['failed', 'canceled'] as const;
/** An ended job; its record no longer changes (but a retry re-opens a failed or canceled one). */
export const TERMINAL_STATUSES = ['succeeded', ...RETRYABLE_STATUSES] as const;
export const JOB_STATUSES = [...ACTIVE_STATUSES, ...TERMINAL_STATUSES] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** How a job ended. */
export type EndStatus = (typeof TERMINAL_STATUSES)[number];
export type RetryableStatus = (typeof RETRYABLE_STATUSES)[number];
export const isTerminal = (s: string): s is EndStatus => (TERMINAL_STATUSES as readonly string[]).includes(s);

export const EVENT_TYPES = [
  'job.queued',
  'stage.started',
  'stage.completed',
  'stage.retrying',
  /** a streamed reply's next words (`text`), in order (`seq`), while the chat stage runs */
  'reply.delta',
  /** a streamed reply's sentence `index` is spoken and stored: `text`, a signed `url`, `content_type` */
  'speech.segment',
  'job.succeeded',
  'job.failed',
  'job.canceled',
  /** a failed or canceled job re-opened at the stage it ended in (a new run; see POST /v1/jobs/:id/retry) */
  'job.retried',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** A job's last event: `job.<status>` of each terminal status. */
export const TERMINAL_EVENTS: ReadonlySet<EventType> = new Set(
  TERMINAL_STATUSES.map((s) => `job.${s}` as const),
);

/** The events a webhook delivers: a job's, and a batch's end (when its last job ends). */
export const WEBHOOK_EVENT_TYPES = [...EVENT_TYPES, 'batch.completed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
