/** Turns `SimulatorOptions` (from code, env or POST /_sim/config) into the settings in force. */
import { REPLY_STYLES, type ReplyStyle } from './chat.ts';
import { LATENCY_PROFILES, type LatencyProfileName } from './latency-profile.ts';
import {
  ENDPOINTS,
  type Endpoint,
  type PerEndpoint,
  type ScriptedFault,
  type SimulatorConfig,
  type SimulatorOptions,
  TOOLS,
  type Tool,
} from './types.ts';

export const DEFAULT_CONFIG: SimulatorConfig = {
  latencyMs: { transcriptions: 0, chat: 0, speech: 0 },
  concurrency: { transcriptions: Infinity, chat: Infinity, speech: Infinity },
  rate429: 0,
  rate500: 0,
  rateTimeout: 0,
  rate400: 0,
  faultEndpoints: [...ENDPOINTS],
  retryAfterMs: 1000,
  seed: 1,
  requireApiKey: undefined,
  disableTools: [],
  recognizeMaxSeconds: 120,
  writtenForm: false,
  latencyProfile: 'none',
  replyStyle: 'echo',
};

export class ConfigValueError extends Error {
  override name = 'ConfigValueError';
}

const fail = (message: string): never => {
  throw new ConfigValueError(message);
};

const number = (name: string, v: unknown, min: number, max = Infinity): number => {
  // JSON cannot carry Infinity: null and "Infinity" both mean "no limit" where the max allows it.
  const n = v === null || v === 'Infinity' ? Infinity : v;
  if (typeof n !== 'number' || Number.isNaN(n) || n < min || n > max) {
    return fail(`${name} must be a number in [${min}, ${max}]`);
  }
  return n;
};

const perEndpoint = (
  name: string,
  v: unknown,
  current: PerEndpoint<number>,
  min: number,
): PerEndpoint<number> => {
  if (typeof v === 'object' && v !== null) {
    const next = { ...current };
    for (const [key, value] of Object.entries(v)) {
      if (!isEndpoint(key)) fail(`${name}.${key}: unknown endpoint (use ${ENDPOINTS.join(', ')})`);
      next[key as Endpoint] = number(`${name}.${key}`, value, min);
    }
    return next;
  }
  const n = number(name, v, min);
  return { transcriptions: n, chat: n, speech: n };
};

export const isEndpoint = (v: unknown): v is Endpoint => ENDPOINTS.includes(v as Endpoint);

const endpointList = (v: unknown): Endpoint[] => {
  const list = Array.isArray(v) ? v : [v];
  for (const e of list) if (!isEndpoint(e)) fail(`faultEndpoints: unknown endpoint ${String(e)}`);
  return list as Endpoint[];
};

const toolList = (v: unknown): Tool[] => {
  if (!Array.isArray(v)) return fail('disableTools must be an array');
  for (const t of v) if (!TOOLS.includes(t as Tool)) fail(`disableTools: unknown tool ${String(t)}`);
  return v as Tool[];
};

/** Validates one scripted fault (they also arrive as JSON from /_sim/config). */
export function checkFault(f: unknown): ScriptedFault {
  if (typeof f !== 'object' || f === null) return fail('failNext entries must be objects');
  const { endpoint, status, retryAfterMs, message, afterMs } = f as Record<string, unknown>;
  if (endpoint !== undefined && !isEndpoint(endpoint)) fail(`failNext: unknown endpoint ${String(endpoint)}`);
  if (
    status !== 'timeout' &&
    status !== 'cut' &&
    !(Number.isInteger(status) && (status as number) >= 400 && (status as number) < 600)
  ) {
    fail('failNext: status must be an HTTP error status (400-599), "timeout" or "cut"');
  }
  if (retryAfterMs !== undefined) number('failNext.retryAfterMs', retryAfterMs, 0);
  if (afterMs !== undefined) number('failNext.afterMs', afterMs, 0);
  if (message !== undefined && typeof message !== 'string') fail('failNext.message must be a string');
  return f as ScriptedFault;
}

/** Applies a partial set of options on top of `base`; throws ConfigValueError naming a bad value. */
export function applyOptions(base: SimulatorConfig, o: SimulatorOptions): SimulatorConfig {
  const c: SimulatorConfig = { ...base };
  if (o.latencyMs !== undefined) c.latencyMs = perEndpoint('latencyMs', o.latencyMs, c.latencyMs, 0);
  if (o.concurrency !== undefined)
    c.concurrency = perEndpoint('concurrency', o.concurrency, c.concurrency, 1);
  for (const key of ['rate429', 'rate500', 'rateTimeout', 'rate400'] as const) {
    if (o[key] !== undefined) c[key] = number(key, o[key], 0, 1);
  }
  if (c.rate429 + c.rate500 + c.rateTimeout + c.rate400 > 1) fail('the fault rates add up to more than 1');
  if (o.faultEndpoints !== undefined) c.faultEndpoints = endpointList(o.faultEndpoints);
  if (o.retryAfterMs !== undefined) c.retryAfterMs = number('retryAfterMs', o.retryAfterMs, 0);
  if (o.seed !== undefined) c.seed = number('seed', o.seed, 0, 2 ** 32);
  if (o.requireApiKey !== undefined) c.requireApiKey = o.requireApiKey || undefined;
  if (o.disableTools !== undefined) c.disableTools = toolList(o.disableTools);
  if (o.recognizeMaxSeconds !== undefined) {
    c.recognizeMaxSeconds = number('recognizeMaxSeconds', o.recognizeMaxSeconds, 1);
  }
  if (o.writtenForm !== undefined) {
    if (typeof o.writtenForm !== 'boolean') fail('writtenForm must be true or false');
    c.writtenForm = o.writtenForm;
  }
  if (o.latencyProfile !== undefined) {
    if (!LATENCY_PROFILES.includes(o.latencyProfile)) {
      fail(`latencyProfile must be one of ${LATENCY_PROFILES.join(', ')}`);
    }
    c.latencyProfile = o.latencyProfile;
  }
  if (o.replyStyle !== undefined) {
    if (!REPLY_STYLES.includes(o.replyStyle)) fail(`replyStyle must be one of ${REPLY_STYLES.join(', ')}`);
    c.replyStyle = o.replyStyle;
  }
  if (o.failNext !== undefined) {
    if (!Array.isArray(o.failNext)) fail('failNext must be an array');
    o.failNext.forEach(checkFault);
  }
  return c;
}

/** Options from the environment (see README.md); unknown or empty variables are ignored. */
export function optionsFromEnv(env: NodeJS.ProcessEnv): SimulatorOptions {
  const o: SimulatorOptions = {};
  const num = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    return Number.isNaN(n) ? fail(`${name} must be a number, got "${raw}"`) : n;
  };
  const list = (name: string) =>
    env[name]
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  o.port = num('SIM_PORT') ?? 4010;
  if (env.SIM_HOST) o.host = env.SIM_HOST;
  o.latencyMs = num('SIM_LATENCY_MS');
  o.concurrency = num('SIM_CONCURRENCY');
  o.rate429 = num('SIM_RATE_429');
  o.rate500 = num('SIM_RATE_500');
  o.rateTimeout = num('SIM_RATE_TIMEOUT');
  o.rate400 = num('SIM_RATE_400');
  o.retryAfterMs = num('SIM_RETRY_AFTER_MS');
  o.seed = num('SIM_SEED');
  o.recognizeMaxSeconds = num('SIM_RECOGNIZE_MAX_SECONDS');
  if (env.SIM_FAULT_ENDPOINTS) o.faultEndpoints = list('SIM_FAULT_ENDPOINTS') as Endpoint[];
  if (env.SIM_DISABLE_TOOLS) o.disableTools = list('SIM_DISABLE_TOOLS') as Tool[];
  if (env.SIM_API_KEY) o.requireApiKey = env.SIM_API_KEY;
  if (env.SIM_REPLY_STYLE) o.replyStyle = env.SIM_REPLY_STYLE as ReplyStyle;
  if (env.SIMULATOR_LATENCY) o.latencyProfile = env.SIMULATOR_LATENCY as LatencyProfileName;
  if (env.SIM_WRITTEN_FORM) o.writtenForm = env.SIM_WRITTEN_FORM === 'true';
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as SimulatorOptions;
}
