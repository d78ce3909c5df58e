/**
 * POST /v1/audio/speech: real speech from Festival's HTS voice (espeak-ng when Festival or the voice is
 * missing), encoded by ffmpeg into the requested format and streamed. Fallbacks: a tone WAV when neither
 * speaks; WAV (audio/wav) when ffmpeg is missing. Festival's voice is the one pocketsphinx hears best
 * (~92% of words against 3–20% for espeak-ng), so a reply spoken here can be transcribed back.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { FESTIVAL_VOICE, start, type Toolbox } from './audio-tools.ts';
import type { ByteCache } from './byte-cache.ts';
import { ApiError, invalid } from './http-util.ts';
import { AUDIO_BYTES_PER_SECOND, Pacer } from './latency-profile.ts';
import { checkModel, VOICES } from './models.ts';
import { fixWavSizes, toneWav } from './wav.ts';

const FORMATS: Record<string, { contentType: string; args: string[] }> = {
  mp3: { contentType: 'audio/mpeg', args: ['-c:a', 'libmp3lame', '-b:a', '64k', '-f', 'mp3'] },
  opus: { contentType: 'audio/opus', args: ['-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg'] },
  aac: { contentType: 'audio/aac', args: ['-c:a', 'aac', '-b:a', '64k', '-f', 'adts'] },
  flac: { contentType: 'audio/flac', args: ['-c:a', 'flac', '-f', 'flac'] },
  wav: { contentType: 'audio/wav', args: ['-c:a', 'pcm_s16le', '-f', 'wav'] },
  pcm: { contentType: 'audio/pcm', args: ['-c:a', 'pcm_s16le', '-f', 's16le'] },
};
const FEMALE = new Set(['coral', 'nova', 'sage', 'shimmer', 'marin']);
const MAX_INPUT = 4096;

export interface SpeechRequest {
  model: string;
  input: string;
  voice: string;
  format: string;
  speed: number;
}

export function parseSpeechRequest(body: Record<string, unknown>): SpeechRequest {
  const model = checkModel('speech', body.model);
  const { input, voice } = body;
  if (typeof input !== 'string' || input.trim() === '') {
    throw invalid("Invalid 'input': empty string. Expected a string with minimum length 1.", 'input');
  }
  if (input.length > MAX_INPUT) {
    throw invalid(
      `Invalid 'input': string too long. Expected a string with maximum length ${MAX_INPUT}, but got a string with length ${input.length} instead.`,
      'input',
      'string_above_max_length',
    );
  }
  const voiceId = typeof voice === 'object' && voice !== null ? (voice as { id?: unknown }).id : voice;
  if (typeof voiceId !== 'string' || !(VOICES.includes(voiceId as never) || voiceId.startsWith('voice_'))) {
    throw invalid(
      `Invalid value for 'voice': expected one of ${VOICES.join(', ')}.`,
      'voice',
      'invalid_value',
    );
  }
  const format = body.response_format ?? 'mp3';
  if (typeof format !== 'string' || !FORMATS[format]) {
    throw invalid(
      `Invalid value for 'response_format': expected one of ${Object.keys(FORMATS).join(', ')}.`,
      'response_format',
      'invalid_value',
    );
  }
  const speed = body.speed ?? 1;
  if (typeof speed !== 'number' || speed < 0.25 || speed > 4) {
    throw invalid("Invalid 'speed': expected a number between 0.25 and 4.0.", 'speed', 'invalid_value');
  }
  return { model, input, voice: voiceId, format, speed };
}

/** A latency profile's speech timing: the first bytes at `firstByteAt`, then `speed`× real time. */
export interface SpeechPacing {
  firstByteAt: number;
  speed: number;
}

/** Slices of a paced body, so a cached or buffered answer still arrives as a stream. */
const PACED_SLICE = 4096;

/**
 * Speaks the request into `res` (from the cache when the same request was spoken before); with a pacing,
 * every answer (a cached one too) streams as a hosted model's would.
 */
export async function speak(
  res: ServerResponse,
  r: SpeechRequest,
  tools: Toolbox,
  headers: Record<string, string>,
  signal: AbortSignal,
  cache: ByteCache,
  pacing?: SpeechPacing,
): Promise<void> {
  const pacerFor = (format: string) =>
    pacing && new Pacer(pacing.firstByteAt, (AUDIO_BYTES_PER_SECOND[format] ?? 48_000) * pacing.speed);
  /** Writes `body` in paced slices; false when the client went away. */
  const writePaced = async (pacer: Pacer, body: Buffer): Promise<boolean> => {
    for (let at = 0; at < body.length; at += PACED_SLICE) {
      const slice = body.subarray(at, at + PACED_SLICE);
      await pacer.take(slice.length, signal);
      if (signal.aborted) return false;
      if (!res.write(slice)) await once(res, 'drain', { signal }).catch(() => {});
    }
    return true;
  };
  const key = JSON.stringify([
    r.input,
    r.voice,
    r.format,
    r.speed,
    tools.has('festival'),
    tools.has('espeak-ng'),
    tools.has('ffmpeg'),
  ]);
  const hit = cache.get(key);
  const hitPacer = hit && pacerFor(formatOf(hit.contentType));
  if (hit && hitPacer) {
    await hitPacer.take(0, signal);
    if (signal.aborted) return;
    res.writeHead(200, { 'content-type': hit.contentType, 'content-length': hit.body.length, ...headers });
    if (await writePaced(hitPacer, hit.body)) res.end();
    return;
  }
  if (hit) {
    res.writeHead(200, { 'content-type': hit.contentType, 'content-length': hit.body.length, ...headers });
    res.end(hit.body);
    return;
  }
  const { source, failures, format } = synthesize(r, tools, signal);
  const contentType = FORMATS[format]?.contentType ?? 'audio/wav';
  const chunks: Buffer[] = [];
  if (format === 'wav') {
    // A WAV written to a pipe has placeholder sizes: buffer it (speech is small) and fix the header.
    for await (const c of source) chunks.push(c as Buffer);
    await failures.catch(toApiError);
    const wav = fixWavSizes(Buffer.concat(chunks));
    cache.set(key, { contentType, body: wav });
    const pacer = pacerFor('wav');
    if (pacer) await pacer.take(0, signal);
    if (signal.aborted) return;
    res.writeHead(200, { 'content-type': contentType, 'content-length': wav.length, ...headers });
    if (!pacer) res.end(wav);
    else if (await writePaced(pacer, wav)) res.end();
    return;
  }
  const pacer = pacerFor(format);
  let started = false;
  for await (const chunk of source) {
    if (pacer) await pacer.take(0, signal);
    if (signal.aborted) return;
    if (!started) {
      res.writeHead(200, { 'content-type': contentType, 'transfer-encoding': 'chunked', ...headers });
      started = true;
    }
    chunks.push(chunk as Buffer);
    if (pacer) {
      if (!(await writePaced(pacer, chunk as Buffer))) return;
    } else if (!res.write(chunk)) await once(res, 'drain', { signal });
  }
  try {
    await failures;
  } catch (err) {
    if (!started) toApiError(err);
    res.destroy(); // the client sees a cut-off body, as with a real mid-stream failure
    return;
  }
  if (!started) res.writeHead(200, { 'content-type': contentType, ...headers });
  res.end();
  cache.set(key, { contentType, body: Buffer.concat(chunks) });
}

/**
 * Festival or espeak-ng (or a tone) piped through ffmpeg (when present); `format` is what actually comes
 * out. Festival has one voice here (female); espeak-ng picks a female or male variant by the voice name.
 */
function synthesize(r: SpeechRequest, tools: Toolbox, signal: AbortSignal) {
  let source: Readable;
  const done: Promise<unknown>[] = [];
  let tempo: number | undefined; // speed still to apply (Festival speaks at one rate; ffmpeg stretches)
  if (tools.has('festival')) {
    const festival = start('festival', ['-eval', FESTIVAL_VOICE, '-o', '-'], 60_000, signal);
    festival.child.stdin?.end(r.input);
    source = festival.child.stdout as Readable;
    done.push(festival.done);
    if (r.speed !== 1) tempo = r.speed;
  } else if (tools.has('espeak-ng')) {
    const variant = FEMALE.has(r.voice) ? 'f3' : 'm3';
    const rate = String(Math.round(Math.min(450, Math.max(80, 175 * r.speed))));
    const args = ['-v', `en-us+${variant}`, '-s', rate, '--stdin', '--stdout'];
    const espeak = start('espeak-ng', args, 60_000, signal);
    espeak.child.stdin?.end(r.input);
    source = espeak.child.stdout as Readable;
    done.push(espeak.done);
  } else {
    source = Readable.from([toneWav(r.input)]);
  }
  let format = r.format;
  if (tools.has('ffmpeg')) {
    const args = [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      'pipe:0',
      '-ar',
      '24000',
      '-ac',
      '1',
      ...(tempo === undefined ? [] : ['-filter:a', atempo(tempo)]),
    ];
    const ffmpeg = start('ffmpeg', [...args, ...(FORMATS[r.format]?.args ?? []), 'pipe:1'], 120_000, signal);
    if (ffmpeg.child.stdin) source.pipe(ffmpeg.child.stdin);
    source = ffmpeg.child.stdout as Readable;
    done.push(ffmpeg.done);
  } else {
    format = 'wav';
  }
  const failures = Promise.all(done).then(() => undefined);
  failures.catch(() => {}); // awaited by the caller; never left unhandled if the client leaves first
  return { source, failures, format };
}

/** ffmpeg's atempo takes 0.5–2 per filter: chain them for 0.25–4. */
function atempo(speed: number): string {
  const parts: string[] = [];
  let left = speed;
  while (left < 0.5 || left > 2) {
    const step = left < 0.5 ? 0.5 : 2;
    parts.push(`atempo=${step}`);
    left /= step;
  }
  parts.push(`atempo=${left.toFixed(4)}`);
  return parts.join(',');
}

const formatOf = (contentType: string): string =>
  Object.entries(FORMATS).find(([, f]) => f.contentType === contentType)?.[0] ?? 'wav';

function toApiError(err: unknown): never {
  const message = `The server had an error while generating speech (simulator: ${(err as Error).message}).`;
  throw new ApiError(500, message);
}
