/**
 * `transcript.json` is the one stored transcript. Its text forms — `transcript.txt`, `.srt`, `.vtt` — are
 * rendered from it when asked for, by the API's file route (src/api/routes/files.ts), under the same signed,
 * expiring links as stored files: a job view links them with `storage.fileLink` (on S3 too, where the API
 * signs its own link), so a link minted before this change and one minted after look alike.
 */
import { z } from 'zod';
import type { ArtifactName } from './job-files.ts';
import { toSrt, toVtt } from './subtitles.ts';

/** The artifacts made from transcript.json on request (never stored). */
export const RENDERED_ARTIFACTS: ReadonlySet<ArtifactName> = new Set([
  'transcript_txt',
  'transcript_srt',
  'transcript_vtt',
]);

const FORMATS = {
  txt: 'text/plain; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
} as const;
type Format = keyof typeof FORMATS;

/** `jobs/<id>/transcript.srt` → its source `jobs/<id>/transcript.json` and format; else undefined. */
export function renderedFile(key: string): { source: string; format: Format } | undefined {
  const m = /^(jobs\/[^/]+)\/transcript\.(txt|srt|vtt)$/.exec(key);
  return m ? { source: `${m[1]}/transcript.json`, format: m[2] as Format } : undefined;
}

/** What rendering reads of transcript.json (the worker's transcriptDocSchema holds the whole shape). */
const renderable = z.object({
  text: z.string(),
  segments: z.array(
    z.object({ start: z.number(), end: z.number(), text: z.string(), speaker: z.string().optional() }),
  ),
});

/** transcript.json's text → the file in `format`. */
export function renderTranscript(json: string, format: Format): { body: string; contentType: string } {
  const doc = renderable.parse(JSON.parse(json));
  const body = format === 'txt' ? doc.text : format === 'srt' ? toSrt(doc.segments) : toVtt(doc.segments);
  return { body, contentType: FORMATS[format] };
}
