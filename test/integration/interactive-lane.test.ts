/**
 * The interactive lane: a job sent with `mode: "interactive"` (a talk turn) goes ahead of batch work in every
 * stage queue, with fair queuing on (batch jobs prioritized by rank) and off (batch jobs in FIFO order). One
 * worker slot per stage, so the simulator's request log is the order in which the stages ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAL_ENGINES } from '../../src/simulator/types.ts';
import { getJob, type Job, postJob, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

const N = 10;
const INTERACTIVE = 'interactive turn please answer first';

describe.each([
  ['on', 'true'],
  ['off', 'false'],
])('interactive lane, fair queuing %s', (_, fair) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { STAGE_CONCURRENCY: '1', FAIR_QUEUEING: fair },
      simulator: { disableTools: [...REAL_ENGINES] },
    });
  });
  afterAll(() => stack?.close());

  const requests = (endpoint: 'chat' | 'speech') =>
    stack.sim.stats().requests.filter((r) => r.endpoint === endpoint && r.status === 200);
  const calls = (endpoint: 'chat' | 'speech') => stack.sim.stats().calls[endpoint];
  /** Index of the interactive job's request among the endpoint's requests, in the order they ran. */
  const interactiveAt = (endpoint: 'chat' | 'speech') =>
    requests(endpoint).findIndex((r) =>
      JSON.stringify(r.params ?? {}).includes(endpoint === 'chat' ? INTERACTIVE : 'interactive turn'),
    );

  async function submitBatch(tag: string): Promise<string[]> {
    const res = await fetch(`${stack.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: Array.from({ length: N }, (_, i) => ({ text: `${tag} item ${i}` })) }),
    });
    expect(res.status).toBe(202);
    const batch = (await res.json()) as Job;
    return (batch.items as Array<{ job: Job }>).map((it) => it.job.id as string);
  }

  async function submitInteractive(): Promise<string> {
    const { res, body } = await postJob(stack.url, { text: INTERACTIVE, mode: 'interactive' });
    expect(res.status).toBe(202);
    return body.id as string;
  }

  async function finishAll(ids: string[]) {
    for (const id of ids) expect((await waitForJob(stack.url, id)).status).toBe('succeeded');
  }

  it('a talk turn sent behind a batch has its chat stage run before the batch jobs still waiting', async () => {
    stack.sim.reset();
    stack.sim.configure({ latencyMs: { chat: 200, speech: 0 } });
    const batch = await submitBatch('chat-lane');
    await waitFor(() => calls('chat') >= 2, {
      message: 'the batch to be under way (2 chat calls)',
      progress: () => calls('chat'),
    });
    const id = await submitInteractive();
    const startedBefore = calls('chat'); // batch chat calls made or in flight when the turn was accepted
    await finishAll([id, ...batch]);
    const at = interactiveAt('chat');
    expect(at).toBeGreaterThanOrEqual(0);
    // At most one more batch call: a worker may have taken the next batch job just before the turn arrived.
    expect(at).toBeLessThanOrEqual(startedBefore + 1);
    // …and the batch jobs still waiting ran after it (first in, first out would have run them all first).
    expect(requests('chat').length - at - 1).toBeGreaterThanOrEqual(N - startedBefore - 1);
  });

  it('a talk turn reaching the speak stage goes ahead of the batch replies waiting to be spoken', async () => {
    stack.sim.reset();
    stack.sim.configure({ latencyMs: { chat: 0, speech: 200 } });
    const batch = await submitBatch('speak-lane');
    // Every batch reply written: the speak queue holds the batch's replies, one being spoken.
    await waitFor(() => requests('chat').length >= N, {
      message: `the batch's ${N} chat calls`,
      progress: () => requests('chat').length,
    });
    const id = await submitInteractive();
    const spokenBefore = calls('speech');
    await finishAll([id, ...batch]);
    const at = interactiveAt('speech');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThanOrEqual(spokenBefore + 1);
    expect(requests('speech').length - at - 1).toBeGreaterThanOrEqual(N - spokenBefore - 1);
    expect((await getJob(stack.url, id)).status).toBe('succeeded');
  });
});
