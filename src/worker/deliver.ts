import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config.ts';
import { retryAfterMs } from '../shared/errors.ts';
import type { DeliveryPayload } from '../shared/job-lifecycle.ts';
import type { WebhookState } from '../shared/job-record.ts';
import type { JobStore } from '../shared/job-store.ts';
import { jobView } from '../shared/job-view.ts';
import type { Logger } from '../shared/logger.ts';
import { DELIVER_QUEUE } from '../shared/stages.ts';
import type { Storage } from '../shared/storage/index.ts';
import { signWebhook } from '../shared/webhooks/signing.ts';
import { type SendResult, sendWebhook } from './webhook-sender.ts';

const MAX_RECORDED_ATTEMPTS = 50;

class RetryDelivery extends Error {
  override name = 'RetryDelivery';
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfter?: number) {
    super(message);
    this.retryAfterMs = retryAfter;
  }
}

export interface DeliverDeps {
  config: Config;
  connection: Redis;
  store: JobStore;
  storage: Storage;
  log: Logger;
}

/**
 * The webhook delivery worker. 2xx → delivered. 408, 429 (honouring Retry-After), 5xx and network errors →
 * retried on the schedule. 410 Gone → stop, endpoint marked gone. Other 4xx → stop. Every attempt is
 * recorded on the job (`webhook.attempts`).
 */
export function startDeliverWorker(deps: DeliverDeps): Worker<DeliveryPayload> {
  const { config, connection, log } = deps;
  const schedule = config.webhooks.retryScheduleMs;
  const worker = new Worker<DeliveryPayload>(DELIVER_QUEUE, (job) => deliver(job, deps), {
    connection,
    prefix: config.prefix,
    concurrency: 16,
    settings: {
      // The delay before retry n is schedule[n]; a longer Retry-After from the receiver wins.
      backoffStrategy: (attemptsMade, _type, err) => {
        const planned = schedule[Math.min(attemptsMade, schedule.length - 1)] ?? 0;
        return Math.max(planned, err instanceof RetryDelivery ? (err.retryAfterMs ?? 0) : 0);
      },
    },
  });
  worker.on('error', (err) => log.error({ err }, 'deliver worker error'));
  return worker;
}

async function deliver(job: Job<DeliveryPayload>, deps: DeliverDeps): Promise<string> {
  const { config, store, storage, connection } = deps;
  const { jobId, eventType, eventId } = job.data;
  const log = deps.log.child({ job_id: jobId, event: eventType, attempt: job.attemptsMade + 1 });
  const record = await store.get(jobId);
  if (!record?.webhook_url) return 'no-webhook';
  const now = new Date();
  const body = JSON.stringify({
    type: eventType,
    timestamp: now.toISOString(),
    data: await jobView(record, storage, config),
  });
  const headers = signWebhook(config.webhooks.secrets, eventId, now, body);
  const result = await sendWebhook(record.webhook_url, body, headers, {
    timeoutMs: config.webhooks.timeoutMs,
    allowPrivate: config.webhooks.allowPrivateNetworks,
  });
  const code = result.statusCode;
  const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const outcome: WebhookState['status'] =
    code !== null && code >= 200 && code < 300
      ? 'delivered'
      : code === 410
        ? 'gone'
        : isRetryable(result) && !final
          ? 'pending'
          : 'failed';
  await record_(connection, store.key(jobId), record.webhook, eventId, eventType, outcome, result);
  log.info(
    { status_code: code, outcome, latency_ms: result.latencyMs, error: result.error },
    'webhook attempt',
  );
  if (outcome === 'delivered') return 'delivered';
  if (outcome === 'pending') {
    throw new RetryDelivery(
      `webhook answered ${code ?? result.error}`,
      code === 429 ? retryAfterMs({ 'retry-after': result.retryAfter ?? undefined }) : undefined,
    );
  }
  throw new UnrecoverableError(
    outcome === 'gone' ? 'webhook endpoint is gone (410)' : `webhook failed: ${code ?? result.error}`,
  );
}

function isRetryable(r: SendResult): boolean {
  if (r.statusCode === null) return !(r.error ?? '').startsWith('refused:');
  return r.statusCode === 408 || r.statusCode === 429 || r.statusCode >= 500;
}

async function record_(
  redis: Redis,
  key: string,
  state: WebhookState | null,
  eventId: string,
  eventType: string,
  status: WebhookState['status'],
  r: SendResult,
): Promise<void> {
  const attempt = {
    at: new Date().toISOString(),
    status_code: r.statusCode,
    latency_ms: r.latencyMs,
    error: r.error,
  };
  const next: WebhookState = {
    event_id: eventId,
    event_type: eventType,
    status,
    attempts: [...(state?.attempts ?? []), attempt].slice(-MAX_RECORDED_ATTEMPTS),
  };
  await redis.hset(key, 'webhook', JSON.stringify(next));
}
