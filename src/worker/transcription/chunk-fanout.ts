/**
 * Chunk fan-out: the stored chunks become child jobs of this stage's BullMQ job (a flow), transcribed in
 * parallel by the chunk workers (chunk-worker.ts); this job waits for them and stitches their transcripts
 * onto one timeline — per channel for a split recording, with one label per speaker when diarized.
 */
import { type Queue, WaitingChildrenError } from 'bullmq';
import { PermanentError } from '../../shared/errors.ts';
import { keys } from '../../shared/job-files.ts';
import { chunkJobId, runOf, stageQueueOptions } from '../../shared/queue-registry.ts';
import type { StageContext } from '../stages/stage.ts';
import { mergeChannels } from './channels.ts';
import type { ChunkPlanDoc } from './chunk-storage.ts';
import type { ChunkPayload } from './chunk-worker.ts';
import { referenceName } from './speaker-references.ts';
import { stitch } from './stitch.ts';
import type { PartialTranscript, TranscriptDoc } from './transcript.ts';

/**
 * Adds the chunk jobs as children of this stage's BullMQ job (once, atomically), waits for them (the job
 * moves to waiting-children and is processed again when they are done), then stitches their transcripts.
 */
export async function transcribeChunks(
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
              jobId: chunkJobId(record.id, c.index, runOf(record)),
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

/** Speaker labels A, B, C … in order of first appearance (as the API labels one request's speakers). */
function relabel(doc: TranscriptDoc): TranscriptDoc {
  const order: string[] = [];
  for (const s of doc.segments) if (s.speaker && !order.includes(s.speaker)) order.push(s.speaker);
  const name = (label: string | undefined) =>
    label === undefined ? undefined : String.fromCharCode(65 + order.indexOf(label));
  return { ...doc, segments: doc.segments.map((s) => (s.speaker ? { ...s, speaker: name(s.speaker) } : s)) };
}
