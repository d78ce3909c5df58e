/**
 * Plays a streamed reply's spoken pieces (speech.segment events) back to back, in index order, each once:
 * a piece announced again (a retried stage) is ignored; the next piece is loaded while the current one plays,
 * so it starts the moment the current one ends.
 */
export interface PieceTimings {
  /** the first piece's `playing` */
  onFirstPlaying?: () => void;
  /** every piece played to its end and no more will come */
  onFinished?: () => void;
  /** a piece could not play (autoplay refused, a broken file) */
  onError?: (err: unknown) => void;
}

export class PiecePlayer {
  readonly #urls = new Map<number, string>();
  #next = 0;
  #current: HTMLAudioElement | undefined;
  #preloaded: { index: number; audio: HTMLAudioElement } | undefined;
  #total: number | undefined;
  #stopped = false;
  /** The browser refused to play a piece without a user gesture. */
  blocked = false;
  #started = false;
  readonly #hooks: PieceTimings;
  readonly #resolve: (url: string) => string;
  /** each piece's `playing` and `ended` (performance.now()), by index */
  readonly marks: Array<{ playing?: number; ended?: number }> = [];

  constructor(resolve: (url: string) => string, hooks: PieceTimings = {}) {
    this.#resolve = resolve;
    this.#hooks = hooks;
  }

  get received(): number {
    return this.#urls.size;
  }

  /** A piece was announced. */
  add(index: number, url: string): void {
    if (this.#stopped || this.#urls.has(index)) return;
    this.#urls.set(index, this.#resolve(url));
    if (!this.#current) this.#playNext();
    else this.#preload();
  }

  /** No piece beyond `total - 1` will come (the job ended). */
  end(total: number): void {
    this.#total = total;
    if (!this.#current && this.#next >= total) this.#finish();
  }

  stop(): void {
    this.#stopped = true;
    this.#current?.pause();
    this.#current = undefined;
  }

  #audioFor(index: number): HTMLAudioElement | undefined {
    if (this.#preloaded?.index === index) {
      const { audio } = this.#preloaded;
      this.#preloaded = undefined;
      return audio;
    }
    const url = this.#urls.get(index);
    if (!url) return undefined;
    const audio = new Audio(url);
    audio.preload = 'auto';
    return audio;
  }

  #preload(): void {
    const index = this.#next;
    if (this.#preloaded || !this.#urls.has(index)) return;
    const audio = this.#audioFor(index);
    if (audio) {
      audio.load();
      this.#preloaded = { index, audio };
    }
  }

  #playNext(): void {
    if (this.#stopped) return;
    const index = this.#next;
    const audio = this.#audioFor(index);
    if (!audio) {
      this.#current = undefined;
      if (this.#total !== undefined && index >= this.#total) this.#finish();
      return;
    }
    this.#next++;
    this.#current = audio;
    const mark: { playing?: number; ended?: number } = {};
    this.marks[index] = mark;
    audio.addEventListener(
      'playing',
      () => {
        mark.playing ??= performance.now();
        if (!this.#started) {
          this.#started = true;
          this.#hooks.onFirstPlaying?.();
        }
      },
      { once: true },
    );
    audio.addEventListener(
      'ended',
      () => {
        mark.ended = performance.now();
        this.#playNext();
      },
      { once: true },
    );
    audio.play().catch((err: unknown) => {
      // Autoplay refused: the pieces stop here; the page offers the whole reply behind its Play button.
      if (err instanceof DOMException && err.name === 'NotAllowedError') {
        this.blocked = true;
        this.stop();
      }
      this.#hooks.onError?.(err);
    });
    this.#preload();
  }

  #finish(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#hooks.onFinished?.();
  }
}
