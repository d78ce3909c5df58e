/**
 * `writtenForm`: the transcript as OpenAI's models write it rather than as the recogniser hears it — a run
 * of seven or more spoken digits in figures (a 10-digit number grouped `555-213-4478`, others in fours),
 * a comma after such a number inside a sentence, a full stop at the end of each segment, the first word
 * capitalised — and the `verbose_json` words carrying exactly that (`555-213-4478,` one word, `eight.`),
 * so the word list is tokenised differently from the plain words a client may expect.
 */
import type { Segment, Word } from './recognize.ts';
import type { Transcript } from './transcribe.ts';

const DIGITS: Record<string, string> = {
  zero: '0',
  oh: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
};
const MIN_RUN = 7;

const group = (digits: string) =>
  digits.length === 10
    ? `${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`
    : (digits.match(/.{1,4}/g) ?? []).join(' ');

function writeSegment(s: Segment): Segment {
  const out: Word[] = [];
  const ws = s.words;
  for (let i = 0; i < ws.length; ) {
    let j = i;
    while (j < ws.length && DIGITS[(ws[j] as Word).word.toLowerCase()] !== undefined) j++;
    if (j - i >= MIN_RUN) {
      const run = ws.slice(i, j);
      const digits = run.map((w) => DIGITS[w.word.toLowerCase()]).join('');
      const comma = j < ws.length ? ',' : '';
      out.push({
        word: `${group(digits)}${comma}`,
        start: (run[0] as Word).start,
        end: (run.at(-1) as Word).end,
      });
      i = j;
    } else {
      out.push({ ...(ws[i] as Word) });
      i++;
    }
  }
  const first = out[0];
  if (first) first.word = `${first.word.charAt(0).toUpperCase()}${first.word.slice(1)}`;
  const last = out.at(-1);
  if (last && !/[.,?!]$/.test(last.word)) last.word = `${last.word}.`;
  else if (last) last.word = last.word.replace(/,$/, '.');
  return { ...s, words: out, text: out.map((w) => w.word).join(' ') };
}

export function writtenForm(t: Transcript): Transcript {
  if (!t.recognized) return t;
  const segments = t.segments.map(writeSegment);
  return {
    ...t,
    segments,
    words: segments.flatMap((s) => s.words),
    text: segments.map((s) => s.text).join(' '),
  };
}
