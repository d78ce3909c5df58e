/**
 * Chunk transcripts → one transcript on the input's timeline: segment times shifted by where each chunk's
 * audio starts, and what two chunks both heard (their overlap) kept once.
 */
import type { ChunkPlan } from './chunk-plan.ts';
import { type PartialTranscript, round3, type Segment, type TranscriptDoc, type Word } from './transcript.ts';

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
  let words: Word[] | undefined;
  let lastEnd = 0;
  let lastWordEnd = 0;
  const push = (s: Segment) => {
    const start = Math.max(s.start, lastEnd);
    const end = Math.max(s.end, start);
    segments.push({ ...s, start: round3(start), end: round3(end) });
    lastEnd = end;
  };
  const pushWord = (w: Word) => {
    const start = Math.max(w.start, lastWordEnd);
    const end = Math.max(w.end, start);
    words?.push({ ...w, start: round3(start), end: round3(end) });
    lastWordEnd = end;
  };
  /** the previous chunk's timed segments (speaker labels already matched): the overlap is compared to them */
  let heard: Segment[] = [];
  plans.forEach((plan, i) => {
    const part = parts[i];
    if (!part) throw new Error(`chunk ${plan.index} has no transcript`);
    const isLast = i === plans.length - 1;
    const own = (t: number) => t >= plan.start && (isLast || t < plan.end);
    let timed: Segment[] = part.segments
      .map((s) => ({
        ...s,
        start: s.start + plan.audioStart,
        end: s.end + plan.audioStart,
        text: s.text.trim(),
      }))
      .filter((s) => s.text !== '');
    const rename = matchSpeakers(heard, timed);
    if (rename.size > 0) timed = timed.map((s) => (s.speaker ? { ...s, speaker: rename.get(s.speaker) } : s));
    heard = timed;
    if (part.words) {
      words ??= [];
      for (const w of part.words) {
        const shifted = { ...w, start: w.start + plan.audioStart, end: w.end + plan.audioStart };
        if (shifted.word.trim() !== '' && own((shifted.start + shifted.end) / 2)) pushWord(shifted);
      }
    }
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
  const doc: TranscriptDoc = {
    text: texts.filter(Boolean).join(' '),
    language: mostCommon(parts.map((p) => p.language)),
    duration: duration === null ? null : round3(duration),
    segments,
  };
  if (words) doc.words = words;
  return doc;
}

/**
 * Diarized chunks label their speakers on their own (A, B … per request). The next chunk's labels are
 * matched to the previous chunk's by how long they overlap in the audio both heard (greedy, longest
 * first); a label with no match keeps its name unless another label of the chunk was mapped to it.
 */
export function matchSpeakers(previous: Segment[], next: Segment[]): Map<string, string> {
  const rename = new Map<string, string>();
  const nextLabels = [...new Set(next.map((s) => s.speaker).filter((l): l is string => !!l))];
  if (nextLabels.length === 0) return rename;
  const scores = new Map<string, number>();
  for (const a of previous) {
    if (!a.speaker) continue;
    for (const b of next) {
      if (!b.speaker) continue;
      const overlap = Math.min(a.end, b.end) - Math.max(a.start, b.start);
      if (overlap > 0) {
        const key = `${b.speaker}\u0000${a.speaker}`;
        scores.set(key, (scores.get(key) ?? 0) + overlap);
      }
    }
  }
  const used = new Set<string>();
  for (const [key] of [...scores].sort((x, y) => y[1] - x[1])) {
    const [from, to] = key.split('\u0000') as [string, string];
    if (rename.has(from) || used.has(to)) continue;
    rename.set(from, to);
    used.add(to);
  }
  // No overlap evidence: the same label is taken to be the same speaker (chunks sent with the first chunk's
  // speaker references are labelled consistently by the API); a clash within this chunk gets a free letter.
  const free = (label: string) => !used.has(label);
  for (const label of nextLabels) {
    if (rename.has(label)) continue;
    let name = label;
    for (let k = 0; !free(name); k++) name = String.fromCharCode(65 + k);
    rename.set(label, name);
    used.add(name);
  }
  return rename;
}

function mostCommon(values: Array<string | null>): string | null {
  const counts = new Map<string, number>();
  for (const v of values) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  let n = 0;
  for (const [v, c] of counts) if (c > n) [best, n] = [v, c];
  return best;
}
