/** Voicemail test helpers: file uploads from disk, and a check of every artifact a finished job exposes. */
import { openAsBlob } from 'node:fs';
import { expect } from 'vitest';
import { transcriptDocSchema } from '../../src/worker/transcription/transcript.ts';
import type { Job } from './http.ts';
import { parseSrt, parseVtt } from './subtitles.ts';

/** multipart with the file read lazily from disk (no Buffer of it in the test either). */
export async function fileForm(path: string, fields: Record<string, string> = {}): Promise<FormData> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('audio', await openAsBlob(path), 'upload.bin');
  return form;
}

/** Downloads every artifact of a finished job and checks each parses and agrees with the others. */
export async function checkArtifacts(job: Job) {
  expect(Object.keys(job.artifacts ?? {}).sort()).toEqual(
    expect.arrayContaining(['transcript_json', 'transcript_srt', 'transcript_txt', 'transcript_vtt']),
  );
  const get = async (name: string) => {
    const res = await fetch(job.artifacts[name]);
    expect(res.status, name).toBe(200);
    return res.text();
  };
  const doc = transcriptDocSchema.parse(JSON.parse(await get('transcript_json')));
  expect(await get('transcript_txt')).toBe(job.transcript);
  expect(doc.text).toBe(job.transcript);
  expect(doc.language).toBe(job.language);
  expect(doc.duration).toBe(job.duration_seconds);
  expect(doc.segments.length).toBeGreaterThan(0);
  for (const [i, s] of doc.segments.entries()) {
    expect(s.end).toBeGreaterThanOrEqual(s.start);
    if (i > 0) expect(s.start).toBeGreaterThanOrEqual(doc.segments[i - 1]?.end ?? 0);
    expect(s.end).toBeLessThanOrEqual((doc.duration ?? 0) + 0.5);
  }
  const srt = parseSrt(await get('transcript_srt'));
  const vtt = parseVtt(await get('transcript_vtt'));
  expect(srt).toHaveLength(doc.segments.length);
  expect(vtt).toHaveLength(doc.segments.length);
  for (const [i, cue] of srt.entries()) {
    expect(cue.start).toBeCloseTo(doc.segments[i]?.start ?? -1, 2);
    expect(vtt[i]?.start).toBeCloseTo(cue.start, 3);
    if (i > 0) expect(cue.start).toBeGreaterThanOrEqual(srt[i - 1]?.end ?? 0);
  }
  return { doc, srt, vtt };
}
