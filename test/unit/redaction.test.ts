/** Redaction's detectors and the document redaction they drive (issue 15). */
import { describe, expect, it } from 'vitest';
import { detect, luhn } from '../../src/shared/redaction/detect.ts';
import { REDACT_TYPES } from '../../src/shared/transcript-options.ts';
import { findAddresses, findPersonNames } from '../../src/simulator/pii-extract.ts';
import { redactText } from '../../src/worker/transcription/redact.ts';
import { redactDoc } from '../../src/worker/transcription/redact-doc.ts';

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
