/**
 * Where to cut long audio: at silences (ffmpeg `silencedetect`), each chunk at most `maxSeconds` long
 * including a small overlap on both sides, so a word cut anyway is heard whole by one of two chunks.
 */

export interface Silence {
  start: number;
  end: number;
}

export interface ChunkPlan {
  index: number;
  /** the part of the timeline this chunk owns: [start, end) */
  start: number;
  end: number;
  /** the audio actually sent: [start - overlap, end + overlap], within the input */
  audioStart: number;
  audioEnd: number;
}

export interface PlanOptions {
  /** longest audio one chunk may hold (the provider's limit or `TRANSCRIBE_CHUNK_SECONDS`) */
  maxSeconds: number;
  /** audio repeated on each side of a cut */
  overlapSeconds: number;
}

/**
 * Plans the chunks of `duration` seconds of audio. A cut goes at the middle of the longest silence in the
 * last quarter of the allowed window, else of the last half, else (no silence at all) at the window's end.
 */
export function planChunks(duration: number, silences: Silence[], opts: PlanOptions): ChunkPlan[] {
  if (!(opts.maxSeconds > 0)) throw new Error('maxSeconds must be positive');
  const overlap = Math.min(Math.max(0, opts.overlapSeconds), opts.maxSeconds / 10);
  if (duration <= opts.maxSeconds) {
    return [{ index: 0, start: 0, end: duration, audioStart: 0, audioEnd: duration }];
  }
  const span = opts.maxSeconds - 2 * overlap; // what a chunk may own, so its audio stays within maxSeconds
  const mids = silences
    .filter((s) => s.end > s.start)
    .map((s) => ({ mid: (s.start + s.end) / 2, length: s.end - s.start }));
  const cuts: number[] = [];
  let pos = 0;
  while (duration - pos > span) {
    const hi = pos + span;
    const best = (lo: number) =>
      mids
        .filter((m) => m.mid > lo && m.mid <= hi)
        .reduce<(typeof mids)[number] | undefined>(
          (b, m) => (b === undefined || m.length >= b.length ? m : b),
          undefined,
        );
    const chosen = best(pos + span * 0.75) ?? best(pos + span * 0.5);
    const cut = chosen?.mid ?? hi;
    cuts.push(cut);
    pos = cut;
  }
  const bounds = [0, ...cuts, duration];
  return bounds.slice(0, -1).map((start, index) => {
    const end = bounds[index + 1] ?? duration;
    return {
      index,
      start: r3(start),
      end: r3(end),
      audioStart: r3(Math.max(0, start - overlap)),
      audioEnd: r3(Math.min(duration, end + overlap)),
    };
  });
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Reads ffmpeg `silencedetect` log lines ("silence_start: 12.3", "silence_end: 13.1 | silence_duration:
 * 0.8"), one at a time, into silences. A silence still open at the end of the input is closed by `finish`.
 */
export class SilenceParser {
  readonly silences: Silence[] = [];
  #open: number | undefined;

  line(text: string): void {
    const start = /silence_start:\s*(-?\d+(?:\.\d+)?)/.exec(text);
    if (start) {
      this.#open = Math.max(0, Number(start[1]));
      return;
    }
    const end = /silence_end:\s*(\d+(?:\.\d+)?)/.exec(text);
    if (end) {
      const e = Number(end[1]);
      const d = /silence_duration:\s*(\d+(?:\.\d+)?)/.exec(text);
      const s = this.#open ?? (d ? Math.max(0, e - Number(d[1])) : e);
      if (e > s) this.silences.push({ start: s, end: e });
      this.#open = undefined;
    }
  }

  finish(duration: number | undefined): Silence[] {
    if (this.#open !== undefined && duration !== undefined && duration > this.#open)
      this.silences.push({ start: this.#open, end: duration });
    this.#open = undefined;
    return this.silences;
  }
}
