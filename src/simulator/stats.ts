/** Counters the control endpoint reports: calls per endpoint, injected faults, the last requests. */
import type { Endpoint, FaultKind, PerEndpoint, RequestRecord } from './types.ts';

const KEEP = 1000;

const zeroFaults = (): Record<FaultKind, number> => ({
  '429': 0,
  '500': 0,
  '400': 0,
  '401': 0,
  timeout: 0,
  cut: 0,
  other: 0,
});

export class StatsRecorder {
  calls: PerEndpoint<number> = { transcriptions: 0, chat: 0, speech: 0 };
  faults = zeroFaults();
  #requests: RequestRecord[] = [];
  #next = 0; // ring buffer position once full

  call(endpoint: Endpoint): void {
    this.calls[endpoint]++;
  }

  fault(kind: FaultKind): void {
    this.faults[kind]++;
  }

  record(r: RequestRecord): void {
    if (this.#requests.length < KEEP) {
      this.#requests.push(r);
      return;
    }
    this.#requests[this.#next] = r;
    this.#next = (this.#next + 1) % KEEP;
  }

  /** The kept requests, oldest first. */
  requests(): RequestRecord[] {
    return [...this.#requests.slice(this.#next), ...this.#requests.slice(0, this.#next)];
  }

  reset(): void {
    this.calls = { transcriptions: 0, chat: 0, speech: 0 };
    this.faults = zeroFaults();
    this.#requests = [];
    this.#next = 0;
  }
}
