/**
 * Diarized long audio keeps one label per speaker across chunks the way the API offers: the parent
 * transcribes the first chunk itself, cuts a clip of each speaker's longest segment (≤ 10 s) from it, and
 * every other chunk is sent with those clips as `known_speaker_references[]` under the first chunk's labels
 * (`known_speaker_names[]`, at most 4). Speakers first heard later get labels of the API's choosing; the
 * stitcher's overlap matching (stitch.ts) covers those.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keys } from '../../shared/job-files.ts';
import type { Storage } from '../../shared/storage/index.ts';
import { COMPACT, cut, type MediaTools } from './media.ts';
import type { Segment } from './transcript.ts';

/** The API takes up to 4 known speakers, each a 2–10 s clip. */
const MAX_SPEAKERS = 4;
const MIN_CLIP_SECONDS = 1.2;
const MAX_CLIP_SECONDS = 10;

export interface SpeakerReference {
  name: string;
  /** `data:audio/mpeg;base64,…` */
  audio: string;
}

/** Reference clips of the speakers of `segments` (times within `file`, a compact MP3 chunk). */
export async function speakerReferences(
  tools: MediaTools,
  file: string,
  segments: Segment[],
  dir: string,
  signal: AbortSignal,
): Promise<SpeakerReference[]> {
  const longest = new Map<string, Segment>();
  for (const s of segments) {
    if (!s.speaker) continue;
    const best = longest.get(s.speaker);
    if (!best || s.end - s.start > best.end - best.start) longest.set(s.speaker, s);
  }
  const refs: SpeakerReference[] = [];
  for (const [name, s] of [...longest].slice(0, MAX_SPEAKERS)) {
    if (s.end - s.start < MIN_CLIP_SECONDS) continue;
    const clip = join(dir, `speaker-${refs.length}.${COMPACT.ext}`);
    await cut(tools, file, clip, s.start, Math.min(s.end, s.start + MAX_CLIP_SECONDS), signal);
    refs.push({
      name: referenceName(name),
      audio: `data:${COMPACT.mime};base64,${(await readFile(clip)).toString('base64')}`,
    });
  }
  return refs;
}

/** Names unlike the API's own letters, so a speaker first heard in a later chunk cannot take one. */
export const referenceName = (label: string) => `speaker_${label}`;

/** The references stored with a job's chunk plan (none when the plan has none). */
export async function storedReferences(
  storage: Storage,
  jobId: string,
  signal: AbortSignal,
): Promise<SpeakerReference[]> {
  const text = await storage.getText(keys.chunkPlan(jobId), signal);
  if (!text) return [];
  return ((JSON.parse(text) as { speakers?: SpeakerReference[] }).speakers ?? []).slice(0, MAX_SPEAKERS);
}
