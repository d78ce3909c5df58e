/**
 * Runs ffmpeg / ffprobe / Festival / espeak-ng / pocketsphinx: detects them once (asynchronously), always with a
 * time limit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Tool } from './types.ts';

const COMMANDS: Record<Tool, { cmd: string; probe: string[] }> = {
  ffmpeg: { cmd: 'ffmpeg', probe: ['-version'] },
  ffprobe: { cmd: 'ffprobe', probe: ['-version'] },
  festival: { cmd: 'text2wave', probe: ['-h'] },
  'espeak-ng': { cmd: 'espeak-ng', probe: ['--version'] },
  pocketsphinx: { cmd: 'pocketsphinx_continuous', probe: ['-version'] },
};

/** Festival's HTS voice (Debian `festvox-us-slt-hts`): what pocketsphinx recognises best. */
export const FESTIVAL_VOICE = '(voice_cmu_us_slt_arctic_hts)';

let detected: Record<Tool, boolean> | undefined;
let detection: Promise<Record<Tool, boolean>> | undefined;

/** How long one probe may take: generous, a busy machine starts programs slowly (never a reason to drop one). */
const PROBE_TIMEOUT_MS = 60_000;

/**
 * Looks up which programs exist on this machine, once per process, without blocking the event loop
 * (`startSimulator` awaits it before it listens). The probes used to be `spawnSync`: seconds of a frozen
 * event loop in whatever process hosts the simulator — the test process, or `npm start` — at its first
 * request, long enough for the API's idle keep-alive sockets to time out under a client that was about
 * to reuse them (ECONNRESET), and with a time limit that a loaded machine could exceed (a tool reported
 * missing).
 */
export function detectTools(): Promise<Record<Tool, boolean>> {
  detection ??= (async () => {
    const [ffmpeg, ffprobe, festival, espeak, pocketsphinx] = await Promise.all([
      probe('ffmpeg'),
      probe('ffprobe'),
      festivalVoiceWorks(),
      probe('espeak-ng'),
      probe('pocketsphinx'),
    ]);
    detected = { ffmpeg, ffprobe, festival, 'espeak-ng': espeak, pocketsphinx };
    return detected;
  })();
  return detection;
}

/** Which programs exist on this machine, as `detectTools()` found them (it must have resolved). */
export function installedTools(): Record<Tool, boolean> {
  if (!detected) throw new Error('installedTools() before detectTools() resolved (startSimulator awaits it)');
  return detected;
}

/** Runs a probe command; resolves with its exit code and output, or undefined when it cannot run. */
function probeRun(tool: Tool, args: string[], input?: string) {
  return new Promise<{ code: number | null; stdout: Buffer; stderr: string } | undefined>((done) => {
    const child = spawn(COMMANDS[tool].cmd, args, { timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
    child.once('error', () => done(undefined));
    child.once('close', (code, signal) =>
      done(signal ? undefined : { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }),
    );
  });
}

async function probe(tool: Tool): Promise<boolean> {
  return (await probeRun(tool, COMMANDS[tool].probe)) !== undefined;
}

/**
 * text2wave exits 0 even when the voice is missing (it prints a SIOD error and speaks with another voice
 * or not at all), so the probe speaks one word with the HTS voice and checks that audio came out.
 */
async function festivalVoiceWorks(): Promise<boolean> {
  const r = await probeRun('festival', ['-eval', FESTIVAL_VOICE, '-o', '-'], 'a');
  return r !== undefined && r.code === 0 && r.stdout.length > 44 && !/error/i.test(r.stderr);
}

/** The programs the simulator may use: installed and not switched off. */
export class Toolbox {
  readonly #disabled: Set<Tool>;
  constructor(disabled: readonly Tool[]) {
    this.#disabled = new Set(disabled);
  }
  has(t: Tool): boolean {
    return installedTools()[t] && !this.#disabled.has(t);
  }
}

export class ToolError extends Error {
  override name = 'ToolError';
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(message);
    this.stderr = stderr;
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Starts a program with a hard time limit (SIGKILL); stdin and stdout are left to the caller. */
export function start(
  tool: Tool,
  args: string[],
  timeoutMs: number,
  signal?: AbortSignal,
): { child: ChildProcess; done: Promise<string> } {
  const child = spawn(COMMANDS[tool].cmd, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    signal,
    timeout: Math.ceil(timeoutMs),
    killSignal: 'SIGKILL',
  });
  child.stdin?.on('error', () => {}); // the program may exit before reading all of its input
  const stderr: Buffer[] = [];
  let stderrSize = 0;
  child.stderr?.on('data', (c: Buffer) => {
    if (stderrSize < 64 * 1024) stderr.push(c);
    stderrSize += c.length;
  });
  const done = new Promise<string>((resolve, reject) => {
    child.on('error', (err) => reject(new ToolError(`${tool}: ${err.message}`, '')));
    child.on('close', (code, sig) => {
      const text = Buffer.concat(stderr).toString('utf8');
      if (code === 0) resolve(text);
      else reject(new ToolError(`${tool} failed (${sig ?? `exit ${code}`})`, text));
    });
  });
  return { child, done };
}

/** Runs a program to completion and collects its output as text. */
export async function run(
  tool: Tool,
  args: string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RunResult> {
  const { child, done } = start(tool, args, timeoutMs, signal);
  const out: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stdin?.end();
  const stderr = await done;
  return { stdout: Buffer.concat(out).toString('utf8'), stderr };
}

export interface Probe {
  /** Seconds, or undefined when the container does not say (e.g. a browser's MediaRecorder WebM). */
  duration: number | undefined;
}

/** ffprobe: undefined when the file is not decodable audio (no audio stream or not a media file). */
export async function probeAudio(path: string, signal?: AbortSignal): Promise<Probe | undefined> {
  const args = [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_type,duration',
    '-of',
    'json',
    path,
  ];
  let out: string;
  try {
    out = (await run('ffprobe', args, 120_000, signal)).stdout;
  } catch (err) {
    if (signal?.aborted) throw err;
    return undefined;
  }
  const info = JSON.parse(out) as {
    streams?: Array<{ codec_type?: string; duration?: string }>;
    format?: { duration?: string };
  };
  const audio = info.streams?.find((s) => s.codec_type === 'audio');
  if (!audio) return undefined;
  const seconds = Number(info.format?.duration ?? audio.duration);
  return { duration: Number.isFinite(seconds) && seconds > 0 ? seconds : undefined };
}

/** Decodes any audio file into 16 kHz mono 16-bit WAV (what pocketsphinx expects). */
export async function toRecognizerWav(
  input: string,
  output: string,
  maxSeconds: number,
  signal?: AbortSignal,
): Promise<void> {
  const limit = Number.isFinite(maxSeconds) ? ['-t', String(maxSeconds)] : [];
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-i', input, ...limit];
  await run(
    'ffmpeg',
    [...args, '-vn', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', output],
    600_000,
    signal,
  );
}
