import { describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/chaos.ts';

// The bounded form of `npm run chaos` (which runs 500 jobs): fewer jobs, the same faults and kills.
describe('chaos: workers SIGKILLed while the provider answers 20% 429 and 10% 500', () => {
  it('every job succeeds exactly once; extra provider calls stay within kills + injected faults', async () => {
    const r = await runChaos({ jobs: 30, killEveryMs: 1500, rate429: 0.2, rate500: 0.1, timeoutMs: 120_000 });
    expect(r.kills).toBeGreaterThan(0);
    expect(r.injectedFaults).toBeGreaterThan(0);
    expect(r).toMatchObject({ succeeded: 30, failed: 0, lost: 0, duplicateResults: 0 });
    expect(r.extraProviderCalls).toBeLessThanOrEqual(r.kills + r.injectedFaults);
  });
});
