/**
 * Character alignment of two tokenisations of the same speech: the transcript's text (where redaction finds
 * its values) and another list of tokens — the words with their times, or the segments' texts. Both are
 * reduced to a key that ignores case, punctuation and how digits are grouped: only letters and digits stay,
 * and a spoken number word counts as its digits ("five" → "5", so "five five five" and "555-" agree).
 * Each token of the other list is then found in the text's key in order (a token the text does not hold is
 * left unaligned), so every character of the text's key knows which token, if any, covers it.
 */
import { digitsOf } from './detect.ts';

const NUMBER_WORDS = [
  'zero',
  'oh',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
  'twenty',
  'thirty',
  'forty',
  'fifty',
  'sixty',
  'seventy',
  'eighty',
  'ninety',
  'hundred',
].sort((a, b) => b.length - a.length);
/** A token made only of spoken number words ("five", "fivefive" where a tokeniser merged two). */
const SPOKEN_NUMBER = new RegExp(`^(?:${NUMBER_WORDS.join('|')})+$`);
const NUMBER_WORD = new RegExp(NUMBER_WORDS.join('|'), 'g');

/** A token's key: lower-case letters and digits; spoken number words ("five", "fifty") as their digits. */
export function tokenKey(token: string): string {
  const base = token.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  if (SPOKEN_NUMBER.test(base)) return base.replace(NUMBER_WORD, (w) => digitsOf(w) ?? w);
  return base;
}

/** The text's tokens as one key, and where each token's characters are in it: [start, end). */
export interface KeyedText {
  key: string;
  starts: number[];
  ends: number[];
}

export function keyText(tokens: string[]): KeyedText {
  let key = '';
  const starts: number[] = [];
  const ends: number[] = [];
  for (const t of tokens) {
    starts.push(key.length);
    key += tokenKey(t);
    ends.push(key.length);
  }
  return { key, starts, ends };
}

/** How far past the last match a token is looked for (characters of key): the text may hold words the list dropped. */
const MAX_SKIP = 240;

/**
 * For each character of `text.key`, the index of the token of `tokens` that covers it (-1: none), and for
 * each token whether it was found. Tokens are matched in order; one that is not found within `MAX_SKIP`
 * characters is left unaligned and the next is looked for from the same place.
 */
export function align(text: KeyedText, tokens: string[]): { owner: Int32Array; aligned: boolean[] } {
  const owner = new Int32Array(text.key.length).fill(-1);
  const aligned = tokens.map(() => false);
  let pos = 0;
  tokens.forEach((t, i) => {
    const k = tokenKey(t);
    if (k === '') return;
    const window = text.key.slice(pos, pos + MAX_SKIP + k.length);
    const at = window.indexOf(k);
    if (at < 0) return;
    owner.fill(i, pos + at, pos + at + k.length);
    aligned[i] = true;
    pos += at + k.length;
  });
  return { owner, aligned };
}
