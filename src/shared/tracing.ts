/**
 * OpenTelemetry traces: one trace per job, from the HTTP request that created it through every stage,
 * chunk, provider call and webhook delivery, across API and worker processes.
 *
 * Off unless `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_TRACES_EXPORTER`
 * is set (and `OTEL_SDK_DISABLED` is not `true`); then `@opentelemetry/sdk-node` reads the standard
 * `OTEL_*` variables (exporter, protocol, headers, sampler, `OTEL_SERVICE_NAME`, resource attributes).
 * While off, every helper here hands back what it was given: no span, no extra Redis read, no cost.
 *
 * How the trace crosses processes: the API stores the W3C `traceparent` of its request span on the job
 * record (`trace_parent`, src/shared/job-record.ts); each stage, chunk and delivery job reads it and runs
 * under a span whose parent it is. So every span of a job shares the request's trace id however many
 * processes, retries and queues it passes through. Logs carry `trace_id`/`span_id` (a pino mixin).
 */
import {
  type Attributes,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { Job } from 'bullmq';
import type { NextFunction, Request, Response } from 'express';

const TRACER = 'voicebot';
let sdk: { shutdown(): Promise<void> } | undefined;

/** Whether the environment asks for traces (the standard variables; see the module comment). */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter === 'none') return false;
  return Boolean(exporter || env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the OpenTelemetry SDK when the environment asks for it; call first thing in a process's main.
 * Only traces: metrics stay Prometheus (/metrics) and logs stay pino, unless OTEL_METRICS_EXPORTER or
 * OTEL_LOGS_EXPORTER say otherwise. Resolves with whether tracing is on.
 */
export async function startTracing(serviceName: string): Promise<boolean> {
  const env = process.env; // the SDK reads its settings from the process environment
  if (sdk || !tracingRequested(env)) return sdk !== undefined;
  env.OTEL_SERVICE_NAME ??= serviceName;
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  // Loaded only when on: a process without tracing never loads the SDK.
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const started = new NodeSDK({ instrumentations: [] });
  started.start();
  sdk = started;
  return true;
}

/** Flushes the spans still buffered and stops the SDK (part of a process's graceful shutdown). */
export async function stopTracing(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown();
}

/** `trace_id` and `span_id` of the active span, for log lines (empty when there is none). */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
}

/** The W3C `traceparent` of the active span, stored on a job so its workers continue the trace. */
export function currentTraceparent(): string | null {
  if (!sdk) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

const tracer = () => trace.getTracer(TRACER);

/** Runs `fn` under a new span (child of the active one); records an error and rethrows it. */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!sdk) return fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  return tracer().startActiveSpan(name, options, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

function failSpan(span: Span, err: unknown): void {
  span.recordException(err as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message?.slice(0, 300) });
}

/** Adds attributes to the active span (a stage's audio seconds, say); nothing while tracing is off. */
export function annotate(attributes: Attributes): void {
  if (sdk) trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * Express middleware: one SERVER span per request, continuing a caller's `traceparent` when it sends one;
 * named `METHOD /route` once the route is known. The request's logger carries the trace id.
 */
export function traceRequests() {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!sdk) {
      next();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer().startSpan(
      `${req.method} ${req.path}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method, 'url.path': req.path, 'url.scheme': req.protocol },
      },
      parent,
    );
    const { traceId, spanId } = span.spanContext();
    req.log = req.log.child({ trace_id: traceId, span_id: spanId });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = req.route?.path;
      if (typeof route === 'string') {
        span.updateName(`${req.method} ${req.baseUrl}${route}`);
        span.setAttribute('http.route', `${req.baseUrl}${route}`);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}

/** Reads the `trace_parent` a job record keeps (see src/shared/job-record.ts) for a job's id. */
export function recordTraceparent(store: {
  redis: { hget(key: string, field: string): Promise<string | null> };
  key(id: string): string;
}) {
  return async (job: Job): Promise<string | null> => {
    const id = (job.data as { jobId?: unknown } | undefined)?.jobId;
    return typeof id === 'string' ? store.redis.hget(store.key(id), 'trace_parent') : null;
  };
}

/** W3C trace context → the context a job's work continues in (the root context when there is none). */
function contextFrom(traceparent: string | null | undefined) {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

type AnyProcessor<J extends Job, R> = (job: J, token?: string, signal?: AbortSignal) => Promise<R>;

/**
 * Wraps a BullMQ processor: its run is one CONSUMER span (`<name>`), a child of the span that created the
 * job (the W3C `traceparent` read by `parentOf`, normally from the job record). A job that waits for its
 * children (chunked transcription) or is rate limited is not marked as an error.
 */
export function tracedProcessor<J extends Job, R>(
  name: string,
  queue: string,
  parentOf: (job: J) => Promise<string | null | undefined>,
  processor: AnyProcessor<J, R>,
  attributes: (job: J) => Attributes = () => ({}),
): AnyProcessor<J, R> {
  if (!sdk) return processor;
  return async (job, token, signal) => {
    const parent = contextFrom(await parentOf(job).catch(() => null));
    const span = tracer().startSpan(
      name,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'bullmq',
          'messaging.operation.type': 'process',
          'messaging.destination.name': queue,
          'messaging.message.id': job.id ?? '',
          'voicebot.attempt': job.attemptsMade + 1,
          ...attributes(job),
        },
      },
      parent,
    );
    try {
      const result = await context.with(trace.setSpan(parent, span), () => processor(job, token, signal));
      if (typeof result === 'string') span.setAttribute('voicebot.outcome', result);
      return result;
    } catch (err) {
      const name = (err as Error)?.name;
      if (name === 'WaitingChildrenError') span.setAttribute('voicebot.outcome', 'waiting_children');
      else if (name === 'RateLimitError') span.setAttribute('voicebot.outcome', 'rate_limited');
      else failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  };
}

type Fetch = (input: string | URL | globalThis.Request, init?: RequestInit) => Promise<globalThis.Response>;

const OPERATIONS: Array<[RegExp, string]> = [
  [/\/audio\/transcriptions/, 'transcription'],
  [/\/audio\/speech/, 'speech'],
  [/\/chat\/completions/, 'chat'],
];

/**
 * The provider's fetch, traced: one CLIENT span per call (`<operation> <model>`), with the model, the HTTP
 * status, and what the answer says it used — tokens (chat, gpt-4o transcription), audio seconds
 * (whisper), characters spoken (speech).
 */
export function tracedFetch<F extends Fetch>(stage: string, model: string, base: F): F {
  if (!sdk) return base;
  const traced = async (input: Parameters<F>[0], init?: RequestInit) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const operation = OPERATIONS.find(([re]) => re.test(url.pathname))?.[1] ?? 'request';
    return inSpan(
      `${operation} ${model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.system': 'openai',
          'gen_ai.operation.name': operation,
          'gen_ai.request.model': model,
          'voicebot.stage': stage,
          'server.address': url.hostname,
          'http.request.method': init?.method ?? 'GET',
        },
      },
      async (span) => {
        const res = await base(input, init);
        span.setAttribute('http.response.status_code', res.status);
        if (!res.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${res.status}` });
        else await usageAttributes(span, operation, res, init);
        return res;
      },
    );
  };
  return traced as F;
}

async function usageAttributes(span: Span, operation: string, res: globalThis.Response, init?: RequestInit) {
  try {
    if (operation === 'speech' && typeof init?.body === 'string') {
      const input = (JSON.parse(init.body) as { input?: unknown }).input;
      if (typeof input === 'string') span.setAttribute('voicebot.characters', input.length);
      return;
    }
    if (!res.headers.get('content-type')?.includes('json')) return;
    const body = (await res.clone().json()) as {
      model?: string;
      duration?: number;
      usage?: {
        type?: string;
        seconds?: number;
        prompt_tokens?: number;
        completion_tokens?: number;
        input_tokens?: number;
        output_tokens?: number;
      };
    };
    const u = body.usage;
    const attrs: Attributes = {};
    if (typeof body.model === 'string') attrs['gen_ai.response.model'] = body.model;
    const input = u?.prompt_tokens ?? u?.input_tokens;
    const output = u?.completion_tokens ?? u?.output_tokens;
    if (typeof input === 'number') attrs['gen_ai.usage.input_tokens'] = input;
    if (typeof output === 'number') attrs['gen_ai.usage.output_tokens'] = output;
    const seconds =
      typeof body.duration === 'number' ? body.duration : u?.type === 'duration' ? u.seconds : undefined;
    if (typeof seconds === 'number') attrs['voicebot.audio_seconds'] = seconds;
    span.setAttributes(attrs);
  } catch {
    // Usage is best effort: never fail a provider call over a span attribute.
  }
}
