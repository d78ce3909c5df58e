/** Strict little SRT / WebVTT parsers for tests: they throw on anything malformed. */

export interface Cue {
  start: number;
  end: number;
  text: string;
}

const seconds = (stamp: string, decimal: ',' | '.'): number => {
  const m = new RegExp(`^(\\d{2,}):([0-5]\\d):([0-5]\\d)\\${decimal}(\\d{3})$`).exec(stamp);
  if (!m) throw new Error(`bad timestamp ${JSON.stringify(stamp)}`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
};

function timing(line: string | undefined, decimal: ',' | '.'): { start: number; end: number } {
  const parts = (line ?? '').split(' --> ');
  if (parts.length !== 2) throw new Error(`bad timing line ${JSON.stringify(line)}`);
  const start = seconds(parts[0] ?? '', decimal);
  const end = seconds(parts[1] ?? '', decimal);
  if (end < start) throw new Error(`cue ends before it starts: ${line}`);
  return { start, end };
}

function blocks(text: string): string[][] {
  return text
    .replace(/\r\n/g, '\n')
    .split(/\n{2,}/)
    .map((b) => b.split('\n').filter((l) => l !== ''))
    .filter((b) => b.length > 0);
}

export function parseSrt(text: string): Cue[] {
  return blocks(text).map((lines, i) => {
    if (lines[0] !== String(i + 1)) throw new Error(`cue ${i + 1}: bad sequence number ${lines[0]}`);
    const t = timing(lines[1], ',');
    if (lines.length < 3) throw new Error(`cue ${i + 1} has no text`);
    return { ...t, text: lines.slice(2).join('\n') };
  });
}

export function parseVtt(text: string): Cue[] {
  const [header, ...rest] = blocks(text);
  if (header?.[0] !== 'WEBVTT' || !text.startsWith('WEBVTT')) throw new Error('missing WEBVTT header');
  return rest.map((lines, i) => {
    const at = lines[0]?.includes('-->') ? 0 : 1;
    const t = timing(lines[at], '.');
    const body = lines.slice(at + 1);
    if (body.length === 0) throw new Error(`cue ${i + 1} has no text`);
    if (body.some((l) => l.includes('-->'))) throw new Error(`cue ${i + 1} text contains -->`);
    return { ...t, text: body.join('\n') };
  });
}
