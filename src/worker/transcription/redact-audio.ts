/**
 * `redact_audio`: a copy of the input with every redacted span silenced (ffmpeg `volume` filter enabled
 * over the spans), stored as the `redacted_audio` artifact (MP3). Once the copy is stored the input itself
 * is deleted, so the unredacted voice is kept no longer than the transcription needed it.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { keys } from '../../shared/job-files.ts';
import type { Redaction } from '../../shared/transcript-options.ts';
import type { StageContext } from '../stages/stage.ts';
import { type MediaTools, run } from './media.ts';
import { localFile, withWorkDir } from './workdir.ts';

/** Silence reaches this far beyond each span (word times are approximate; MP3 adds a little delay). */
const PAD_SECONDS = 0.08;

export async function silenceSpans(
  tools: MediaTools,
  input: string,
  output: string,
  spans: Array<{ start: number; end: number }>,
  signal?: AbortSignal,
): Promise<void> {
  const between = spans
    .map(
      (s) =>
        `between(t,${Math.max(0, s.start - PAD_SECONDS).toFixed(3)},${(s.end + PAD_SECONDS).toFixed(3)})`,
    )
    .join('+');
  const filter = spans.length > 0 ? ['-af', `volume=enable='${between}':volume=0`] : [];
  await run(
    tools.ffmpeg,
    ['-hide_banner', '-nostdin', '-nostats', '-y', '-i', input, '-map', '0:a:0', '-vn', ...filter].concat([
      '-c:a',
      'libmp3lame',
      '-b:a',
      '64k',
      output,
    ]),
    signal,
  );
}

/** Longer than any input (MAX_AUDIO_SECONDS is hours): "to the end of the recording". */
const TO_THE_END = 1e7;

/** The spans silenced for `redactions`: a redaction without times (nothing placed it) silences everything. */
export const silencedSpans = (redactions: Redaction[]) =>
  redactions.map((r) => ({ start: r.start ?? 0, end: r.end ?? TO_THE_END }));

/**
 * Makes the redacted copy unless it exists, then deletes the input. Idempotent: a retried stage finds the
 * copy and only finishes the delete.
 */
export async function ensureRedactedAudio(ctx: StageContext, redactions: Redaction[]): Promise<void> {
  const { record, storage, config, signal } = ctx;
  const key = keys.redactedAudio(record.id);
  if (!(await storage.exists(key, signal))) {
    const spans = silencedSpans(redactions);
    await withWorkDir(async (dir) => {
      const input = await localFile(storage, keys.input(record.id), dir, 'input', signal);
      const output = join(await dir(), 'redacted.mp3');
      await silenceSpans(config.transcription.tools, input, output, spans, signal);
      await storage.put(key, createReadStream(output), { contentType: 'audio/mpeg', signal });
    });
  }
  await storage.deletePrefix(keys.input(record.id));
}
