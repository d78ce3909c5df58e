/**
 * Chunk transcripts → one transcript on the input's timeline: segment times shifted by where each chunk's
 * audio starts, and what two chunks both heard (their overlap) kept once.
 */
import type { ChunkPlan } from './chunk-plan.ts';
import { type PartialTranscript, round3, type Segment, type TranscriptDoc } from './transcript.ts';

/** Longest run of words looked for at a text-only seam. */
const MAX_SEAM_WORDS = 40;

const norm = (w: string) => w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, '');

/**
 * Without timestamps, the overlap shows as the same words ending one chunk and starting the next: drops
 * the longest such run (at least two words, or one word of four or more letters) from the start of `next`.
 */
export function dropSeamDuplicate(previous: string, next: string): string {
  const prev = previous.split(/\s+/).filter(Boolean).slice(-MAX_SEAM_WORDS).map(norm);
  const words = next.split(/\s+/).filter(Boolean);
  const head = words.slice(0, MAX_SEAM_WORDS).map(norm);
  for (let k = Math.min(prev.length, head.length); k >= 1; k--) {
    const tail = prev.slice(prev.length - k);
    if (!tail.every((w, i) => w !== '' && w === head[i])) continue;
    if (k === 1 && (tail[0]?.length ?? 0) < 4) break;
    return words.slice(k).join(' ');
  }
  return next;
}

/**
 * Stitches chunk transcripts in plan order. With segments: each is shifted by its chunk's `audioStart`
 * and kept only by the chunk that owns its midpoint (so the overlap's duplicates go), then clamped so
 * times never go backwards. Without: the texts are joined with seam duplicates dropped, each chunk one
 * segment over the span it owns.
 */
export function stitch(
  plans: ChunkPlan[],
  parts: PartialTranscript[],
  duration: number | null,
): TranscriptDoc {
  const segments: Segment[] = [];
  const texts: string[] = [];
  let lastEnd = 0;
  const push = (s: Segment) => {
    const start = Math.max(s.start, lastEnd);
    const end = Math.max(s.end, start);
    segments.push({ start: round3(start), end: round3(end), text: s.text });
    lastEnd = end;
  };
  plans.forEach((plan, i) => {
    const part = parts[i];
    if (!part) throw new Error(`chunk ${plan.index} has no transcript`);
    const isLast = i === plans.length - 1;
    const own = (t: number) => t >= plan.start && (isLast || t < plan.end);
    const timed = part.segments
      .map((s) => ({ start: s.start + plan.audioStart, end: s.end + plan.audioStart, text: s.text.trim() }))
      .filter((s) => s.text !== '');
    if (timed.length > 0) {
      const kept = timed.filter((s) => own((s.start + s.end) / 2));
      for (const s of kept) push(s);
      texts.push(kept.map((s) => s.text).join(' '));
      return;
    }
    const previous = texts.filter(Boolean).at(-1) ?? '';
    const text = dropSeamDuplicate(previous, part.text.trim());
    texts.push(text);
    if (text) push({ start: plan.start, end: plan.end, text });
  });
  return {
    text: texts.filter(Boolean).join(' '),
    language: mostCommon(parts.map((p) => p.language)),
    duration: duration === null ? null : round3(duration),
    segments,
  };
}

function mostCommon(values: Array<string | null>): string | null {
  const counts = new Map<string, number>();
  for (const v of values) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  let n = 0;
  for (const [v, c] of counts) if (c > n) [best, n] = [v, c];
  return best;
}
