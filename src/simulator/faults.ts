/** Decides which requests fail: scripted faults first (in order), then seeded random draws. */
import { ApiError } from './http-util.ts';
import type { Endpoint, FaultKind, ScriptedFault, SimulatorConfig } from './types.ts';

export type Fault = (
  | { kind: 'timeout' | 'cut' }
  | { kind: Exclude<FaultKind, 'timeout' | 'cut'>; error: ApiError }
) & {
  /** answer only after this many ms (scripted faults with `afterMs`) */
  afterMs?: number;
};

/** mulberry32: a tiny seeded PRNG, so a benchmark sees the same faults on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function rateLimitError(retryAfterMs: number, message?: string): ApiError {
  return new ApiError(
    429,
    message ??
      'Rate limit reached for requests (simulated). Limit: 20, Used: 20, Requested: 1. Please try again later.',
    {
      type: 'requests',
      code: 'rate_limit_exceeded',
      headers: {
        'retry-after': String(Math.ceil(retryAfterMs / 1000)),
        'retry-after-ms': String(Math.round(retryAfterMs)),
        'x-ratelimit-limit-requests': '20',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': `${Math.round(retryAfterMs)}ms`,
      },
    },
  );
}

export function errorFor(status: number, retryAfterMs: number, message?: string): Fault {
  if (status === 429) return { kind: '429', error: rateLimitError(retryAfterMs, message) };
  if (status === 401) {
    const msg = message ?? 'Incorrect API key provided (simulated).';
    return { kind: '401', error: new ApiError(401, msg, { code: 'invalid_api_key' }) };
  }
  if (status === 400) {
    const msg = message ?? 'Invalid request (simulated fault).';
    return { kind: '400', error: new ApiError(400, msg, { code: 'invalid_value' }) };
  }
  if (status === 500) {
    const msg =
      message ?? 'The server had an error while processing your request. Sorry about that! (simulated fault)';
    return { kind: '500', error: new ApiError(500, msg) };
  }
  return { kind: 'other', error: new ApiError(status, message ?? `Simulated ${status} error.`) };
}

export class FaultInjector {
  #random: () => number;
  #script: ScriptedFault[] = [];

  constructor(seed: number) {
    this.#random = seeded(seed);
  }

  reseed(seed: number): void {
    this.#random = seeded(seed);
  }

  script(faults: ScriptedFault[]): void {
    this.#script.push(...faults.map((f) => ({ ...f })));
  }

  clear(): void {
    this.#script = [];
  }

  get pending(): readonly ScriptedFault[] {
    return this.#script;
  }

  /** The fault this request gets, if any; consumes a matching scripted fault. */
  next(endpoint: Endpoint, c: SimulatorConfig): Fault | undefined {
    const i = this.#script.findIndex((f) => f.endpoint === undefined || f.endpoint === endpoint);
    if (i >= 0) {
      const [f] = this.#script.splice(i, 1);
      if (f) {
        if (f.status === 'timeout') return { kind: 'timeout' };
        if (f.status === 'cut') return { kind: 'cut' };
        const fault = errorFor(f.status, f.retryAfterMs ?? c.retryAfterMs, f.message);
        return f.afterMs ? { ...fault, afterMs: f.afterMs } : fault;
      }
    }
    if (!c.faultEndpoints.includes(endpoint)) return undefined;
    const total = c.rate429 + c.rate500 + c.rateTimeout + c.rate400;
    if (total <= 0) return undefined;
    const r = this.#random();
    if (r < c.rate429) return errorFor(429, c.retryAfterMs);
    if (r < c.rate429 + c.rate500) return errorFor(500, 0);
    if (r < c.rate429 + c.rate500 + c.rateTimeout) return { kind: 'timeout' };
    if (r < total) return errorFor(400, 0);
    return undefined;
  }
}
