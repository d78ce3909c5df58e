/**
 * Service settings of the crash tests (workers SIGKILLed at any instant): fast webhook retries, many cheap
 * stage attempts, short locks and frequent stall checks so a killed worker's job is taken over within about
 * a second, and stalls never used up (MAX_STALLED_COUNT) — the tests check invariants, not give-ups.
 */
export const CRASH_SETTINGS: Readonly<Record<string, string>> = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_RETRY_SCHEDULE: '0,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms',
  STAGE_CONCURRENCY: '4',
  STAGE_ATTEMPTS: '20',
  STAGE_BACKOFF_MS: '20',
  LOCK_DURATION_MS: '1500',
  STALLED_INTERVAL_MS: '700',
  MAX_STALLED_COUNT: '1000',
  METRICS_PORT: '0',
};
