/**
 * Real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) with a fake microphone
 * that "says" a speech WAV, for the page's end-to-end test and the reply-latency benchmark.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
export const SPEECH_FIXTURE = resolve(import.meta.dirname, '../fixtures/question.wav');

const run = promisify(execFile);

export interface FakeMic {
  /** Absolute path of the 16-bit PCM WAV the fake microphone plays. */
  wav: string;
  cleanup(): Promise<void>;
}

/** Chromium's fake capture wants plain 16-bit PCM; 48 kHz mono avoids any resampling surprise. */
export async function fakeMic(source = SPEECH_FIXTURE): Promise<FakeMic> {
  const dir = await mkdtemp(join(tmpdir(), 'vb-mic-'));
  const wav = join(dir, 'speech.wav');
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-i',
    source,
    '-ac',
    '1',
    '-ar',
    '48000',
    '-c:a',
    'pcm_s16le',
    wav,
  ]);
  return { wav, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Chromium flags for this machine: headless as root, and no background network (this machine has none). */
export const HEADLESS_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser(micWav: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      ...HEADLESS_ARGS,
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      // %noloop: the file plays once per capture, then silence.
      `--use-file-for-fake-audio-capture=${micWav}%noloop`,
    ],
  });
}

/**
 * The API serves the built page (dist/web) at `/`. Fails with what to do when it does not.
 */
export async function assertPageServed(baseUrl: string): Promise<void> {
  const res = await fetch(`${baseUrl}/`).catch((err: Error) => err);
  const body = res instanceof Response ? await res.text() : '';
  if (!(res instanceof Response) || res.status !== 200 || !body.includes('id="record"')) {
    const got = res instanceof Response ? `HTTP ${res.status}, ${body.slice(0, 80)}` : res.message;
    throw new Error(
      `GET ${baseUrl}/ did not return the voicebot page (${got}). The API must serve the build output ` +
        'dist/web/ (`npm run build`; the browser test builds it first) at / — see "Serving" in web/README.md.',
    );
  }
}

/** Page-side timings (window.__voicebotTimings), one entry per turn. */
export interface TurnTimings {
  input: 'audio' | 'text';
  jobId: string | null;
  stopped: number;
  submitted?: number;
  accepted?: number;
  events: Record<string, number>;
  audioRequested?: number;
  playing?: number;
  /** the reply's audio played to its end */
  finished?: number;
  /** a streamed reply: each spoken piece's `playing` and `ended` */
  pieces?: Array<{ playing?: number; ended?: number }>;
  autoplayBlocked?: boolean;
}

export function turnTimings(page: Page): Promise<TurnTimings[]> {
  return page.evaluate(
    () => (globalThis as unknown as { __voicebotTimings: TurnTimings[] }).__voicebotTimings,
  );
}

/**
 * Records with the keyboard (Space starts, Enter stops and sends) for about `ms`, as a keyboard-only user
 * would; `whileRecording` runs just before the stop.
 */
export async function recordWithKeyboard(
  page: Page,
  ms: number,
  whileRecording?: () => Promise<void>,
): Promise<void> {
  await page.locator('#record').focus();
  await page.keyboard.press('Space');
  await page.waitForSelector('#record[data-state="recording"]');
  const started = Date.now();
  await whileRecording?.();
  await page.waitForTimeout(Math.max(0, ms - (Date.now() - started)));
  await page.keyboard.press('Enter');
}
