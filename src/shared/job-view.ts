import type { Config } from './config.ts';
import { ARTIFACTS, type ArtifactName, keys } from './job-files.ts';
import type { JobRecord } from './job-record.ts';
import { runOf } from './queue-registry.ts';
import type { Storage } from './storage/index.ts';
import { RENDERED_ARTIFACTS } from './transcript-files.ts';

/**
 * The job as clients see it, with a freshly signed `audio_url` (never stored: minted on every read).
 * `baseUrl`: the origin of local-storage links (the request's own when PUBLIC_URL is unset).
 */
export async function jobView(record: JobRecord, storage: Storage, config: Config, baseUrl?: string) {
  const ttl = config.storage.urlTtlSeconds;
  const live = !record.deleted_at;
  const audioUrl =
    record.audio_key && !record.deleted_at
      ? await storage.signedUrl(record.audio_key, ttl, { baseUrl })
      : null;
  const artifacts = await artifactUrls(record, storage, ttl, baseUrl);
  return {
    id: record.id,
    object: 'job' as const,
    status: record.status,
    stage: record.stage,
    pipeline: record.pipeline,
    created_at: record.created_at,
    updated_at: record.updated_at,
    finished_at: record.finished_at,
    attempt: runOf(record),
    retries: record.retries ?? 0,
    input: {
      kind: record.input_kind,
      type: record.input_type,
      bytes: record.input_bytes,
      url: record.input_kind === 'audio' && live ? await storage.signedUrl(keys.input(record.id), ttl) : null,
    },
    transcript: record.transcript,
    reply_text: record.reply_text,
    language: record.language,
    language_hint: record.language_hint,
    duration_seconds: record.duration_seconds,
    summary: record.summary,
    transcript_options: record.transcript_options,
    transcription_model: record.transcription_model,
    warnings: record.warnings ?? [],
    speakers: record.speakers,
    redactions: record.redactions,
    no_speech: record.no_speech ?? false,
    handled: record.handled_at !== null,
    handled_at: record.handled_at,
    audio_url: audioUrl,
    audio_url_expires_at: audioUrl ? new Date(Date.now() + ttl * 1000).toISOString() : null,
    artifacts,
    artifacts_expires_at: artifacts ? new Date(Date.now() + ttl * 1000).toISOString() : null,
    error: record.error,
    metadata: record.metadata,
    voice: record.voice,
    webhook_url: record.webhook_url,
    webhook: record.webhook,
    conversation_id: record.conversation_id,
    batch_id: record.batch_id,
    provider: record.provider,
    deleted_at: record.deleted_at,
    links: { self: `/v1/jobs/${record.id}`, events: `/v1/jobs/${record.id}/events` },
  };
}
export type JobView = Awaited<ReturnType<typeof jobView>>;

/**
 * Signed URLs of a job's outputs (transcript txt/json/srt/vtt, summary), minted like audio_url; the text
 * forms of the transcript are links to the API, which renders them from transcript.json.
 */
async function artifactUrls(
  record: JobRecord,
  storage: Storage,
  ttl: number,
  baseUrl: string | undefined,
): Promise<Partial<Record<ArtifactName, string>> | null> {
  if (!record.artifacts?.length || record.deleted_at) return null;
  const entries = await Promise.all(
    record.artifacts.map(async (name) => {
      const key = ARTIFACTS[name](record.id);
      // transcript.txt/.srt/.vtt are rendered by the API from transcript.json: its own link, on S3 too
      const link = RENDERED_ARTIFACTS.has(name) ? storage.fileLink : storage.signedUrl;
      return [name, await link.call(storage, key, ttl, { baseUrl })];
    }),
  );
  return Object.fromEntries(entries);
}
