/**
 * Runs ffmpeg / ffprobe / Festival / espeak-ng / pocketsphinx: detects them once, always with a time limit.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
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

/** Which programs exist on this machine (looked up once per process). */
export function installedTools(): Record<Tool, boolean> {
  if (!detected) {
    const found = (t: Tool) => {
      const r = spawnSync(COMMANDS[t].cmd, COMMANDS[t].probe, { stdio: 'ignore', timeout: 5000 });
      return r.error === undefined;
    };
    detected = {
      ffmpeg: found('ffmpeg'),
      ffprobe: found('ffprobe'),
      festival: festivalVoiceWorks(),
      'espeak-ng': found('espeak-ng'),
      pocketsphinx: found('pocketsphinx'),
    };
  }
  return detected;
}

/**
 * text2wave exits 0 even when the voice is missing (it prints a SIOD error and speaks with another voice
 * or not at all), so the probe speaks one word with the HTS voice and checks that audio came out.
 */
function festivalVoiceWorks(): boolean {
  const r = spawnSync(COMMANDS.festival.cmd, ['-eval', FESTIVAL_VOICE, '-o', '-'], {
    input: 'a',
    timeout: 10_000,
  });
  return r.error === undefined && r.status === 0 && r.stdout.length > 44 && !/error/i.test(String(r.stderr));
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
    out = (await run('ffprobe', args, 30_000, signal)).stdout;
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
