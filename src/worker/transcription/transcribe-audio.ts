/**
 * The transcribe stage's work. Audio is streamed from storage into a temp file and probed (ffprobe):
 * - within the provider's limits and in a format it takes → sent as it is, in one request;
 * - in a format it does not take (AMR, raw AAC …) or over the byte limit → transcoded to compact mono MP3;
 * - still longer than `TRANSCRIBE_CHUNK_SECONDS` (or over the byte limit) → cut at silences into chunks with
 *   a small overlap, stored, and transcribed in parallel as child jobs of this stage's BullMQ job (a flow);
 *   this job waits for them and stitches their transcripts onto one timeline.
 * The result is `transcript.json` (the checkpoint and the one stored transcript; the API renders its `.txt`,
 * `.srt` and `.vtt` on request).
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Queue, WaitingChildrenError } from 'bullmq';
import { extensionFor } from '../../shared/audio-types.ts';
import { PermanentError } from '../../shared/errors.ts';
import { type ArtifactName, chunkJobId, keys, stageQueueOptions } from '../../shared/stages.ts';
import type { StageContext, StageOutput } from '../stages/stage.ts';
import { channelLabel, mergeChannels } from './channels.ts';
import { type ChunkPlan, planChunks } from './chunk-plan.ts';
import type { ChunkPayload } from './chunk-worker.ts';
import {
  audioChannels,
  COMPACT,
  cut,
  MediaError,
  type MediaTools,
  measureDuration,
  probe,
  QUICK_INPUT_BYTES,
  quickProbe,
  transcodeCompact,
} from './media.ts';
import { providerExtension, transcribeFile } from './provider.ts';
import { ensureRedactedAudio } from './redact-audio.ts';
import { modelsOf, planRequest, type RequestPlan } from './request-plan.ts';
import { referenceName, type SpeakerReference, speakerReferences } from './speaker-references.ts';
import { measureSpeech } from './speech-presence.ts';
import { stitch } from './stitch.ts';
import { type PartialTranscript, type TranscriptDoc, toDoc, transcriptDocSchema } from './transcript.ts';
import { finishDoc, NO_SPEECH_SUMMARY, optionFields } from './transcript-features.ts';
import { localFile, type WorkDir, withWorkDir } from './workdir.ts';

/** Audio repeated on each side of a cut between chunks. */
const OVERLAP_SECONDS = 1;

/** `chunks/plan.json`: written once the chunks are stored; from then on a re-run only waits and stitches. */
interface ChunkPlanDoc {
  duration: number;
  /** channels split: each chunk holds one channel of the input */
  chunks: Array<ChunkPlan & { channel?: number }>;
  /** diarize: clips of the first chunk's speakers, sent with every other chunk */
  speakers?: SpeakerReference[];
}

/** The job's transcription request (model, words, diarize, prompt) and what it cannot honour. */
export const requestPlanFor = (ctx: Pick<StageContext, 'record' | 'providers' | 'config'>): RequestPlan =>
  planRequest(ctx.record.transcript_options, modelsOf(ctx.providers.transcribe.model, ctx.config));

export const TRANSCRIPT_ARTIFACTS: ArtifactName[] = [
  'transcript_txt',
  'transcript_json',
  'transcript_srt',
  'transcript_vtt',
];

export async function transcribeAudio(
  ctx: StageContext,
  chunkQueue: Queue<ChunkPayload>,
): Promise<StageOutput> {
  const { record, storage, signal } = ctx;
  const options = record.transcript_options;
  // A first run has no checkpoint to find: transcript.json (done) or the chunk plan (waiting on chunks).
  const stored = ctx.fresh ? undefined : await storage.getText(keys.transcriptJson(record.id), signal);
  if (stored !== undefined) {
    const doc = transcriptDocSchema.parse(JSON.parse(stored));
    if (options?.redact_audio && !doc.no_speech) await ensureRedactedAudio(ctx, doc.redactions ?? []);
    return publish(ctx, doc);
  }
  const planText = ctx.fresh ? undefined : await storage.getText(keys.chunkPlan(record.id), signal);
  const transcribed = planText
    ? await transcribeChunks(ctx, chunkQueue, JSON.parse(planText) as ChunkPlanDoc)
    : await withWorkDir((dir) => prepare(ctx, chunkQueue, dir));
  if (!transcribed.text && !transcribed.no_speech)
    throw new PermanentError('no_speech', 'No speech was found in the audio.');
  // Speaker names and redaction, before anything of the transcript is stored.
  const doc = await finishDoc(ctx, transcribed, options);
  await storage.put(keys.transcriptJson(record.id), JSON.stringify(doc), {
    contentType: 'application/json',
    signal,
  });
  if (options?.redact_audio && !doc.no_speech) await ensureRedactedAudio(ctx, doc.redactions ?? []);
  const output = await publish(ctx, doc);
  // The chunks' audio and transcripts are in transcript.json now; a failed delete is only clutter.
  if (planText)
    await storage
      .deletePrefix(keys.chunks(record.id))
      .catch((err) => ctx.log.warn({ err }, 'chunk cleanup failed'));
  return output;
}

/**
 * The record fields of a stored transcript (and a blank voicemail's summary). Its text forms (.txt, .srt,
 * .vtt) are listed but not stored: the API renders them from transcript.json when asked.
 */
async function publish(ctx: StageContext, doc: TranscriptDoc): Promise<StageOutput> {
  const { record, storage, signal } = ctx;
  const artifacts: ArtifactName[] = [...(record.artifacts ?? []), ...TRANSCRIPT_ARTIFACTS];
  if (record.transcript_options?.redact_audio && !doc.no_speech) artifacts.push('redacted_audio');
  // A blank voicemail still gets its summary (saying so); the pipeline ends here (see stage-runner).
  const blankSummary = doc.no_speech && record.pipeline === 'voicemail' ? NO_SPEECH_SUMMARY : undefined;
  if (blankSummary) {
    artifacts.push('summary_json');
    await storage.put(keys.summary(record.id), JSON.stringify(blankSummary, null, 2), {
      contentType: 'application/json',
      signal,
    });
  }
  const plan = requestPlanFor(ctx);
  return {
    transcript: doc.text,
    language: doc.language ?? record.language_hint,
    duration_seconds: doc.duration,
    artifacts: [...new Set(artifacts)],
    ...(blankSummary ? { summary: blankSummary } : {}),
    ...optionFields(record, doc, plan.options, plan.warnings),
    // nothing was sent for a recording without speech
    transcription_model: doc.no_speech ? null : plan.model,
  };
}

function mediaFailure(err: unknown, what: string): never {
  if (err instanceof MediaError && err.missing)
    throw new PermanentError('transcoder_unavailable', `${err.message}: it is needed to ${what}.`, {
      cause: err,
    });
  if (err instanceof MediaError)
    throw new PermanentError('unreadable_audio', `The audio could not be read (${what}): ${err.message}`, {
      cause: err,
    });
  throw err;
}

/** Downloads and probes the input, then transcribes it whole or fans out into chunks. */
async function prepare(
  ctx: StageContext,
  chunkQueue: Queue<ChunkPayload>,
  dir: WorkDir,
): Promise<TranscriptDoc> {
  const { record, storage, config, signal, log } = ctx;
  const limits = config.transcription;
  const tools: MediaTools = limits.tools;
  const { request } = requestPlanFor(ctx);
  const options = record.transcript_options;
  /** The input itself, to the provider (a format it takes, within its upload limit). */
  const transcribeInput = async (duration: number | null) =>
    toDoc(
      await transcribeFile(
        ctx.providers.transcribe,
        {
          path: input,
          name: `input.${ext}`,
          mime: record.input_type ?? 'application/octet-stream',
          data,
        },
        { language: record.language_hint, signal, request },
      ),
      duration,
    );
  /** Unprobed (its duration comes from the provider), after the blank-recording check. */
  const sendAsIs = async () => {
    if (await isBlank(undefined)) return blank(undefined);
    return transcribeInput(null);
  };
  /**
   * Blank recordings end here, before any provider call. Not measurable (no ffmpeg, or it cannot decode
   * what the provider may still take): sent as before, the provider decides.
   */
  const isBlank = async (duration: number | undefined) => {
    const presence = await measureSpeech(tools, input, duration, signal, data).catch((err: unknown) => {
      if (signal.aborted) throw err;
      if (!(err instanceof MediaError && err.missing))
        log.warn({ err }, 'speech not measured: sent as it is');
      return undefined;
    });
    if (presence && !presence.speech) log.info({ ...presence }, 'no speech in the input: not transcribed');
    return presence !== undefined && !presence.speech;
  };
  const blank = (duration: number | undefined): TranscriptDoc => ({
    text: '',
    language: record.language_hint,
    duration: duration ?? null,
    segments: [],
    no_speech: true,
  });
  const input = await localFile(storage, keys.input(record.id), dir, 'input', signal);
  const bytes = record.input_bytes ?? (await stat(input)).size;
  // A small input (most voicemail) is read once: probed, measured and sent from memory. Larger ones stream.
  const data = bytes <= QUICK_INPUT_BYTES ? await readFile(input, { signal }) : undefined;
  const ext = providerExtension(record.input_type);
  const quick =
    ext && bytes <= limits.maxUploadBytes
      ? await quickProbe(input, record.input_type, bytes, data)
      : undefined;
  const info =
    quick ??
    (await probe(tools, input, signal).catch((err: unknown) => {
      // Without ffprobe, small audio in a format the provider takes still goes through as it is.
      if (err instanceof MediaError && err.missing && ext && bytes <= limits.maxUploadBytes) return undefined;
      return mediaFailure(err, 'probe the input');
    }));
  if (!info) {
    log.warn({ err: `${tools.ffprobe} is not installed` }, 'audio not probed: sent as it is');
    if (options?.channels === 'split')
      throw new PermanentError('transcoder_unavailable', 'channels: "split" needs ffprobe and ffmpeg.');
    return sendAsIs();
  }
  if (!info.hasAudio) throw new PermanentError('unreadable_audio', 'The file holds no audio stream.');
  if (quick && quick.duration === undefined && options?.channels !== 'split') {
    // Small, in a format the provider takes: too short to need chunking; the provider reports its duration.
    return sendAsIs();
  }
  const duration =
    info.duration ??
    (await measureDuration(tools, input, signal).catch((err) => mediaFailure(err, 'measure the input')));
  if (duration > limits.maxAudioSeconds) {
    throw new PermanentError(
      'audio_too_long',
      `The audio is ${Math.round(duration)} s long; at most ${limits.maxAudioSeconds} s (MAX_AUDIO_SECONDS) can be transcribed.`,
    );
  }
  if (await isBlank(duration)) return blank(duration);
  if (options?.channels === 'split') return splitChannels(ctx, chunkQueue, await dir(), input, duration);
  if (ext && bytes <= limits.maxUploadBytes && duration <= limits.chunkSeconds)
    return transcribeInput(duration);
  // Transcode: a format the provider does not take, too many bytes, or too long for one request.
  const work = await dir();
  const compact = join(work, `compact.${COMPACT.ext}`);
  const long = duration > limits.chunkSeconds;
  const started = Date.now();
  const silences = await transcodeCompact(tools, input, compact, {
    detectSilence: long,
    duration,
    signal,
  }).catch((err) => mediaFailure(err, `transcode ${extensionFor(record.input_type)} audio`));
  const compactBytes = (await stat(compact)).size;
  log.info(
    {
      from: record.input_type,
      bytes,
      compact_bytes: compactBytes,
      seconds: duration,
      ms: Date.now() - started,
    },
    'audio transcoded',
  );
  if (!long && compactBytes <= limits.maxUploadBytes) {
    const part = await transcribeFile(
      ctx.providers.transcribe,
      { path: compact, name: `input.${COMPACT.ext}`, mime: COMPACT.mime },
      { language: record.language_hint, signal, request },
    );
    return toDoc(part, duration);
  }
  // Chunks: short enough for the duration setting and, at the compact bitrate, for the byte limit.
  const bytesPerSecond = compactBytes / Math.max(duration, 1);
  const maxSeconds = Math.min(
    limits.chunkSeconds,
    Math.floor((limits.maxUploadBytes * 0.9) / bytesPerSecond),
  );
  const chunks = planChunks(duration, silences, { maxSeconds, overlapSeconds: OVERLAP_SECONDS });
  for (const c of chunks) {
    const file = join(work, `chunk-${c.index}.${COMPACT.ext}`);
    await cut(tools, compact, file, c.audioStart, c.audioEnd, signal).catch((err) =>
      mediaFailure(err, 'cut chunks'),
    );
    await storage.put(keys.chunkAudio(record.id, c.index, COMPACT.ext), createReadStream(file), {
      contentType: COMPACT.mime,
      signal,
    });
  }
  const plan: ChunkPlanDoc = { duration, chunks };
  if (request.diarize && chunks.length > 1) {
    // The first chunk here, now: its speakers' clips go with every other chunk (one label per speaker).
    const first = join(work, `chunk-0.${COMPACT.ext}`);
    const part = await transcribeFile(
      ctx.providers.transcribe,
      { path: first, name: `chunk-0.${COMPACT.ext}`, mime: COMPACT.mime },
      { language: record.language_hint, signal, request },
    );
    await storage.put(keys.chunkTranscript(record.id, 0), JSON.stringify(part), {
      contentType: 'application/json',
      signal,
    });
    plan.speakers = await speakerReferences(tools, first, part.segments, work, signal).catch((err) =>
      mediaFailure(err, 'cut speaker references'),
    );
  }
  await storage.put(keys.chunkPlan(record.id), JSON.stringify(plan), {
    contentType: 'application/json',
    signal,
  });
  log.info(
    { chunks: chunks.length, silences: silences.length, seconds: duration, speakers: plan.speakers?.length },
    'audio split into chunks',
  );
  return transcribeChunks(ctx, chunkQueue, plan);
}

/**
 * Adds the chunk jobs as children of this stage's BullMQ job (once, atomically), waits for them (the job
 * moves to waiting-children and is processed again when they are done), then stitches their transcripts.
 */
async function transcribeChunks(
  ctx: StageContext,
  chunkQueue: Queue<ChunkPayload>,
  plan: ChunkPlanDoc,
): Promise<TranscriptDoc> {
  const { record, storage, signal, job, token } = ctx;
  const read = () =>
    Promise.all(
      plan.chunks.map(async (c) => {
        const text = await storage.getText(keys.chunkTranscript(record.id, c.index), signal);
        return text === undefined ? undefined : (JSON.parse(text) as PartialTranscript);
      }),
    );
  let parts = await read();
  if (parts.some((p) => p === undefined)) {
    if (!job?.id || !token) throw new Error('chunked transcription needs its BullMQ job');
    const deps = await job.getDependenciesCount();
    const known = (deps.processed ?? 0) + (deps.unprocessed ?? 0) + (deps.ignored ?? 0) + (deps.failed ?? 0);
    if (known === 0) {
      await chunkQueue.addBulk(
        plan.chunks
          .filter((_, i) => parts[i] === undefined)
          .map((c) => ({
            name: 'chunk',
            data: { jobId: record.id, index: c.index, count: plan.chunks.length },
            opts: {
              jobId: chunkJobId(record.id, c.index),
              parent: { id: job.id as string, queue: job.queueQualifiedName },
              // A chunk that fails for good fails the job itself; the parent must not hang on it.
              ignoreDependencyOnFailure: true,
              ...stageQueueOptions(record.mode, record.priority),
            },
          })),
      );
    }
    if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
    parts = await read();
    const missing = plan.chunks.filter((_, i) => parts[i] === undefined);
    if (missing.length > 0) {
      const failures = Object.values(await job.getIgnoredChildrenFailures());
      throw new PermanentError(
        'chunk_failed',
        `${missing.length} of ${plan.chunks.length} chunks could not be transcribed${failures[0] ? `: ${failures[0]}` : '.'}`,
      );
    }
  }
  const done = parts as PartialTranscript[];
  const channels = [...new Set(plan.chunks.map((c) => c.channel))];
  if (channels.length === 1 && channels[0] === undefined) {
    if (!plan.speakers?.length) return stitch(plan.chunks, done, plan.duration);
    // diarized with references: the first chunk's labels become the reference names the others were given
    const [first, ...rest] = done;
    const renamed = first && {
      ...first,
      segments: first.segments.map((s) => (s.speaker ? { ...s, speaker: referenceName(s.speaker) } : s)),
    };
    return relabel(stitch(plan.chunks, renamed ? [renamed, ...rest] : rest, plan.duration));
  }
  // channels split: each channel stitched on its own, then merged in time order
  const docs = channels.map((ch) => {
    const picked = plan.chunks.flatMap((c, i) =>
      c.channel === ch ? [[c, done[i] as PartialTranscript] as const] : [],
    );
    return stitch(
      picked.map(([c]) => c),
      picked.map(([, p]) => p),
      plan.duration,
    );
  });
  return mergeChannels(docs, record.transcript_options?.channel_labels ?? []);
}

/**
 * `channels: "split"`: each channel transcoded on its own (ffmpeg `pan`) and transcribed — in one request
 * each when short, else cut into chunks tagged with their channel — then merged on one timeline.
 */
async function splitChannels(
  ctx: StageContext,
  chunkQueue: Queue<ChunkPayload>,
  dir: string,
  input: string,
  duration: number,
): Promise<TranscriptDoc> {
  const { record, storage, config, signal, log } = ctx;
  const limits = config.transcription;
  const tools = limits.tools;
  const count = await audioChannels(tools, input, signal).catch((err) => mediaFailure(err, 'count channels'));
  if ((count ?? 1) < 2)
    throw new PermanentError(
      'mono_input',
      `channels: "split" needs a stereo recording (one speaker per channel); this one has ${count ?? 1} channel. Use diarize: true for a mono recording of several speakers.`,
    );
  const { request } = requestPlanFor(ctx);
  const labels = record.transcript_options?.channel_labels ?? [];
  const long = duration > limits.chunkSeconds;
  const docs: TranscriptDoc[] = [];
  const chunks: ChunkPlanDoc['chunks'] = [];
  for (const channel of [0, 1]) {
    const compact = join(dir, `channel-${channel}.${COMPACT.ext}`);
    const silences = await transcodeCompact(tools, input, compact, {
      detectSilence: long,
      duration,
      signal,
      channel,
    }).catch((err) => mediaFailure(err, `extract channel ${channel}`));
    if (!long && (await stat(compact)).size <= limits.maxUploadBytes) {
      const part = await transcribeFile(
        ctx.providers.transcribe,
        { path: compact, name: `channel-${channel}.${COMPACT.ext}`, mime: COMPACT.mime },
        { language: record.language_hint, signal, request },
      );
      docs.push(toDoc(part, duration));
      continue;
    }
    const bytesPerSecond = (await stat(compact)).size / Math.max(duration, 1);
    const maxSeconds = Math.min(
      limits.chunkSeconds,
      Math.floor((limits.maxUploadBytes * 0.9) / bytesPerSecond),
    );
    for (const c of planChunks(duration, silences, { maxSeconds, overlapSeconds: OVERLAP_SECONDS })) {
      const index = chunks.length;
      const file = join(dir, `chunk-${index}.${COMPACT.ext}`);
      await cut(tools, compact, file, c.audioStart, c.audioEnd, signal).catch((err) =>
        mediaFailure(err, 'cut chunks'),
      );
      await storage.put(keys.chunkAudio(record.id, index, COMPACT.ext), createReadStream(file), {
        contentType: COMPACT.mime,
        signal,
      });
      chunks.push({ ...c, index, channel });
    }
  }
  if (chunks.length === 0) return mergeChannels(docs, labels);
  if (docs.length > 0) throw new Error('a channel was transcribed whole and the other in chunks');
  const plan: ChunkPlanDoc = { duration, chunks };
  await storage.put(keys.chunkPlan(record.id), JSON.stringify(plan), {
    contentType: 'application/json',
    signal,
  });
  log.info(
    { chunks: chunks.length, channels: [0, 1].map((c) => channelLabel(labels, c)), seconds: duration },
    'channels split into chunks',
  );
  return transcribeChunks(ctx, chunkQueue, plan);
}

/** Speaker labels A, B, C … in order of first appearance (as the API labels one request's speakers). */
function relabel(doc: TranscriptDoc): TranscriptDoc {
  const order: string[] = [];
  for (const s of doc.segments) if (s.speaker && !order.includes(s.speaker)) order.push(s.speaker);
  const name = (label: string | undefined) =>
    label === undefined ? undefined : String.fromCharCode(65 + order.indexOf(label));
  return { ...doc, segments: doc.segments.map((s) => (s.speaker ? { ...s, speaker: name(s.speaker) } : s)) };
}
