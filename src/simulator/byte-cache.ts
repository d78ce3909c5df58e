/** A small LRU of byte buffers with a total size budget (synthesized speech, keyed by its request). */
export interface CachedAudio {
  contentType: string;
  body: Buffer;
}

export class ByteCache {
  readonly #entries = new Map<string, CachedAudio>();
  readonly #budget: number;
  #bytes = 0;
  hits = 0;

  constructor(budgetBytes = 64 * 1024 * 1024) {
    this.#budget = budgetBytes;
  }

  get(key: string): CachedAudio | undefined {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key); // re-insert: most recently used last
      this.#entries.set(key, hit);
      this.hits++;
    }
    return hit;
  }

  set(key: string, value: CachedAudio): void {
    if (value.body.length > this.#budget / 8 || this.#entries.has(key)) return;
    this.#entries.set(key, value);
    this.#bytes += value.body.length;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.#budget) break;
      this.#entries.delete(k);
      this.#bytes -= v.body.length;
    }
  }
}
