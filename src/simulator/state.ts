/** Everything a running simulator holds: settings, fault script, concurrency gates, counters, caches. */
import { Toolbox } from './audio-tools.ts';
import { ByteCache } from './byte-cache.ts';
import { applyOptions, DEFAULT_CONFIG } from './config.ts';
import { FaultInjector } from './faults.ts';
import { type LatencyProfile, latencyProfile } from './latency-profile.ts';
import { Limiter } from './limiter.ts';
import { StatsRecorder } from './stats.ts';
import { Transcriber } from './transcribe.ts';
import {
  ENDPOINTS,
  type Endpoint,
  type PerEndpoint,
  type SimulatorConfig,
  type SimulatorOptions,
  type SimulatorStats,
  TOOLS,
} from './types.ts';

export class SimulatorState {
  readonly initial: SimulatorConfig;
  readonly #initialScript: SimulatorOptions['failNext'];
  config: SimulatorConfig;
  tools: Toolbox;
  readonly faults: FaultInjector;
  readonly limiters: PerEndpoint<Limiter>;
  readonly stats = new StatsRecorder();
  readonly transcriber = new Transcriber();
  readonly speechCache = new ByteCache();

  constructor(options: SimulatorOptions) {
    this.initial = applyOptions(DEFAULT_CONFIG, options);
    this.#initialScript = options.failNext;
    this.config = this.initial;
    this.tools = new Toolbox(this.config.disableTools);
    this.faults = new FaultInjector(this.config.seed);
    if (options.failNext) this.faults.script(options.failNext);
    const c = this.config.concurrency;
    this.limiters = {
      transcriptions: new Limiter(c.transcriptions),
      chat: new Limiter(c.chat),
      speech: new Limiter(c.speech),
    };
  }

  /** Applies options at run time; `failNext` entries are appended to the fault script. */
  configure(options: SimulatorOptions): SimulatorConfig {
    this.#apply(applyOptions(this.config, options));
    if (options.seed !== undefined) this.faults.reseed(this.config.seed);
    if (options.failNext) this.faults.script(options.failNext);
    return this.config;
  }

  /** Back to the options the simulator started with; counters and the fault script start over. */
  reset(): void {
    this.#apply(this.initial);
    this.faults.clear();
    this.faults.reseed(this.config.seed);
    if (this.#initialScript) this.faults.script(this.#initialScript);
    this.stats.reset();
    this.transcriber.cacheHits = 0;
    this.speechCache.hits = 0;
    for (const e of ENDPOINTS) this.limiters[e].resetMax();
  }

  #apply(next: SimulatorConfig): void {
    this.config = next;
    this.tools = new Toolbox(next.disableTools);
    for (const e of ENDPOINTS) this.limiters[e].setLimit(next.concurrency[e]);
  }

  /** The hosted-model latencies in force, when a profile is on. */
  profile(): LatencyProfile | undefined {
    return latencyProfile(this.config.latencyProfile);
  }

  latency(endpoint: Endpoint): number {
    return this.config.latencyMs[endpoint];
  }

  snapshot(): SimulatorStats {
    const per = <T>(f: (l: Limiter) => T): PerEndpoint<T> => ({
      transcriptions: f(this.limiters.transcriptions),
      chat: f(this.limiters.chat),
      speech: f(this.limiters.speech),
    });
    return {
      calls: { ...this.stats.calls },
      faults: { ...this.stats.faults },
      inFlight: per((l) => l.inFlight),
      maxInFlight: per((l) => l.maxInFlight),
      queued: per((l) => l.queued),
      cacheHits: { transcriptions: this.transcriber.cacheHits, speech: this.speechCache.hits },
      requests: this.stats.requests(),
      tools: Object.fromEntries(TOOLS.map((t) => [t, this.tools.has(t)])) as SimulatorStats['tools'],
      config: this.config,
      pendingFaults: this.faults.pending.length,
    };
  }
}
