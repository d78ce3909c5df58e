/**
 * Latency profiles: how long a hosted model takes, so a run under the simulator feels like a run against it.
 * `none` (the default) answers as fast as the simulator can; `openai` follows the hosted models' published and
 * commonly measured figures (sources in README.md):
 * - transcription: 300 ms + 40 ms per second of audio, the whole answer at once;
 * - chat: the first token after 400 ms, then 50 tokens/s (streamed chunk by chunk with `stream: true`);
 * - speech: the first audio bytes after 300 ms, then the audio streamed at 4× real time.
 * A profile's times count from the request's arrival, so the simulator's own work is part of them.
 */
import { sleep } from './http-util.ts';

export const LATENCY_PROFILES = ['none', 'openai'] as const;
export type LatencyProfileName = (typeof LATENCY_PROFILES)[number];

export interface LatencyProfile {
  transcription: { baseMs: number; perAudioSecondMs: number };
  chat: { firstTokenMs: number; tokensPerSecond: number };
  speech: { firstByteMs: number; realTimeFactor: number };
}

const PROFILES: Record<LatencyProfileName, LatencyProfile | undefined> = {
  none: undefined,
  openai: {
    transcription: { baseMs: 300, perAudioSecondMs: 40 },
    chat: { firstTokenMs: 400, tokensPerSecond: 50 },
    speech: { firstByteMs: 300, realTimeFactor: 4 },
  },
};

export const latencyProfile = (name: LatencyProfileName): LatencyProfile | undefined => PROFILES[name];

/** Waits until `at` (epoch ms) has passed. */
export const until = (at: number, signal?: AbortSignal): Promise<void> => sleep(at - Date.now(), signal);

/** Bytes of one second of audio in each speech format as the simulator encodes it (24 kHz mono). */
export const AUDIO_BYTES_PER_SECOND: Record<string, number> = {
  mp3: 8000, // 64 kbit/s
  opus: 4000, // 32 kbit/s
  aac: 8000, // 64 kbit/s
  flac: 24_000, // about half of PCM
  wav: 48_000,
  pcm: 48_000,
};

/**
 * Paces a byte stream: the first byte no earlier than `firstAt`, and byte n no earlier than
 * `firstAt + n / bytesPerSecond` — audio of `realTimeFactor`× its own speed.
 */
export class Pacer {
  #sent = 0;
  readonly #firstAt: number;
  readonly #bytesPerMs: number;
  constructor(firstAt: number, bytesPerSecond: number) {
    this.#firstAt = firstAt;
    this.#bytesPerMs = bytesPerSecond / 1000;
  }

  /** Resolves when `bytes` more may go out. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    await until(this.#firstAt + this.#sent / this.#bytesPerMs, signal);
    this.#sent += bytes;
  }
}
