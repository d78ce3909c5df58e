/** SRT and WebVTT from transcript segments; a segment's speaker shows as `Caller:` (SRT) or `<v Caller>` (VTT). */

/** What a cue is made of: a transcript segment (src/worker/transcription/transcript.ts). */
export interface CueSegment {
  start: number;
  end: number;
  text: string;
  speaker?: string | undefined;
}

/** Cue lines are wrapped at about this many characters (a common subtitle line length). */
const LINE_CHARS = 42;

/** 3723.5 → "01:02:03,500" (SRT) or "01:02:03.500" (VTT). Hours grow past 99 rather than wrap. */
export function timestamp(seconds: number, decimal: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${pad(h)}:${pad(m)}:${pad(s)}${decimal}${pad(ms % 1000, 3)}`;
}

/** Words into lines of at most ~LINE_CHARS (a longer single word keeps its own line). */
export function wrap(text: string, width = LINE_CHARS): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Segments worth a cue: text present, end after start (a zero-length cue gets one millisecond). */
function cues(segments: CueSegment[]): CueSegment[] {
  return segments
    .map((s) => ({ ...s, text: s.text.replace(/\s+/g, ' ').trim() }))
    .filter((s) => s.text !== '')
    .map((s) => ({ ...s, end: Math.max(s.end, s.start + 0.001) }));
}

export function toSrt(segments: CueSegment[]): string {
  return cues(segments)
    .map(
      (c, i) =>
        `${i + 1}\n${timestamp(c.start, ',')} --> ${timestamp(c.end, ',')}\n${wrap(c.speaker ? `${c.speaker}: ${c.text}` : c.text).join('\n')}\n`,
    )
    .join('\n');
}

/** Cue text may not contain "-->" and must escape & and < (they start entities and tags). */
const vttText = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export function toVtt(segments: CueSegment[]): string {
  const body = cues(segments)
    .map(
      (c) =>
        `${timestamp(c.start, '.')} --> ${timestamp(c.end, '.')}\n${c.speaker ? `<v ${vttText(c.speaker)}>` : ''}${wrap(vttText(c.text)).join('\n')}\n`,
    )
    .join('\n');
  return body ? `WEBVTT\n\n${body}` : 'WEBVTT\n';
}
