import { type Job, UnrecoverableError, type Worker } from 'bullmq';
import type { ApiKeys } from '../api-keys.ts';
import { batchView } from '../batch-view.ts';
import type { BatchStore } from '../batches.ts';
import type { Config } from '../config.ts';
import { retryAfterMs } from '../errors.ts';
import type { WebhookState } from '../job-record.ts';
import type { JobStore } from '../job-store.ts';
import { jobView } from '../job-view.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { Logger } from '../logger.ts';
import { webhookDeliveries } from '../metrics.ts';
import {
  DELIVER_QUEUE,
  type DeliveryPayload,
  deliveryPayloadSchema,
  workerOptions,
} from '../queue-registry.ts';
import { QueueWorker } from '../queue-worker.ts';
import type { RedisClient } from '../redis.ts';
import type { Storage } from '../storage/index.ts';
import { type SendResult, sendWebhook, traceDelivery } from './sender.ts';
import { signWebhook } from './signing.ts';

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
  connection: RedisClient;
  store: JobStore;
  lifecycle: Lifecycle;
  batches: BatchStore;
  keys: ApiKeys;
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
  const traced = traceDelivery(deps, (job: Job<DeliveryPayload>) => deliver(job, deps)); // a span when tracing is on
  const worker = new QueueWorker<DeliveryPayload>(
    DELIVER_QUEUE,
    traced,
    {
      ...workerOptions(DELIVER_QUEUE, config, connection),
      settings: {
        // The delay before retry n is schedule[n]; a longer Retry-After from the receiver wins.
        backoffStrategy: (attemptsMade, _type, err) => {
          const planned = schedule[Math.min(attemptsMade, schedule.length - 1)] ?? 0;
          return Math.max(planned, err instanceof RetryDelivery ? (err.retryAfterMs ?? 0) : 0);
        },
      },
    },
    connection,
  );
  worker.on('error', (err) => log.error({ err }, 'deliver worker error'));
  // A delivery whose workers kept dying mid-send stalls out without a word from `deliver`: record it as failed,
  // so the job does not say "pending" forever (a redelivery can still send it).
  worker.on('failed', (job, err) => {
    if (!job || !/stalled more than/i.test(err.message)) return;
    const { jobId, batchId, eventType, eventId, delivery } = job.data;
    deps.lifecycle
      .webhookAttempt(
        batchId ? deps.batches.key(batchId) : deps.store.key(jobId),
        { eventId, eventType, status: 'failed', delivery },
        {
          at: new Date().toISOString(),
          status_code: null,
          latency_ms: 0,
          error: 'delivery interrupted too often (its workers stopped while sending)',
        },
        MAX_RECORDED_ATTEMPTS,
      )
      .catch((e: unknown) => log.error({ err: e, job_id: jobId }, 'could not record a stalled-out delivery'));
  });
  return worker;
}

/** What one delivery sends: the event's subject (job or batch), where, and the secrets to sign with. */
async function eventOf(job: Job<DeliveryPayload>, deps: DeliverDeps) {
  const { config, store, storage, batches } = deps;
  const { jobId, batchId } = job.data;
  if (batchId) {
    const batch = await batches.get(batchId);
    if (!batch?.webhook_url) return undefined;
    const data = await batchView(batch, { batches, store, storage, config }, { offset: 0, limit: 0 });
    return {
      url: batch.webhook_url,
      clientId: batch.client_id,
      data,
      stateKey: batches.key(batchId),
    };
  }
  const record = await store.get(jobId);
  if (!record?.webhook_url) return undefined;
  const data = await jobView(record, storage, config);
  return {
    url: record.webhook_url,
    clientId: record.client_id,
    data,
    stateKey: store.key(jobId),
  };
}

async function deliver(job: Job<DeliveryPayload>, deps: DeliverDeps): Promise<string> {
  const { config, keys, lifecycle } = deps;
  const parsed = deliveryPayloadSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError('invalid deliver job data');
  const { jobId, eventType, eventId, delivery } = parsed.data;
  const log = deps.log.child({ job_id: jobId, event: eventType, attempt: job.attemptsMade + 1 });
  const event = await eventOf(job, deps);
  if (!event) return 'no-webhook';
  const now = new Date();
  const body = JSON.stringify({ type: eventType, timestamp: now.toISOString(), data: event.data });
  // A client with its own webhook secret (created with its API key) gets webhooks signed with it.
  const clientSecret = (await keys.client(event.clientId))?.webhook_secret;
  const headers = signWebhook(clientSecret ? [clientSecret] : config.webhooks.secrets, eventId, now, body);
  const result = await sendWebhook(event.url, body, headers, {
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
  const recorded = await lifecycle.webhookAttempt(
    event.stateKey,
    { eventId, eventType, status: outcome, delivery },
    {
      at: new Date().toISOString(),
      status_code: result.statusCode,
      latency_ms: result.latencyMs,
      error: result.error,
    },
    MAX_RECORDED_ATTEMPTS,
  );
  webhookDeliveries.inc({ outcome: outcome === 'pending' ? 'retry' : outcome });
  log.info(
    { status_code: code, outcome, latency_ms: result.latencyMs, error: result.error },
    'webhook attempt',
  );
  // The record expired while the attempt was out: nothing is left to deliver about (or to record on).
  if (recorded === 'missing') return 'record-gone';
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
