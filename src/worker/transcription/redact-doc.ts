/**
 * The transcript document redacted on one timeline (issue 24): values found once, on the text
 * (redact.ts), mapped onto the segments and the words by character alignment (src/shared/redaction/align.ts).
 */
import { align, keyText, tokenKey } from '../../shared/redaction/align.ts';
import type { Span } from '../../shared/redaction/detect.ts';
import { placeholder, type Redaction, type RedactType } from '../../shared/transcript-options.ts';
import { type Entities, replace, spansIn, tokensOf, trailing } from './redact.ts';
import { round3, type Segment, type TranscriptDoc, type Word } from './transcript.ts';

/** A token that could hold a value (digits, a spoken digit, an @): never kept where it cannot be checked. */
const mayHoldValue = (t: string) => /[\d@]/.test(tokenKey(t)) || /@/.test(t);

/**
 * The document with every value of `types` replaced, and where each was. Redaction is decided once, on one
 * timeline: the values are found on the text; each one's characters are mapped onto the segments' tokens
 * and the words by character alignment (src/shared/redaction/align.ts); the placeholders in segments and
 * words, and each redaction's time, come from that mapping. A value every character of which lies on words
 * takes their times (`located: 'words'`); else the segments it falls in (`'segment'`), or, with no segment
 * to place it, the whole recording (`'recording'`). So `redactions` has one entry per value found: never
 * empty when the text was redacted.
 */
export function redactDoc(
  doc: TranscriptDoc,
  types: ReadonlySet<RedactType>,
  entities: Entities | undefined,
): { doc: TranscriptDoc; redactions: Redaction[] } {
  const tokens = tokensOf(doc.text);
  const spans = spansIn(tokens, types, entities);
  const out: TranscriptDoc = { ...doc, text: replace(tokens, spans).join(' ') };
  if (spans.length === 0) return { doc: out, redactions: [] };
  const text = keyText(tokens);
  /** per character of the text's key: the value it belongs to (-1: none) */
  const valueAt = new Int32Array(text.key.length).fill(-1);
  const ranges = spans.map((s, v) => {
    const from = text.starts[s.from] as number;
    const to = text.ends[s.to - 1] as number;
    valueAt.fill(v, from, to);
    return { from, to };
  });

  // Segments: their tokens aligned onto the text; a token touching a value becomes its placeholder.
  const segTokens: string[] = [];
  const segOwner: number[] = [];
  doc.segments.forEach((seg, i) => {
    for (const t of tokensOf(seg.text)) {
      segTokens.push(t);
      segOwner.push(i);
    }
  });
  const segs = align(text, segTokens);
  const segValue = valuesOf(segTokens.length, segs.owner, valueAt);
  const texts: string[][] = doc.segments.map(() => []);
  /** the placeholder of the value the previous token belonged to: a value read on goes into it */
  let open: { value: number; list: string[]; at: number } | undefined;
  segTokens.forEach((t, i) => {
    const v = segValue[i] as number;
    const seg = texts[segOwner[i] as number] as string[];
    if (v < 0) {
      open = undefined;
      if (segs.aligned[i] || !mayHoldValue(t)) seg.push(t);
      return;
    }
    const type = (spans[v] as Span).type;
    // the placeholder stands where the value starts and takes the trailing punctuation of its last token
    if (open?.value === v) open.list[open.at] = `${placeholder(type)}${trailing(t)}`;
    else {
      seg.push(`${placeholder(type)}${trailing(t)}`);
      open = { value: v, list: seg, at: seg.length - 1 };
    }
  });
  out.segments = doc.segments
    .map((s, i) => ({ ...s, text: (texts[i] ?? []).join(' ') }))
    .filter((s) => s.text !== '');

  // Each value's place on the timeline.
  const segmentsOf = (v: number) => {
    const { from, to } = ranges[v] as { from: number; to: number };
    const found = new Set<number>();
    for (let c = from; c < to; c++)
      if ((segs.owner[c] as number) >= 0) found.add(segOwner[segs.owner[c] as number] as number);
    if (found.size === 0 || !covered(segs.owner, from, to)) {
      // the segments on either side of what could not be placed
      const before = nearest(segs.owner, from - 1, -1);
      const after = nearest(segs.owner, to, 1);
      if (before >= 0) found.add(segOwner[before] as number);
      if (after >= 0) found.add(segOwner[after] as number);
    }
    return [...found].map((i) => doc.segments[i] as Segment);
  };
  const words = doc.words;
  const wordAlign = words
    ? align(
        text,
        words.map((w) => w.word),
      )
    : undefined;
  const held = spans.map((_, v) => {
    const { from, to } = ranges[v] as { from: number; to: number };
    return wordAlign ? wordsHolding(wordAlign.owner, from, to) : undefined;
  });
  // The same value said twice, one of them not on the words: which words are which is a guess, so neither
  // is placed on them (each is silenced with its segment).
  const valueKey = (v: number) => text.key.slice(ranges[v]?.from, ranges[v]?.to);
  spans.forEach((_, v) => {
    const twins = spans.flatMap((_, u) => (valueKey(u) === valueKey(v) ? [u] : []));
    if (twins.some((u) => held[u] === undefined)) for (const u of twins) held[u] = undefined;
  });
  const redactions: Redaction[] = spans.map((s, v) => {
    const placed = held[v];
    if (words && placed) {
      const touched = placed.map((i) => words[i] as Word);
      return {
        type: s.type,
        start: round3(Math.min(...touched.map((w) => w.start))),
        end: round3(Math.max(...touched.map((w) => w.end))),
        located: 'words',
      };
    }
    const segments = segmentsOf(v);
    if (segments.length === 0)
      return {
        type: s.type,
        start: doc.duration === null ? null : 0,
        end: doc.duration,
        located: 'recording',
      };
    return {
      type: s.type,
      start: round3(Math.min(...segments.map((x) => x.start))),
      end: round3(Math.max(...segments.map((x) => x.end))),
      located: 'segment',
    };
  });

  // Words: one placeholder per value, over the words that hold it; a word that is not on the text is
  // dropped where it could hold a value (digits, or inside a redacted time).
  if (words && wordAlign) {
    const wordValue = valuesOf(words.length, wordAlign.owner, valueAt);
    const inRedaction = (w: Word) =>
      redactions.some((r) => r.start === null || r.end === null || (w.start < r.end && w.end > r.start));
    const kept: Word[] = [];
    let last = -1;
    words.forEach((w, i) => {
      const v = wordValue[i] as number;
      if (v < 0) {
        last = -1;
        if (wordAlign.aligned[i] || (!mayHoldValue(w.word) && !inRedaction(w))) kept.push(w);
        return;
      }
      const previous = kept.at(-1);
      if (v === last && previous) previous.end = Math.max(previous.end, w.end);
      else kept.push({ ...w, word: placeholder((spans[v] as Span).type) });
      last = v;
    });
    out.words = kept;
  }
  return { doc: out, redactions };
}

/** Per token: the first value any of its characters belongs to (-1: none). */
function valuesOf(count: number, owner: Int32Array, valueAt: Int32Array): Int32Array {
  const out = new Int32Array(count).fill(-1);
  for (let c = 0; c < owner.length; c++) {
    const t = owner[c] as number;
    const v = valueAt[c] as number;
    if (t >= 0 && v >= 0 && out[t] === -1) out[t] = v;
  }
  return out;
}

const covered = (owner: Int32Array, from: number, to: number) => {
  for (let c = from; c < to; c++) if ((owner[c] as number) < 0) return false;
  return true;
};

/**
 * The words that hold characters [from, to) of the text — when every character lies on a word and those
 * words follow each other in the list (a gap means a word was matched out of place: not trusted).
 */
function wordsHolding(owner: Int32Array, from: number, to: number): number[] | undefined {
  if (!covered(owner, from, to)) return undefined;
  const held: number[] = [];
  for (let c = from; c < to; c++) if (held.at(-1) !== owner[c]) held.push(owner[c] as number);
  return held.every((w, k) => k === 0 || w === (held[k - 1] as number) + 1) ? held : undefined;
}

/** The token of the nearest covered character from `c` in direction `step` (-1: none). */
function nearest(owner: Int32Array, c: number, step: 1 | -1): number {
  for (let i = c; i >= 0 && i < owner.length; i += step)
    if ((owner[i] as number) >= 0) return owner[i] as number;
  return -1;
}
