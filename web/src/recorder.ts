/** Microphone recording with MediaRecorder, in whatever format the browser records (webm/opus, ogg, mp4). */

export interface Recording {
  blob: Blob;
  filename: string;
  durationMs: number;
}

/** Preferred first; the API detects the type from the bytes, so any of these is fine. */
const TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4', 'audio/webm', 'audio/ogg'];

export function canRecord(): boolean {
  return (
    typeof MediaRecorder !== 'undefined' &&
    typeof navigator.mediaDevices?.getUserMedia === 'function' &&
    window.isSecureContext
  );
}

function extension(mime: string): string {
  if (mime.includes('webm')) return 'webm';
  if (mime.includes('ogg')) return 'ogg';
  if (mime.includes('mp4') || mime.includes('aac')) return 'm4a';
  return 'audio';
}

export class Recorder {
  /** Called about 30 times a second while recording with the input level, 0…1. */
  onLevel: ((level: number) => void) | undefined;
  private stream: MediaStream | undefined;
  private recorder: MediaRecorder | undefined;
  private chunks: Blob[] = [];
  private startedAt = 0;
  private audioContext: AudioContext | undefined;
  private frame = 0;

  get recording(): boolean {
    return this.recorder?.state === 'recording';
  }

  /** Asks for the microphone (the browser may prompt) and starts recording. */
  async start(): Promise<void> {
    // Raw audio: the browser's call processing (echo cancellation, noise suppression, gain control) is
    // tuned for live calls and makes speech recognition worse. Nothing plays while recording.
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t));
    try {
      this.recorder = new MediaRecorder(this.stream, mimeType ? { mimeType } : undefined);
    } catch (err) {
      this.release();
      throw err;
    }
    this.chunks = [];
    this.recorder.addEventListener('dataavailable', (e) => {
      if (e.data.size > 0) this.chunks.push(e.data);
    });
    this.recorder.start();
    this.startedAt = performance.now();
    this.meter(this.stream);
  }

  /** Stops and resolves with the whole recording; the microphone is released. */
  stop(): Promise<Recording> {
    const recorder = this.recorder;
    if (!recorder || recorder.state === 'inactive') return Promise.reject(new Error('Not recording.'));
    const durationMs = performance.now() - this.startedAt;
    return new Promise((resolve, reject) => {
      recorder.addEventListener(
        'stop',
        () => {
          const type = recorder.mimeType || this.chunks[0]?.type || 'audio/webm';
          const blob = new Blob(this.chunks, { type });
          this.chunks = [];
          this.release();
          resolve({ blob, filename: `recording.${extension(type)}`, durationMs });
        },
        { once: true },
      );
      recorder.addEventListener('error', () => {
        this.release();
        reject(new Error('The recording failed.'));
      });
      recorder.stop();
    });
  }

  /** Drops a recording in progress. */
  cancel(): void {
    if (this.recorder && this.recorder.state !== 'inactive') this.recorder.stop();
    this.chunks = [];
    this.release();
  }

  private meter(stream: MediaStream): void {
    if (!this.onLevel || typeof AudioContext === 'undefined') return;
    try {
      this.audioContext = new AudioContext();
      const analyser = this.audioContext.createAnalyser();
      analyser.fftSize = 512;
      this.audioContext.createMediaStreamSource(stream).connect(analyser);
      const samples = new Uint8Array(analyser.fftSize);
      const tick = () => {
        analyser.getByteTimeDomainData(samples);
        let sum = 0;
        for (const s of samples) sum += ((s - 128) / 128) ** 2;
        this.onLevel?.(Math.min(1, Math.sqrt(sum / samples.length) * 4));
        this.frame = requestAnimationFrame(tick);
      };
      tick();
    } catch {
      // The level meter is decoration: recording works without it.
    }
  }

  private release(): void {
    cancelAnimationFrame(this.frame);
    this.onLevel?.(0);
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = undefined;
    this.recorder = undefined;
    this.audioContext?.close().catch(() => {});
    this.audioContext = undefined;
  }
}
