import OpenAI from 'openai';
import type { Config, ProviderConfig } from '../shared/config.ts';
import { instrumentedFetch } from '../shared/metrics.ts';
import type { Stage } from '../shared/pipelines.ts';

export type Providers = Record<Stage, { client: OpenAI; model: string }>;

/**
 * One openai client per stage, so each can point at its own OpenAI-compatible server and key.
 * `maxRetries: 0`: BullMQ owns retries; the SDK retrying too would multiply attempts and cost.
 */
export function createProviders(config: Config): Providers {
  const make = (p: ProviderConfig, stage: Stage) => ({
    client: new OpenAI({
      apiKey: p.apiKey ?? 'not-needed',
      baseURL: p.baseURL,
      maxRetries: 0,
      timeout: config.worker.settings[stage].timeoutMs,
      // Without this, fetch keeps a copy of every request body to replay it on a redirect: a 25 MB upload
      // would sit in memory twice. Providers answer, they do not redirect.
      fetchOptions: { redirect: 'error' },
      // times each request, counts errors by class and reads token/character usage (metrics)
      fetch: instrumentedFetch(stage, p.model, config.metrics.prices),
    }),
    model: p.model,
  });
  return {
    transcribe: make(config.providers.transcribe, 'transcribe'),
    chat: make(config.providers.chat, 'chat'),
    speak: make(config.providers.speak, 'speak'),
    summarize: make(config.providers.summarize, 'summarize'),
  };
}
