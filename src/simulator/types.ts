import type { ReplyStyle } from './chat.ts';
import type { LatencyProfileName } from './latency-profile.ts';

/** Shapes shared by the simulator's modules: options, scripted faults and the stats snapshot. */

export const ENDPOINTS = ['transcriptions', 'chat', 'speech'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

export type PerEndpoint<T> = Record<Endpoint, T>;

/** External programs the simulator may use; each one can be switched off to exercise the fallbacks. */
export const TOOLS = ['ffmpeg', 'ffprobe', 'festival', 'espeak-ng', 'pocketsphinx'] as const;
export type Tool = (typeof TOOLS)[number];

/**
 * The programs behind real recognition and speech. `disableTools: REAL_ENGINES` leaves the cheap
 * deterministic engines (a transcript naming the bytes' hash, a tone): for load-shaped runs — big batches,
 * chaos, many processes — where recognition and voice are not the subject.
 */
export const REAL_ENGINES: readonly Tool[] = ['pocketsphinx', 'festival', 'espeak-ng'];

/** One scripted fault, consumed by the next request to `endpoint` (or to any endpoint when omitted). */
export interface ScriptedFault {
  endpoint?: Endpoint;
  /**
   * An HTTP status (429, 500, 503, 400, 401 …), 'timeout' (accept, then never answer) or 'cut' (answer 200,
   * send the first part of the body, then close the connection: a response broken off mid-stream).
   */
  status: number | 'timeout' | 'cut';
  /** 429 only: value of the retry-after-ms header (retry-after is the same, rounded up to seconds). */
  retryAfterMs?: number;
  message?: string;
  /** Answer the error only after this many ms (a slow failure, e.g. a gateway timing out upstream). */
  afterMs?: number;
}

export interface SimulatorOptions {
  /** 127.0.0.1 unless set. */
  host?: string;
  /** 0 (any free port) unless set. */
  port?: number;
  /** Added before each request is handled, once it holds a concurrency slot. */
  latencyMs?: number | Partial<PerEndpoint<number>>;
  /** Max requests processed at once per endpoint; others wait in FIFO order. Infinity unless set. */
  concurrency?: number | Partial<PerEndpoint<number>>;
  /** Probabilities in [0, 1] of answering 429 / 500 / never / 400, drawn once per request. */
  rate429?: number;
  rate500?: number;
  rateTimeout?: number;
  rate400?: number;
  /** Restricts the random faults to these endpoints (all unless set). */
  faultEndpoints?: Endpoint | Endpoint[];
  /** retry-after-ms of random 429s (1000 unless set). */
  retryAfterMs?: number;
  /** Seed of the random fault draws, so runs are reproducible (1 unless set). */
  seed?: number;
  /** Scripted faults, consumed in order; `configure({ failNext })` appends to the queue. */
  failNext?: ScriptedFault[];
  /** When set, requests need `Authorization: Bearer <requireApiKey>` or get 401. */
  requireApiKey?: string;
  /** Programs to act as if missing (e.g. ['pocketsphinx'] for the fast deterministic transcript). */
  disableTools?: Tool[];
  /** Only the first N seconds of an upload are recognized (120 unless set); duration is still the whole. */
  recognizeMaxSeconds?: number;
  /**
   * Transcripts written as OpenAI's models write them: numbers in figures (`555-213-4478,`), punctuation,
   * and `verbose_json` words carrying both (see written-form.ts). Off unless set: the recogniser's words.
   */
  writtenForm?: boolean;
  /** `openai`: answer with the hosted models' latencies (latency-profile.ts); `none` unless set. */
  latencyProfile?: LatencyProfileName;
  /** `assistant`: plain chat replies shaped like a voice assistant's (chat.ts assistantReply); `echo` unless set. */
  replyStyle?: ReplyStyle;
}

/** The settings in force: every option resolved, per endpoint where that applies. */
export interface SimulatorConfig {
  latencyMs: PerEndpoint<number>;
  concurrency: PerEndpoint<number>;
  rate429: number;
  rate500: number;
  rateTimeout: number;
  rate400: number;
  faultEndpoints: Endpoint[];
  retryAfterMs: number;
  seed: number;
  requireApiKey: string | undefined;
  disableTools: Tool[];
  recognizeMaxSeconds: number;
  writtenForm: boolean;
  latencyProfile: LatencyProfileName;
  replyStyle: ReplyStyle;
}

export type FaultKind = '429' | '500' | '400' | '401' | 'timeout' | 'cut' | 'other';

export interface RequestRecord {
  endpoint: Endpoint | 'models' | 'other';
  /** Epoch milliseconds when the request arrived. */
  at: number;
  status: number;
  model: string | undefined;
  /** Milliseconds from arrival to the end of the response. */
  ms: number;
  /** Set when the answer was an injected fault. */
  fault?: FaultKind;
  /**
   * Transcriptions: the request's form fields (all but the file), e.g. `prompt`, `response_format`; chat: `user`,
   * the last user message; speech: `input` (texts cut to 200 characters).
   */
  params?: Record<string, string | string[]>;
}

export interface SimulatorStats {
  calls: PerEndpoint<number>;
  faults: Record<FaultKind, number>;
  inFlight: PerEndpoint<number>;
  maxInFlight: PerEndpoint<number>;
  queued: PerEndpoint<number>;
  /** Answers served from cache: transcriptions of bytes seen before, speech of a request seen before. */
  cacheHits: { transcriptions: number; speech: number };
  /** The last 1000 requests, oldest first. */
  requests: RequestRecord[];
  /** Programs in use (installed and not disabled). */
  tools: Record<Tool, boolean>;
  config: SimulatorConfig;
  /** Scripted faults not consumed yet. */
  pendingFaults: number;
}
