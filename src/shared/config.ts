import { z } from 'zod';
import { DEFAULT_REDIS_URL } from './embedded-redis.ts';
import { STAGES, type Stage } from './pipelines.ts';
import { parsePriceTable } from './prices.ts';
import { parseClusterNodes, type RedisSettings } from './redis.ts';

/**
 * Every setting of the service, read once from the environment at boot.
 * `loadConfig` lists every problem at once and throws: a bad value never falls back silently.
 * Each variable is documented in `.env.example`.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));
const optionalUrl = z
  .url()
  .optional()
  .or(z.literal('').transform(() => undefined));

const stageList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.enum(STAGES)).min(1, 'name at least one stage'));

/** True when Redis Cluster would hash every `<prefix>…` key by the same tag: a non-empty `{…}` in the prefix. */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  const close = prefix.indexOf('}', open + 1);
  return open >= 0 && close > open + 1;
}

/** `250`, `250ms`, `5s`, `5m`, `2h` → milliseconds (NaN when unreadable). */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) return Number.NaN;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * unit;
}

/** `TRANSCRIBE_<name>`, `CHAT_<name>`, `SPEAK_<name>`: optional per-stage overrides of `STAGE_<name>`. */
function perStage<T extends z.ZodType>(name: string, schema: T) {
  return Object.fromEntries(STAGES.map((s) => [`${s.toUpperCase()}_${name}`, schema.optional()])) as Record<
    `${Uppercase<Stage>}_${typeof name}`,
    z.ZodOptional<T>
  >;
}

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: optionalUrl,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  REDIS_URL: z.string().default(DEFAULT_REDIS_URL),
  QUEUE_PREFIX: z.string().min(1).default('{voicebot}'),
  // npm start's private redis-server (src/shared/embedded-redis.ts, read before the config is loaded)
  REDIS_EMBEDDED: z.enum(['auto', 'always', 'never']).default('auto'),
  // Redis Cluster and managed Redis (TLS, ACL user): see src/shared/redis.ts
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v?.trim()) return undefined;
      try {
        return parseClusterNodes(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `${(err as Error).message} (comma-separated host:port)` });
        return z.NEVER;
      }
    }),
  REDIS_TLS: bool.default(false),
  REDIS_TLS_CA_FILE: optionalString,
  REDIS_USERNAME: optionalString,
  REDIS_PASSWORD: optionalString,
  REDIS_WAIT_REPLICAS: int(0, 10).default(0),
  REDIS_WAIT_TIMEOUT_MS: int(1, 60_000).default(1000),

  S3_BUCKET: optionalString,
  S3_ENDPOINT: optionalUrl,
  S3_REGION: z.string().default('us-east-1'),
  S3_FORCE_PATH_STYLE: bool.default(false),
  DATA_DIR: z.string().default('./data'),
  URL_SIGNING_SECRET: optionalString,
  AUDIO_URL_TTL_SECONDS: int(60, 604_800).default(3600),

  MAX_UPLOAD_BYTES: int(1).default(100 * 1024 * 1024),
  MAX_TEXT_CHARS: int(1, 100_000).default(10_000),
  CONVERSATION_MAX_TURNS: int(0, 100).default(10),
  RATE_LIMIT_RPM: int(0).default(600),
  MAX_JOBS_IN_FLIGHT: int(1).default(10_000),
  FAIR_QUEUEING: bool.default(true),
  MAX_BATCH_ITEMS: int(1, 10_000).default(1000),
  AUDIO_FETCH_TIMEOUT_MS: int(100).default(60_000),
  SYNC_WAIT_SECONDS: int(0, 600).default(60),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)), {
      message: 'must be comma-separated origins like https://app.example.com (or *)',
    }),
  BODY_IDLE_TIMEOUT_MS: int(1000).default(30_000),

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalUrl,
  USE_SIMULATOR: z.enum(['auto', 'true', 'false']).default('auto'),
  SIMULATOR_PORT: int(0, 65535).default(0),
  SIMULATOR_LATENCY: z.enum(['none', 'openai']).default('none'),

  TRANSCRIBE_MODEL: z.string().default('gpt-4o-mini-transcribe'),
  TRANSCRIBE_BASE_URL: optionalUrl,
  TRANSCRIBE_API_KEY: optionalString,
  CHAT_MODEL: z.string().default('gpt-5.4-mini'),
  CHAT_BASE_URL: optionalUrl,
  CHAT_API_KEY: optionalString,
  CHAT_SYSTEM_PROMPT: z
    .string()
    .default(
      'You are a helpful voice assistant. Answer briefly and clearly: your answer will be spoken aloud.',
    ),
  TTS_MODEL: z.string().default('gpt-4o-mini-tts'),
  TTS_BASE_URL: optionalUrl,
  TTS_API_KEY: optionalString,
  TTS_VOICE: z.string().default('nova'),
  TTS_FORMAT: z.enum(['mp3', 'wav', 'opus', 'aac', 'flac']).default('mp3'),
  SUMMARIZE_MODEL: optionalString,
  SUMMARIZE_BASE_URL: optionalUrl,
  SUMMARIZE_API_KEY: optionalString,
  TRANSCRIBE_MAX_UPLOAD_BYTES: int(1024).default(25 * 1024 * 1024),
  TRANSCRIBE_CHUNK_SECONDS: int(30).default(600),
  /** the model jobs with `diarize: true` are transcribed with (same server and key as TRANSCRIBE_MODEL) */
  TRANSCRIBE_DIARIZE_MODEL: z.string().min(1).default('gpt-4o-transcribe-diarize'),
  /**
   * the model jobs that need word times (`word_timestamps`, `redact_audio`) are transcribed with when
   * TRANSCRIBE_MODEL gives none (same server and key as TRANSCRIBE_MODEL)
   */
  TRANSCRIBE_TIMESTAMPS_MODEL: z.string().min(1).default('whisper-1'),
  MAX_AUDIO_SECONDS: int(1).default(4 * 3600),
  FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  FFPROBE_PATH: z.string().min(1).default('ffprobe'),

  WORKER_STAGES: stageList.default([...STAGES]),
  STAGE_CONCURRENCY: int(1, 1000).default(8),
  STAGE_ATTEMPTS: int(1, 100).default(5),
  STAGE_BACKOFF_MS: int(0).default(1000),
  PROVIDER_TIMEOUT_MS: int(100).default(120_000),
  STAGE_RPM: int(0).default(0),
  ...perStage('CONCURRENCY', int(1, 1000)),
  ...perStage('ATTEMPTS', int(1, 100)),
  ...perStage('TIMEOUT_MS', int(100)),
  ...perStage('RPM', int(0)),
  RATE_LIMIT_MAX_WAITS: int(0).default(50),
  LOCK_DURATION_MS: int(1000).default(30_000),
  STALLED_INTERVAL_MS: int(500).default(30_000),
  /** How long an idle worker blocks on Redis before it looks again (a new job wakes it at once). */
  WORKER_IDLE_BLOCK_SECONDS: int(1, 3600).default(120),
  MAX_STALLED_COUNT: int(0, 1000).default(3),
  /** Tests only: the share of lifecycle transitions after which a worker process SIGKILLs itself. */
  TEST_CRASH_AFTER_TRANSITION: z.coerce.number().min(0).max(1).default(0),
  /** Tests only: `<transition>:<stage>` list (transition start or handoff) after which a worker SIGKILLs itself. */
  TEST_CRASH_AT: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
  JOB_RETENTION_SECONDS: int(60).default(7 * 24 * 3600),

  WEBHOOK_SECRET: optionalString.refine(
    (v) => v === undefined || v.split(',').every((s) => s.trim().startsWith('whsec_')),
    {
      message: 'must be whsec_… Standard Webhooks secrets, comma-separated (newest first) while rotating',
    },
  ),
  WEBHOOK_TIMEOUT_MS: int(100).default(15_000),
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default('0,5s,5m,30m,2h,5h,10h,10h')
    .transform((v) => v.split(',').map((d) => parseDuration(d.trim())))
    .refine((list) => list.length > 0 && list.every((ms) => Number.isFinite(ms) && ms >= 0), {
      message: 'must be comma-separated delays like 0,5s,5m,2h (the first is the first attempt)',
    }),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),

  // production security: every opening is an explicit opt-in (see SECURITY.md "Production")
  /** production only: run with no API key at all (every request acts for the `public` client) */
  ALLOW_OPEN_API: bool.default(false),
  /** production only: serve /metrics on the API's public port without METRICS_TOKEN */
  ALLOW_PUBLIC_METRICS: bool.default(false),
  /** production only: accept jobs with a webhook_url when no signing secret applies to their client */
  ALLOW_UNSIGNED_WEBHOOKS: bool.default(false),
  /** registered at boot when no API key exists yet (a fresh deployment starts closed); ignored after that */
  INITIAL_API_KEY: optionalString.refine((v) => v === undefined || /^\S{24,}$/.test(v), {
    message: 'must be at least 24 characters without spaces (e.g. vb_ followed by `openssl rand -hex 24`)',
  }),

  // operators: dashboard, metrics, readiness, watchdog
  ADMIN_TOKEN: optionalString,
  ADMIN_READ_ONLY: bool.default(false),
  METRICS_PORT: int(0, 65535).default(9464),
  METRICS_TOKEN: optionalString,
  METRICS_CLIENT_LABELS: bool.default(true),
  PRICE_TABLE: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parsePriceTable(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  READY_REQUIRES_WORKERS: bool.default(false),
  REDIS_WATCHDOG_MS: int(0).default(60_000),
});

/** Every environment variable the service reads (all documented in `.env.example`). */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape);

export interface ProviderConfig {
  model: string;
  baseURL: string | undefined;
  apiKey: string | undefined;
}

/** Per-stage worker settings: each stage scales, retries and is rate limited on its own. */
export interface StageSettings {
  /** jobs processed at once by one worker process */
  concurrency: number;
  /** tries before the job fails */
  attempts: number;
  /** one provider call's time limit */
  timeoutMs: number;
  /** proactive provider requests per minute for the whole stage (0: no limit), e.g. an OpenAI tier */
  rpm: number;
}

export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; throws one error naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const useSimulator = e.USE_SIMULATOR === 'true' || (e.USE_SIMULATOR === 'auto' && !e.OPENAI_API_KEY);
  if (e.REDIS_CLUSTER_NODES && !hasHashTag(e.QUEUE_PREFIX)) {
    throw new ConfigError(
      `Invalid configuration:\n  QUEUE_PREFIX: must contain a {hash tag} with REDIS_CLUSTER_NODES (e.g. {voicebot}), so every key of the service lands in one cluster slot (got ${JSON.stringify(e.QUEUE_PREFIX)})`,
    );
  }
  if (useSimulator && e.NODE_ENV === 'production' && e.USE_SIMULATOR !== 'true') {
    throw new ConfigError(
      'Invalid configuration:\n  OPENAI_API_KEY: required in production (or set USE_SIMULATOR=true to run the built-in simulator on purpose)',
    );
  }
  const production = e.NODE_ENV === 'production';
  const provider = (model: string, baseURL?: string, apiKey?: string): ProviderConfig => ({
    model,
    baseURL: baseURL ?? e.OPENAI_BASE_URL,
    apiKey: apiKey ?? e.OPENAI_API_KEY,
  });
  const overrides = e as unknown as Record<string, number | undefined>;
  const stageSetting = (stage: Stage, name: string, fallback: number) =>
    overrides[`${stage.toUpperCase()}_${name}`] ?? fallback;
  const stages = Object.fromEntries(
    STAGES.map((stage) => [
      stage,
      {
        concurrency: stageSetting(stage, 'CONCURRENCY', e.STAGE_CONCURRENCY),
        attempts: stageSetting(stage, 'ATTEMPTS', e.STAGE_ATTEMPTS),
        timeoutMs: stageSetting(stage, 'TIMEOUT_MS', e.PROVIDER_TIMEOUT_MS),
        rpm: stageSetting(stage, 'RPM', e.STAGE_RPM),
      },
    ]),
  ) as Record<Stage, StageSettings>;
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    /** where links point when no request names a host (webhooks); see publicUrlFromRequest */
    publicUrl: (e.PUBLIC_URL ?? defaultPublicUrl(e.HOST, e.PORT)).replace(/\/$/, ''),
    /** PUBLIC_URL unset: links in an API answer use the host that request came in on */
    publicUrlFromRequest: e.PUBLIC_URL === undefined,
    logLevel: e.LOG_LEVEL,
    redisUrl: e.REDIS_URL,
    redisEmbedded: e.REDIS_EMBEDDED,
    /** how to reach Redis: a single node (`url`) or a cluster (`clusterNodes`), TLS and credentials */
    redis: {
      url: e.REDIS_URL,
      clusterNodes: e.REDIS_CLUSTER_NODES,
      tls: e.REDIS_TLS,
      tlsCaFile: e.REDIS_TLS_CA_FILE,
      username: e.REDIS_USERNAME,
      password: e.REDIS_PASSWORD,
    } satisfies RedisSettings,
    /** intake answers 202 only after this many replicas acknowledged the job's writes (0: no WAIT) */
    redisWait: { replicas: e.REDIS_WAIT_REPLICAS, timeoutMs: e.REDIS_WAIT_TIMEOUT_MS },
    prefix: e.QUEUE_PREFIX,
    storage: {
      s3: e.S3_BUCKET
        ? {
            bucket: e.S3_BUCKET,
            endpoint: e.S3_ENDPOINT,
            region: e.S3_REGION,
            forcePathStyle: e.S3_FORCE_PATH_STYLE,
          }
        : undefined,
      dataDir: e.DATA_DIR,
      signingSecret: e.URL_SIGNING_SECRET,
      urlTtlSeconds: e.AUDIO_URL_TTL_SECONDS,
    },
    limits: {
      uploadBytes: e.MAX_UPLOAD_BYTES,
      textChars: e.MAX_TEXT_CHARS,
      requestsPerMinute: e.RATE_LIMIT_RPM,
      jobsInFlight: e.MAX_JOBS_IN_FLIGHT,
      batchItems: e.MAX_BATCH_ITEMS,
      audioFetchTimeoutMs: e.AUDIO_FETCH_TIMEOUT_MS,
    },
    fairQueuing: e.FAIR_QUEUEING,
    syncWaitMs: e.SYNC_WAIT_SECONDS * 1000,
    corsOrigins: e.CORS_ORIGINS,
    bodyIdleTimeoutMs: e.BODY_IDLE_TIMEOUT_MS,
    simulator: { enabled: useSimulator, port: e.SIMULATOR_PORT, latency: e.SIMULATOR_LATENCY },
    providers: {
      transcribe: provider(e.TRANSCRIBE_MODEL, e.TRANSCRIBE_BASE_URL, e.TRANSCRIBE_API_KEY),
      chat: provider(e.CHAT_MODEL, e.CHAT_BASE_URL, e.CHAT_API_KEY),
      speak: provider(e.TTS_MODEL, e.TTS_BASE_URL, e.TTS_API_KEY),
      // Defaults to the chat stage's model and server.
      summarize: provider(
        e.SUMMARIZE_MODEL ?? e.CHAT_MODEL,
        e.SUMMARIZE_BASE_URL ?? e.CHAT_BASE_URL,
        e.SUMMARIZE_API_KEY ?? e.CHAT_API_KEY,
      ),
    },
    chat: { systemPrompt: e.CHAT_SYSTEM_PROMPT, maxTurns: e.CONVERSATION_MAX_TURNS },
    tts: { voice: e.TTS_VOICE, format: e.TTS_FORMAT },
    transcription: {
      /** larger inputs are transcoded (and chunked if still too large) before upload */
      maxUploadBytes: e.TRANSCRIBE_MAX_UPLOAD_BYTES,
      /** longer inputs are cut at silences into chunks of at most this many seconds */
      chunkSeconds: e.TRANSCRIBE_CHUNK_SECONDS,
      diarizeModel: e.TRANSCRIBE_DIARIZE_MODEL,
      timestampsModel: e.TRANSCRIBE_TIMESTAMPS_MODEL,
      /** longer inputs fail with audio_too_long */
      maxAudioSeconds: e.MAX_AUDIO_SECONDS,
      tools: { ffmpeg: e.FFMPEG_PATH, ffprobe: e.FFPROBE_PATH },
    },
    worker: {
      stages: e.WORKER_STAGES,
      settings: stages,
      backoffMs: e.STAGE_BACKOFF_MS,
      rateLimitMaxWaits: e.RATE_LIMIT_MAX_WAITS,
      lockDurationMs: e.LOCK_DURATION_MS,
      stalledIntervalMs: e.STALLED_INTERVAL_MS,
      /** an idle worker's blocking wait (BullMQ drainDelay, and the ceiling of a wait for a delayed job) */
      idleBlockSeconds: e.WORKER_IDLE_BLOCK_SECONDS,
      maxStalledCount: e.MAX_STALLED_COUNT,
      /** tests only (crash-invariant test): die right after this share of transitions, before BullMQ hears */
      crashAfterTransition: e.TEST_CRASH_AFTER_TRANSITION,
      /** tests only (stalled-out test): die right after these transitions, e.g. `handoff:chat` */
      crashAt: e.TEST_CRASH_AT,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    retentionSeconds: e.JOB_RETENTION_SECONDS,
    webhooks: {
      secrets: e.WEBHOOK_SECRET ? e.WEBHOOK_SECRET.split(',').map((s) => s.trim()) : [],
      allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE,
      /** a job may have a webhook_url with no signing secret for its client: outside production, or opted in */
      allowUnsigned: !production || e.ALLOW_UNSIGNED_WEBHOOKS,
    },
    /** API keys: with none defined the API runs open outside production, and in production only when opted in */
    auth: {
      allowOpen: !production || e.ALLOW_OPEN_API,
      initialKey: e.INITIAL_API_KEY,
    },
    /** the explicit production opt-ins that are set (each logged at boot) */
    optIns: (['ALLOW_OPEN_API', 'ALLOW_PUBLIC_METRICS', 'ALLOW_UNSIGNED_WEBHOOKS'] as const).filter(
      (name) => production && e[name],
    ),
    /** the queue dashboard (/admin/queues): open without a token only in development */
    admin: { token: e.ADMIN_TOKEN, readOnly: e.ADMIN_READ_ONLY },
    /**
     * Worker processes serve /metrics on `port` (0: off), and so does the API in production. `token` protects
     * /metrics everywhere when set. The API's public port serves it `open` (outside production, or
     * ALLOW_PUBLIC_METRICS), with the `token`, or not at all (`internal`: production's default).
     */
    metrics: {
      port: e.METRICS_PORT,
      token: e.METRICS_TOKEN,
      prices: e.PRICE_TABLE,
      /** usage and cost series carry a `client` label (off for scrapers shared between customers) */
      clientLabels: e.METRICS_CLIENT_LABELS,
      publicPort: (e.METRICS_TOKEN ? 'token' : !production || e.ALLOW_PUBLIC_METRICS ? 'open' : 'internal') as
        | 'token'
        | 'open'
        | 'internal',
      /** the API also listens on `port` (production: the metrics of an API pod are scraped there) */
      apiServesPort: production && e.METRICS_PORT > 0,
    },
    /** /readyz fails when a stage has no worker anywhere (off: reported only) */
    readyRequiresWorkers: e.READY_REQUIRES_WORKERS,
    /** a worker process exits 1 after this long without Redis, so its supervisor restarts it (0: never) */
    redisWatchdogMs: e.REDIS_WATCHDOG_MS,
  };
}

/** The address the API's start-up log names: 127.0.0.1 for a wildcard or loopback bind, else the bind host. */
export function defaultPublicUrl(host: string, port: number): string {
  if (['0.0.0.0', '::', '', 'localhost', '127.0.0.1', '::1'].includes(host))
    return `http://127.0.0.1:${port}`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
