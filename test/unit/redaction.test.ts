/** Redaction's detectors and the document redaction they drive (issue 15). */
import { describe, expect, it } from 'vitest';
import { detect, luhn } from '../../src/shared/redaction/detect.ts';
import { DEFAULT_TRANSCRIPT_OPTIONS, REDACT_TYPES } from '../../src/shared/transcript-options.ts';
import { findAddresses, findPersonNames } from '../../src/simulator/pii-extract.ts';
import { redactText } from '../../src/worker/transcription/redact.ts';
import { silencedSpans } from '../../src/worker/transcription/redact-audio.ts';
import { redactDoc } from '../../src/worker/transcription/redact-doc.ts';
import { redactionWarnings } from '../../src/worker/transcription/transcript-features.ts';

const ALL = new Set(REDACT_TYPES);
const tokens = (s: string) => s.split(/\s+/);
const found = (s: string) =>
  detect(tokens(s), ALL).map((x) => [x.type, tokens(s).slice(x.from, x.to).join(' ')]);

describe('redaction detectors', () => {
  it('phone numbers spoken digit by digit, across commas and recogniser slips, and written', () => {
    expect(
      found('please call me back at five five five, two one three, four four seven eight. Thank you.'),
    ).toEqual([['phone_number', 'five five five, two one three, four four seven eight.']]);
    // "for" for four, only between digits; "fifty five"; written forms
    expect(found('call five five five two one three for four seven eight for help')).toEqual([
      ['phone_number', 'five five five two one three for four seven eight'],
    ]);
    expect(found('my number is 555-013-2447 ok')).toEqual([['phone_number', '555-013-2447']]);
    expect(found('it is (555) 013 2447')).toEqual([['phone_number', '(555) 013 2447']]);
    expect(found('nine thirty tomorrow and room five')).toEqual([]);
  });

  it('credit cards only when the Luhn check passes; 9 digits are an SSN; emails and birth dates', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
    expect(found('card 4111 1111 1111 1111 thanks')).toEqual([['credit_card', '4111 1111 1111 1111']]);
    expect(found('card 4111 1111 1111 1112 thanks')).toEqual([]);
    expect(found('my social is one two three four five six seven eight nine')).toEqual([
      ['ssn', 'one two three four five six seven eight nine'],
    ]);
    expect(found('write to maria.lopez@example.com today')).toEqual([['email', 'maria.lopez@example.com']]);
    expect(found('it is maria dot lopez at gmail dot com thanks')).toEqual([
      ['email', 'maria dot lopez at gmail dot com'],
    ]);
    expect(found('I was born on the fourth of july nineteen eighty five and')).toEqual([
      ['date_of_birth', 'fourth of july nineteen eighty five'],
    ]);
    expect(found('my date of birth is 04/07/1985.')).toEqual([['date_of_birth', '04/07/1985.']]);
  });

  it('the simulator lists names and addresses as a chat model would', () => {
    const text =
      'hi this is maria lopez calling for dr patel dental office please call me back. thank you for calling riverside until this is james be gone. see you then mario';
    expect(findPersonNames(text)).toEqual(expect.arrayContaining(['Maria Lopez', 'Patel', 'James', 'Mario']));
    expect(findPersonNames(text)).not.toContain('Riverside');
    expect(findAddresses('I live at 42 baker street in town')).toEqual(['42 baker street']);
  });

  it('a document: segments as one stream, words with times, never the values', () => {
    const doc = {
      text: 'Hi this is maria lopez. Call me at five five five, two one three, four four seven eight.',
      language: 'en',
      duration: 10,
      segments: [
        { start: 0, end: 2, text: 'Hi this is maria lopez.' },
        { start: 2.5, end: 5, text: 'Call me at five five five,' },
        { start: 5.5, end: 8, text: 'two one three, four four seven eight.' },
      ],
      words: 'hi this is maria lopez call me at five five five two one three four four seven eight'
        .split(' ')
        .map((word, i) => ({ word, start: i * 0.5, end: i * 0.5 + 0.4 })),
    };
    const { doc: out, redactions } = redactDoc(doc, ALL, { person_names: ['Maria Lopez'], addresses: [] });
    expect(out.text).toBe('Hi this is [PERSON_NAME] [PERSON_NAME]. Call me at [PHONE_NUMBER].');
    expect(out.segments.map((s) => s.text)).toEqual([
      'Hi this is [PERSON_NAME] [PERSON_NAME].',
      'Call me at [PHONE_NUMBER].',
    ]);
    expect(out.words?.map((w) => w.word).join(' ')).toBe(
      'hi this is [PERSON_NAME] [PERSON_NAME] call me at [PHONE_NUMBER]',
    );
    expect(redactions).toEqual([
      { type: 'person_name', start: 1.5, end: 1.9, located: 'words' },
      { type: 'person_name', start: 2, end: 2.4, located: 'words' },
      { type: 'phone_number', start: 4, end: 8.9, located: 'words' },
    ]);
    expect(JSON.stringify({ out, redactions })).not.toMatch(/maria|lopez|five|four|seven/i);
    expect(redactText('call 555 013 2447', new Set(['email']))).toBe('call 555 013 2447');
  });
});

describe('a value the words cannot place', () => {
  const base = {
    text: 'Call me at 555-213-4478, thanks.',
    language: 'en',
    duration: 12,
    segments: [
      { start: 0, end: 3, text: 'Call me' },
      { start: 3.5, end: 9, text: 'at 555-213-4478, thanks.' },
    ],
  };
  const phone = new Set(['phone_number'] as const);
  const options = { ...DEFAULT_TRANSCRIPT_OPTIONS, redact: ['phone_number' as const], redact_audio: true };

  it('is silenced with its segment, and the job says so', () => {
    // the provider's words lost the number
    const words = ['call', 'me', 'at', 'thanks'].map((word, i) => ({ word, start: i, end: i + 0.5 }));
    const { doc, redactions } = redactDoc({ ...base, words }, phone, undefined);
    expect(redactions).toEqual([{ type: 'phone_number', start: 3.5, end: 9, located: 'segment' }]);
    expect(doc.text).toBe('Call me at [PHONE_NUMBER], thanks.');
    expect(redactionWarnings({ ...doc, redactions }, options)).toEqual([
      expect.stringContaining('the whole segment holding each was silenced'),
    ]);
  });

  it('with no segment to place it, the whole recording is silenced', () => {
    const { redactions } = redactDoc({ ...base, segments: [] }, phone, undefined);
    expect(redactions).toEqual([{ type: 'phone_number', start: 0, end: 12, located: 'recording' }]);
    const unknown = redactDoc({ ...base, segments: [], duration: null }, phone, undefined).redactions;
    expect(silencedSpans(unknown)).toEqual([{ start: 0, end: expect.any(Number) }]);
    expect(silencedSpans(unknown)[0]?.end).toBeGreaterThan(24 * 3600);
  });
});
