/** A FIFO concurrency gate whose limit can change at run time; records the most ever held at once. */
export class Limiter {
  #limit: number;
  #active = 0;
  #max = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  get inFlight(): number {
    return this.#active;
  }

  get maxInFlight(): number {
    return this.#max;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  setLimit(limit: number): void {
    this.#limit = limit;
    this.#pump();
  }

  resetMax(): void {
    this.#max = this.#active;
  }

  /**
   * Waits for a slot; resolves to a release function (safe to call twice), or to undefined if `signal`
   * aborts first (the client went away while queued).
   */
  acquire(signal?: AbortSignal): Promise<(() => void) | undefined> {
    return new Promise((resolve) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#active++;
        this.#max = Math.max(this.#max, this.#active);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#active--;
          this.#pump();
        });
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(grant);
        if (i >= 0) this.#waiting.splice(i, 1);
        resolve(undefined);
      };
      if (signal?.aborted) return resolve(undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(grant);
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#active < this.#limit && this.#waiting.length > 0) this.#waiting.shift()?.();
  }
}
