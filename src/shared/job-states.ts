/**
 * A job's states and the events it emits: the one list of each. Everything else — the OpenAPI document, the SDK's
 * generated types, the web pages, the lifecycle's Lua scripts — takes them from here.
 */

export const TERMINAL_STATUSES = ['succeeded', 'failed', 'canceled'] as const;
export const JOB_STATUSES = ['queued', 'running', ...TERMINAL_STATUSES] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** How a job ended. */
export type EndStatus = (typeof TERMINAL_STATUSES)[number];
export const isTerminal = (s: JobStatus) => (TERMINAL_STATUSES as readonly string[]).includes(s);

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
export const TERMINAL_EVENTS: ReadonlySet<EventType> = new Set([
  'job.succeeded',
  'job.failed',
  'job.canceled',
]);
