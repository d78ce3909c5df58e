/**
 * A rough speaker split for `gpt-4o-transcribe-diarize`: the median pitch (autocorrelation F0 of the voiced
 * frames) of each recognised segment, two clusters of log-pitch (2-means), labels in order of first
 * appearance. Two voices of clearly different pitch (e.g. a female and a male voice) separate well; two
 * voices of similar pitch come out as one speaker. Real diarization models compare voice embeddings.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toRecognizerWav } from './audio-tools.ts';
import type { Segment } from './recognize.ts';

/** The recogniser's WAV: 16 kHz mono 16-bit PCM with a 44-byte header. */
const RATE = 16_000;
const HEADER = 44;
/** Pitch is measured at 8 kHz: plenty for 60–400 Hz voices, a quarter of the work. */
const DOWN = 2;
const FRAME = 256; // 32 ms at 8 kHz
const HOP = 128;
const MIN_HZ = 60;
const MAX_HZ = 400;
/** Two cluster centres closer than this ratio are one speaker. */
const SAME_SPEAKER_RATIO = 1.18;
/** A segment within this pitch ratio of a known speaker's reference is that speaker. */
const REFERENCE_RATIO = 1.25;

/** Median pitch (Hz) of a `known_speaker_references[]` entry (a data URL of audio); NaN when unreadable. */
export async function referencePitch(dataUrl: string, dir: string, index: number): Promise<number> {
  const m = /^data:[^;,]*(?:;[^,]*)?;base64,(.*)$/s.exec(dataUrl);
  if (!m?.[1]) return Number.NaN;
  const raw = join(dir, `reference-${index}`);
  const wav = join(dir, `reference-${index}.wav`);
  await writeFile(raw, Buffer.from(m[1], 'base64'));
  try {
    await toRecognizerWav(raw, wav, 30);
  } catch {
    return Number.NaN;
  }
  const seconds = ((await stat(wav)).size - 44) / 32_000;
  const [pitch] = await segmentPitches(wav, [{ start: 0, end: seconds, text: '', words: [] }]);
  return pitch ?? Number.NaN;
}

/**
 * Labels per segment with known speakers: the nearest reference pitch (within REFERENCE_RATIO) names a
 * segment; the others are labelled as unknown speakers (two clusters, letters).
 */
export function labelWithReferences(
  pitches: number[],
  references: Array<{ name: string; pitch: number }>,
): string[] {
  const known = references.filter((r) => Number.isFinite(r.pitch) && r.pitch > 0);
  const named = pitches.map((p) => {
    if (!Number.isFinite(p) || p <= 0) return undefined;
    let best: { name: string; d: number } | undefined;
    for (const r of known) {
      const d = Math.abs(Math.log(p) - Math.log(r.pitch));
      if (d < Math.log(REFERENCE_RATIO) && (!best || d < best.d)) best = { name: r.name, d };
    }
    return best?.name;
  });
  const rest = labelSpeakers(pitches.map((p, i) => (named[i] === undefined ? p : Number.NaN)));
  const out = named.map((n, i) => n ?? (Number.isFinite(pitches[i] as number) ? rest[i] : undefined));
  // unvoiced segments take a neighbour's label
  for (let i = 0; i < out.length; i++) out[i] ??= out[i - 1];
  for (let i = out.length - 1; i >= 0; i--) out[i] ??= out[i + 1] ?? known[0]?.name ?? 'A';
  return out as string[];
}

/** Median F0 (Hz) of each segment's voiced frames; NaN when a segment has none. */
export async function segmentPitches(wavPath: string, segments: Segment[]): Promise<number[]> {
  const buf = await readFile(wavPath);
  const n = Math.floor((buf.length - HEADER) / 2 / DOWN);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const at = HEADER + i * DOWN * 2;
    x[i] = (buf.readInt16LE(at) + buf.readInt16LE(Math.min(at + 2, buf.length - 2))) / 65536;
  }
  const rate = RATE / DOWN;
  return segments.map((s) => {
    const from = Math.max(0, Math.floor(s.start * rate));
    const to = Math.min(n, Math.ceil(s.end * rate));
    const f0s: number[] = [];
    for (let at = from; at + FRAME <= to; at += HOP) {
      const f0 = framePitch(x, at, rate);
      if (f0 !== undefined) f0s.push(f0);
    }
    f0s.sort((a, b) => a - b);
    return f0s.length > 0 ? (f0s[Math.floor(f0s.length / 2)] as number) : Number.NaN;
  });
}

/** Autocorrelation pitch of one frame, or undefined when it is quiet or not clearly periodic. */
function framePitch(x: Float32Array, at: number, rate: number): number | undefined {
  let energy = 0;
  for (let i = 0; i < FRAME; i++) energy += (x[at + i] as number) ** 2;
  if (energy / FRAME < 1e-4) return undefined;
  const minLag = Math.floor(rate / MAX_HZ);
  const maxLag = Math.ceil(rate / MIN_HZ);
  let best = 0;
  let bestLag = 0;
  for (let lag = minLag; lag <= maxLag && lag < FRAME; lag++) {
    let sum = 0;
    for (let i = 0; i + lag < FRAME; i++) sum += (x[at + i] as number) * (x[at + i + lag] as number);
    const r = sum / (FRAME - lag);
    if (r > best) [best, bestLag] = [r, lag];
  }
  // voiced: the best lag correlates at least half as much as the frame with itself
  if (bestLag === 0 || best < 0.5 * (energy / FRAME)) return undefined;
  return rate / bestLag;
}

/**
 * Labels per segment: two clusters of log-pitch when their centres differ enough, else one. Segments
 * without a pitch take their neighbour's label. Labels are `names` in order of first appearance, then
 * A, B, … as the real API labels unknown speakers.
 */
export function labelSpeakers(pitches: number[], names: string[] = []): string[] {
  const logs = pitches.map((p) => (Number.isFinite(p) && p > 0 ? Math.log(p) : Number.NaN));
  const known = logs.filter((v) => !Number.isNaN(v));
  if (known.length === 0) return pitches.map(() => names[0] ?? 'A');
  let lo = Math.min(...known);
  let hi = Math.max(...known);
  for (let iter = 0; iter < 20; iter++) {
    const a = known.filter((v) => Math.abs(v - lo) <= Math.abs(v - hi));
    const b = known.filter((v) => Math.abs(v - lo) > Math.abs(v - hi));
    if (a.length === 0 || b.length === 0) break;
    lo = a.reduce((s, v) => s + v, 0) / a.length;
    hi = b.reduce((s, v) => s + v, 0) / b.length;
  }
  const two = hi - lo > Math.log(SAME_SPEAKER_RATIO);
  const cluster = logs.map((v) =>
    Number.isNaN(v) ? -1 : two && Math.abs(v - lo) > Math.abs(v - hi) ? 1 : 0,
  );
  for (let i = 0; i < cluster.length; i++) if (cluster[i] === -1) cluster[i] = cluster[i - 1] ?? -1;
  for (let i = cluster.length - 1; i >= 0; i--) if (cluster[i] === -1) cluster[i] = cluster[i + 1] ?? 0;
  const order: number[] = [];
  for (const c of cluster) if (!order.includes(c)) order.push(c);
  const labelOf = (c: number) => {
    const k = order.indexOf(c);
    return names[k] ?? String.fromCharCode(65 + k);
  };
  return cluster.map(labelOf);
}
