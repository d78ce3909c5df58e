/** Pure parts of the OpenAI simulator: extraction rules, schema filling, parsing, formats, settings. */
import { describe, expect, it } from 'vitest';
import { replyText } from '../../src/simulator/chat.ts';
import {
  applyOptions,
  ConfigValueError,
  DEFAULT_CONFIG,
  optionsFromEnv,
} from '../../src/simulator/config.ts';
import { FaultInjector } from '../../src/simulator/faults.ts';
import { Limiter } from '../../src/simulator/limiter.ts';
import { parseTimedOutput, toSegments } from '../../src/simulator/recognize.ts';
import { fillSchema } from '../../src/simulator/schema-fill.ts';
import { stamp } from '../../src/simulator/transcript-format.ts';
import { extractVoicemail, findCallerName, findPhoneNumber } from '../../src/simulator/voicemail-extract.ts';
import { fixWavSizes, toneWav, wavDurationFrom } from '../../src/simulator/wav.ts';

describe('voicemail extraction', () => {
  it('finds numbers written as digits or spoken as words', () => {
    expect(findPhoneNumber('call me at 555 013 2447, thanks')).toBe('555-013-2447');
    expect(findPhoneNumber('(555) 013-2447')).toBe('555-013-2447');
    expect(findPhoneNumber('my number is five five five oh one three two four four seven')).toBe(
      '555-013-2447',
    );
    expect(findPhoneNumber('double five five, 0 1 3, two four four seven')).toBe('555-013-2447');
    expect(findPhoneNumber('see you at 9 30 tomorrow')).toBeUndefined();
  });

  it('finds caller names, stopping at the next ordinary word', () => {
    expect(findCallerName('Hi, this is Maria Lopez, please call')).toBe('Maria Lopez');
    expect(findCallerName('my name is john smith and i need help')).toBe('John Smith');
    expect(findCallerName("it's Sam from the bakery")).toBe('Sam');
    expect(findCallerName('hello there')).toBeUndefined();
  });

  it('rates urgency and names an intent', () => {
    const v = extractVoicemail('This is Ana. I am in a lot of pain and need to reschedule my appointment.');
    expect(v).toMatchObject({ caller_name: 'Ana', urgency: 'high', intent: 'reschedule appointment' });
    expect(extractVoicemail('Just checking in.').urgency).toBe('normal');
  });
});

describe('fillSchema', () => {
  it('fills nested objects, enums, nullable fields and $refs by type', () => {
    const schema = {
      type: 'object',
      $defs: { item: { type: 'object', properties: { label: { type: 'string' }, n: { type: 'integer' } } } },
      properties: {
        priority: { type: 'string', enum: ['low', 'medium', 'urgent'] },
        caller_name: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        ok: { type: 'boolean' },
        items: { type: 'array', items: { $ref: '#/$defs/item' }, minItems: 2 },
      },
    };
    expect(fillSchema(schema, { priority: 'high', caller_name: null })).toEqual({
      priority: 'urgent',
      caller_name: null,
      ok: false,
      items: [
        { label: 'simulated label', n: 0 },
        { label: 'simulated label', n: 0 },
      ],
    });
  });
});

describe('pocketsphinx output', () => {
  const out = [
    'what are your opening',
    '<s> 0.000 0.020 0.999100',
    'what 0.030 0.220 0.952938',
    'are 0.230 0.350 0.010057',
    '<sil> 0.360 0.800 0.999600',
    'the(2) 0.810 0.900 0.902929',
    '[NOISE] 0.900 0.950 0.5',
    'i 0.960 1.000 0.5',
    '</s> 1.010 1.200 1.000000',
  ].join('\n');

  it('keeps words with times, drops markers and alternates, splits segments at pauses', () => {
    const { segments, words } = toSegments(parseTimedOutput(out));
    expect(words.map((w) => w.word)).toEqual(['what', 'are', 'the', 'i']);
    expect(segments.map((s) => [s.start, s.end, s.text])).toEqual([
      [0.03, 0.35, 'What are.'],
      [0.81, 1, 'The I.'],
    ]);
  });
});

describe('formats and WAV', () => {
  it('writes srt and vtt timestamps', () => {
    expect(stamp(3723.5, ',')).toBe('01:02:03,500');
    expect(stamp(0.0304, '.')).toBe('00:00:00.030');
  });

  it('makes tone WAVs whose length follows the text, and reads their duration', () => {
    const wav = toneWav('x'.repeat(100));
    expect(wavDurationFrom(wav, wav.length)).toBeCloseTo(6.5, 3);
    const streamed = Buffer.from(wav);
    streamed.writeUInt32LE(0xffffffff, 40);
    expect(wavDurationFrom(streamed, streamed.length)).toBeCloseTo(6.5, 3);
    expect(fixWavSizes(streamed).readUInt32LE(40)).toBe(wav.length - 44);
    expect(wavDurationFrom(Buffer.from('not a wav file'), 14)).toBeUndefined();
  });
});

describe('chat reply', () => {
  it('quotes the last user turn, the one before, and counts user turns', () => {
    const m = (role: string, text: string) => ({ role, text });
    expect(replyText([m('user', 'a'), m('assistant', 'b'), m('user', 'c'), m('user', 'd')])).toBe(
      'You said: "d". Earlier you said: "c". (turn 3)',
    );
    expect(replyText([m('system', 's')])).toContain('(turn 0)');
  });
});

describe('settings', () => {
  it('accepts numbers or per-endpoint values and rejects bad ones', () => {
    const c = applyOptions(DEFAULT_CONFIG, { latencyMs: 50, concurrency: { speech: 3 } });
    expect(c.latencyMs).toEqual({ transcriptions: 50, chat: 50, speech: 50 });
    expect(c.concurrency).toEqual({ transcriptions: Infinity, chat: Infinity, speech: 3 });
    expect(applyOptions(c, { concurrency: null } as never).concurrency.speech).toBe(Infinity);
    expect(() => applyOptions(DEFAULT_CONFIG, { rate429: 0.7, rate500: 0.5 })).toThrow(ConfigValueError);
    expect(() => applyOptions(DEFAULT_CONFIG, { failNext: [{ status: 200 }] })).toThrow(ConfigValueError);
  });

  it('reads the environment', () => {
    const o = optionsFromEnv({
      SIM_PORT: '0',
      SIM_RATE_429: '0.1',
      SIM_CONCURRENCY: '20',
      SIM_DISABLE_TOOLS: 'ffmpeg',
    });
    expect(o).toEqual({ port: 0, rate429: 0.1, concurrency: 20, disableTools: ['ffmpeg'] });
    expect(optionsFromEnv({}).port).toBe(4010);
    expect(() => optionsFromEnv({ SIM_LATENCY_MS: 'slow' })).toThrow(ConfigValueError);
  });

  it('draws the same random faults for the same seed, scripted ones first', () => {
    const c = applyOptions(DEFAULT_CONFIG, { rate500: 0.5 });
    const draw = (f: FaultInjector) =>
      Array.from({ length: 20 }, () => f.next('chat', c)?.kind ?? '-').join('');
    expect(draw(new FaultInjector(7))).toBe(draw(new FaultInjector(7)));
    const f = new FaultInjector(7);
    f.script([{ endpoint: 'speech', status: 'timeout' }]);
    expect(f.next('speech', DEFAULT_CONFIG)?.kind).toBe('timeout');
    expect(f.next('speech', DEFAULT_CONFIG)).toBeUndefined();
  });
});

describe('Limiter', () => {
  it('hands out slots in FIFO order and records the peak', async () => {
    const l = new Limiter(1);
    const order: number[] = [];
    const first = await l.acquire();
    const waiting = [1, 2].map(async (n) => {
      const release = await l.acquire();
      order.push(n);
      return release;
    });
    expect(l.queued).toBe(2);
    first?.();
    (await waiting[0])?.();
    (await waiting[1])?.();
    expect(order).toEqual([1, 2]);
    expect(l.maxInFlight).toBe(1);
    const ac = new AbortController();
    const held = await l.acquire();
    const gaveUp = l.acquire(ac.signal);
    ac.abort();
    expect(await gaveUp).toBeUndefined();
    held?.();
    expect(l.inFlight).toBe(0);
  });
});
