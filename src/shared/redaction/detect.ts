/**
 * Deterministic detectors of personal data in a transcript, over its tokens (words as spoken or written):
 * - phone_number: a run of 7–12 digits (not 9), written ("555-013-2447") or spoken ("five five five, two
 *   one three …", "fifty five", "double five"), or a mix;
 * - ssn: a run of exactly 9 digits;
 * - credit_card: a run of 13–19 digits that passes the Luhn check;
 * - email: written (`a.b@c.com`) or spoken ("maria dot lopez at gmail dot com");
 * - date_of_birth: a date (month name, or numeric) within a few words after "born", "birth", "DOB".
 * Names and addresses need understanding: they come from the chat model (see
 * src/worker/transcription/redact.ts) and are found in the tokens with `findPhrases`.
 * Runs work across punctuation and segment boundaries because they see the whole token list.
 */
import type { RedactType } from '../transcript-options.ts';

/** A detected span of tokens: [from, to). */
export interface Span {
  type: RedactType;
  from: number;
  to: number;
}

const UNITS: Record<string, string> = {
  zero: '0',
  oh: '0',
  o: '0',
  nought: '0',
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
const TEENS: Record<string, string> = {
  ten: '10',
  eleven: '11',
  twelve: '12',
  thirteen: '13',
  fourteen: '14',
  fifteen: '15',
  sixteen: '16',
  seventeen: '17',
  eighteen: '18',
  nineteen: '19',
};
const TENS: Record<string, string> = {
  twenty: '2',
  thirty: '3',
  forty: '4',
  fifty: '5',
  sixty: '6',
  seventy: '7',
  eighty: '8',
  ninety: '9',
};
/** What speech recognition writes for a digit it misheard: counted only between two digits. */
const HOMOPHONES: Record<string, string> = { for: '4', to: '2', too: '2', won: '1', ate: '8' };

const MONTHS = new Set(
  'january february march april may june july august september october november december jan feb mar apr jun jul aug sep sept oct nov dec'.split(
    ' ',
  ),
);
const ORDINAL =
  /^(\d{1,2}(st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth)$/;
const DOB_CONTEXT = new Set(['born', 'birth', 'dob', 'birthday', 'birthdate']);
const TLDS = new Set(['com', 'org', 'net', 'edu', 'gov', 'io', 'co', 'uk', 'de', 'us', 'info', 'biz']);

/** Lower-case, without the punctuation around it (inner `@ . - / +` stay: emails, numbers, dates). */
export const normToken = (t: string) =>
  t
    .toLowerCase()
    .replace(/^[^\p{L}\p{N}+(]+|[^\p{L}\p{N})]+$/gu, '')
    .replace(/(?<=\p{L})\(\d+\)$/u, '');

/** The digits a token stands for alone (undefined: not a digit token). */
export function digitsOf(t: string): string | undefined {
  if (UNITS[t] !== undefined) return UNITS[t];
  if (TEENS[t] !== undefined) return TEENS[t];
  if (TENS[t] !== undefined) return `${TENS[t]}0`;
  if (t === 'hundred') return '00';
  if (/^[+(]?\d[\d\-().]*$/.test(t)) return t.replace(/\D/g, '');
  return undefined;
}

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Every span of the given types in `tokens` (raw words), in order, not overlapping. */
export function detect(tokens: string[], types: ReadonlySet<RedactType>): Span[] {
  const norm = tokens.map(normToken);
  const spans: Span[] = [];
  if (types.has('email')) spans.push(...emails(norm));
  if (types.has('date_of_birth')) spans.push(...birthDates(norm));
  if (types.has('phone_number') || types.has('ssn') || types.has('credit_card'))
    spans.push(...digitRuns(norm, types));
  return disjoint(spans);
}

function digitRuns(norm: string[], types: ReadonlySet<RedactType>): Span[] {
  const spans: Span[] = [];
  let i = 0;
  while (i < norm.length) {
    if (digitsOf(norm[i] as string) === undefined) {
      i++;
      continue;
    }
    let digits = '';
    let j = i;
    let repeat = 1;
    for (; j < norm.length; j++) {
      const t = norm[j] as string;
      const next = norm[j + 1] ?? '';
      if (t === 'double' || t === 'triple') {
        if (UNITS[next] === undefined) break;
        repeat = t === 'double' ? 2 : 3;
        continue;
      }
      let d = digitsOf(t);
      if (d === undefined && HOMOPHONES[t] !== undefined && digitsOf(next) !== undefined && digits !== '')
        d = HOMOPHONES[t];
      if (d === undefined) break;
      // "fifty five" → 55, not 505
      if (TENS[t] !== undefined && UNITS[next] !== undefined && next !== 'oh' && next !== 'o') {
        d = `${TENS[t]}${UNITS[next]}`;
        j++;
      }
      digits += d.repeat(repeat);
      repeat = 1;
    }
    const type = classify(digits, types);
    if (type) spans.push({ type, from: i, to: j });
    i = Math.max(j, i + 1);
  }
  return spans;
}

function classify(digits: string, types: ReadonlySet<RedactType>): RedactType | undefined {
  const n = digits.length;
  if (n >= 13 && n <= 19 && luhn(digits)) return types.has('credit_card') ? 'credit_card' : undefined;
  if (n === 9) return types.has('ssn') ? 'ssn' : undefined;
  if (n >= 7 && n <= 12) return types.has('phone_number') ? 'phone_number' : undefined;
  return undefined;
}

function emails(norm: string[]): Span[] {
  const spans: Span[] = [];
  norm.forEach((t, i) => {
    if (/^[\w.+-]+@[\w-]+(\.[\w-]+)+$/.test(t)) spans.push({ type: 'email', from: i, to: i + 1 });
  });
  // spoken: name (dot name)* at domain (dot part)+ ending in a known top-level domain
  for (let i = 1; i < norm.length - 3; i++) {
    if (norm[i] !== 'at') continue;
    let to = i + 2;
    while (norm[to] === 'dot' && norm[to + 1]) to += 2;
    if (to === i + 2 || !TLDS.has(norm[to - 1] as string)) continue;
    let from = i - 1;
    while (from >= 2 && (norm[from - 1] === 'dot' || norm[from - 1] === 'underscore')) from -= 2;
    spans.push({ type: 'email', from, to });
  }
  return spans;
}

function birthDates(norm: string[]): Span[] {
  const spans: Span[] = [];
  norm.forEach((t, c) => {
    if (!DOB_CONTEXT.has(t)) return;
    for (let i = c + 1; i <= c + 6 && i < norm.length; i++) {
      const w = norm[i] as string;
      const numeric = /^\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}$/.test(w);
      if (!numeric && !MONTHS.has(w) && !ORDINAL.test(w)) continue;
      let to = i + 1;
      while (to < norm.length && to < i + 8 && isDatePart(norm[to] as string)) to++;
      spans.push({ type: 'date_of_birth', from: i, to });
      return;
    }
  });
  return spans;
}

const isDatePart = (w: string) =>
  MONTHS.has(w) ||
  ORDINAL.test(w) ||
  /^\d{1,4}$/.test(w) ||
  w === 'of' ||
  w === 'the' ||
  UNITS[w] !== undefined ||
  TEENS[w] !== undefined ||
  TENS[w] !== undefined ||
  w === 'hundred' ||
  w === 'thousand';

/** Occurrences of each phrase's words (case-insensitive, punctuation ignored) as spans of `type`. */
export function findPhrases(tokens: string[], phrases: string[], type: RedactType): Span[] {
  const norm = tokens.map(normToken);
  const spans: Span[] = [];
  for (const phrase of phrases) {
    const words = phrase.split(/\s+/).map(normToken).filter(Boolean);
    if (words.length === 0) continue;
    for (let i = 0; i + words.length <= norm.length; i++)
      if (words.every((w, k) => norm[i + k] === w)) spans.push({ type, from: i, to: i + words.length });
  }
  return spans;
}

/** Names: each part of each name is found on its own too ("Maria Lopez" → later "Maria" alone). */
export function findNames(tokens: string[], names: string[]): Span[] {
  const parts = names
    .flatMap((n) => n.split(/\s+/))
    .map(normToken)
    .filter((p) => p.length >= 2 && !/^(mr|mrs|ms|dr|doctor|the|and|of)$/.test(p));
  return findPhrases(tokens, [...new Set(parts)], 'person_name');
}

/** Sorted, overlaps merged (the earlier span's type wins). */
export function disjoint(spans: Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.from - b.from || b.to - a.to);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out.at(-1);
    if (last && s.from < last.to) last.to = Math.max(last.to, s.to);
    else out.push({ ...s });
  }
  return out;
}
