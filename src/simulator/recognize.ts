/** Real (if rough) speech recognition with CMU pocketsphinx: words with times, grouped into segments. */
import { run } from './audio-tools.ts';

export interface Word {
  word: string;
  start: number;
  end: number;
}

export interface Segment {
  start: number;
  end: number;
  text: string;
  words: Word[];
}

/** A pause at least this long (seconds) ends a segment. */
const SEGMENT_PAUSE = 0.3;
/** Segments are also cut after this many words, like Whisper's ~30 s windows but shorter. */
const SEGMENT_MAX_WORDS = 25;

/**
 * Recognizes a 16 kHz mono WAV; `seconds` (its length) sizes the time limit — a net for a hung program,
 * generous because a loaded machine runs pocketsphinx many times slower than real time.
 */
export async function recognize(wavPath: string, seconds: number, signal?: AbortSignal): Promise<Word[]> {
  const timeoutMs = 120_000 + seconds * 10_000;
  const args = ['-infile', wavPath, '-time', 'yes', '-logfn', '/dev/null'];
  const { stdout } = await run('pocketsphinx', args, timeoutMs, signal);
  return parseTimedOutput(stdout);
}

/**
 * With `-time yes` pocketsphinx prints, per utterance, the hypothesis line and then one line per
 * token: `word start end confidence`. Tokens include <s>, </s>, <sil>, [NOISE], and alternates
 * written `the(2)`.
 */
export function parseTimedOutput(out: string): Word[] {
  const words: Word[] = [];
  for (const line of out.split('\n')) {
    const m = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?)$/.exec(line.trim());
    if (!m?.[1]) continue;
    const token = m[1];
    const start = Number(m[2]);
    const end = Number(m[3]);
    if (token === '<sil>') {
      words.push({ word: '', start, end }); // kept as a pause marker for segmentation
      continue;
    }
    if (/^[<[+]/.test(token)) continue;
    words.push({ word: token.replace(/\(\d+\)$/, ''), start, end });
  }
  return words;
}

/** Groups words into segments at pauses (silence markers or gaps) and every SEGMENT_MAX_WORDS words. */
export function toSegments(tokens: Word[]): { segments: Segment[]; words: Word[] } {
  const segments: Segment[] = [];
  const words: Word[] = [];
  let current: Word[] = [];
  const flush = () => {
    const first = current[0];
    const last = current[current.length - 1];
    if (first && last) {
      segments.push({ start: first.start, end: last.end, text: sentence(current), words: current });
    }
    current = [];
  };
  let previousEnd = 0;
  for (const t of tokens) {
    const pause = t.word === '' ? t.end - t.start : t.start - previousEnd;
    if (pause >= SEGMENT_PAUSE || current.length >= SEGMENT_MAX_WORDS) flush();
    if (t.word !== '') {
      current.push(t);
      words.push(t);
    }
    previousEnd = t.end;
  }
  flush();
  return { segments, words };
}

/** "what are your" → "What are your." */
function sentence(words: Word[]): string {
  const text = words.map((w) => w.word.replace(/^i(?=$|')/, 'I')).join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}
