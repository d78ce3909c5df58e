/**
 * What the voicemail inbox needs from the API: `PATCH /v1/jobs/:id {"handled"}` (tenancy-checked,
 * validated), the list filters (handled, urgency, pipeline, text search) with a cursor that never skips
 * or repeats a job — even jobs of one batch created in the same millisecond — and the input audio's link.
 */
import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VoicebotClient } from '../../packages/sdk/src/client.ts';
import { ApiKeys } from '../../src/shared/api-keys.ts';
import { JobStore, type ListPosition } from '../../src/shared/job-store.ts';
import { FIXTURES, type Job } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

const SURNAMES = (
  'Adams Baker Clark Davis Evans Fisher Garcia Hill Irwin Jones King Lewis Moore Nash Owens Price Quinn Reed ' +
  'Stone Turner Upton Vance Walsh Young Zimmer Abbott Bishop Carter Dunn Ellis Foster Grant Hayes Ingram ' +
  'Jensen Knight Lowe Mason Norris Olsen'
).split(' ');
const name = (i: number) => SURNAMES[i] ?? 'Nobody';
const URGENT = (i: number) =>
  `This is Ann ${name(i)}, it is urgent, please call me back at 555 010 ${1000 + i}.`;
const ROUTINE = (i: number) =>
  `Hi, this is Bob ${name(i)}, I would like to book a cleaning. My number is 555 020 ${2000 + i}.`;

describe('inbox API: handled mark, list filters, cursor paging', () => {
  let stack: Stack;
  let redis: Redis;
  let alice: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Job }>;
  let bob: typeof alice;
  let voicemails: Job[] = [];
  let batchId = '';
  let sdk: VoicebotClient;

  beforeAll(async () => {
    stack = await startStack();
    redis = new Redis(stack.config.redisUrl);
    const keys = new ApiKeys(redis, stack.config.prefix);
    const [a, b] = [await keys.create({ name: 'alice' }), await keys.create({ name: 'bob' })];
    const as = (key: string) => async (method: string, path: string, body?: unknown) => {
      const headers: Record<string, string> = { authorization: `Bearer ${key}` };
      if (body !== undefined && !(body instanceof FormData)) headers['content-type'] = 'application/json';
      const init: RequestInit = { method, headers };
      if (body !== undefined) init.body = body instanceof FormData ? body : JSON.stringify(body);
      const res = await fetch(`${stack.url}${path}`, init);
      return { status: res.status, body: (await res.json()) as Job };
    };
    alice = as(a.key);
    sdk = new VoicebotClient({ baseUrl: stack.url, apiKey: a.key });
    bob = as(b.key);
    await waitFor(async () => (await fetch(`${stack.url}/v1/jobs`)).status === 401, { timeoutMs: 120_000 });

    // 40 text voicemails in one batch (their jobs share created-at milliseconds), 8 of them urgent.
    const items = Array.from({ length: 40 }, (_, i) => ({ text: i % 5 === 0 ? URGENT(i) : ROUTINE(i) }));
    const batch = await alice('POST', '/v1/batches', { pipeline: 'voicemail', items });
    expect(batch.status).toBe(202);
    let counts: unknown;
    await waitFor(
      async () => {
        const view = (await alice('GET', `/v1/batches/${batch.body.id}`)).body;
        counts = view.counts;
        return view.status === 'completed';
      },
      {
        timeoutMs: 120_000,
        intervalMs: 25,
        maxIntervalMs: 250,
        progress: () => counts,
        message: 'the batch of 40 to complete',
      },
    );
    voicemails = await listAll('/v1/jobs?limit=100');
    batchId = batch.body.id;
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  async function listAll(path: string): Promise<Job[]> {
    const out: Job[] = [];
    for (let cursor: string | null = null, pages = 0; pages < 100; pages++) {
      const page = await alice('GET', `${path}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      out.push(...page.body.data);
      cursor = page.body.next_cursor;
      if (!cursor) break;
    }
    return out;
  }

  it('pages through every job exactly once, newest first, filtered or not', async () => {
    expect(voicemails).toHaveLength(40);
    const small = await listAll('/v1/jobs?limit=3');
    expect(small.map((j) => j.id)).toEqual(voicemails.map((j) => j.id));
    const urgent = await listAll('/v1/jobs?urgency=high&pipeline=voicemail&limit=3');
    expect(urgent.map((j) => j.summary.caller_name).sort()).toEqual(
      [0, 5, 10, 15, 20, 25, 30, 35].map((i) => `Ann ${name(i)}`).sort(),
    );
    expect(urgent.map((j) => j.id)).toEqual(
      voicemails.filter((j) => j.summary.urgency === 'high').map((j) => j.id),
    );
    expect((await listAll('/v1/jobs?urgency=low&limit=5')).length).toBe(0);
    // A batch's jobs in item order, filtered or not.
    const items = await listAll(`/v1/jobs?batch_id=${batchId}&limit=7`);
    expect(items.map((j) => j.metadata.index)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const urgentItems = await listAll(`/v1/jobs?batch_id=${batchId}&urgency=high&limit=3`);
    expect(urgentItems.map((j) => j.metadata.index)).toEqual([0, 5, 10, 15, 20, 25, 30, 35]);
    expect((await listAll('/v1/jobs?pipeline=transcribe&limit=5')).length).toBe(0);
  });

  it('a page boundary between jobs of the same millisecond skips none of them', async () => {
    const store = new JobStore(redis, stack.config.prefix, 3600);
    const client = 'same-ms-client';
    const ids = Array.from({ length: 7 }, (_, i) => `job-${i}`);
    // Five jobs created in one millisecond between two others (as a fast batch can make them).
    await redis.zadd(
      store.clientJobsKey(client),
      1000,
      'job-old',
      ...ids.flatMap((id) => [2000, id]),
      3000,
      'job-new',
    );
    const seen: string[] = [];
    let from: ListPosition | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await store.pageForClient(client, 2, from);
      seen.push(...page.ids);
      if (!page.next) break;
      from = page.next;
    }
    expect(seen[0]).toBe('job-new');
    expect(seen.at(-1)).toBe('job-old');
    expect([...seen].sort()).toEqual(['job-new', 'job-old', ...ids].sort());
  });

  it('searches caller, number (digits in any format) and summary', async () => {
    const byName = await listAll('/v1/jobs?q=bob%20nash&limit=10');
    expect(byName.map((j) => j.summary.caller_name)).toEqual(['Bob Nash']);
    const byNumber = await listAll(`/v1/jobs?q=${encodeURIComponent('(555) 020-2007')}&limit=10`);
    expect(byNumber.map((j) => j.summary.callback_number)).toEqual(['555-020-2007']);
    const bySummary = await listAll('/v1/jobs?q=cleaning&urgency=normal&limit=50');
    expect(bySummary).toHaveLength(32);
  });

  it('marks handled and unhandled; the list filters on it; another client gets 404', async () => {
    const [first, second] = voicemails;
    if (!first || !second) throw new Error('no voicemails');
    const marked = await alice('PATCH', `/v1/jobs/${first.id}`, { handled: true });
    expect(marked.status).toBe(200);
    expect(marked.body.handled).toBe(true);
    expect(Date.parse(marked.body.handled_at)).toBeGreaterThan(Date.parse(first.created_at));
    expect((await alice('GET', `/v1/jobs/${first.id}`)).body.handled).toBe(true);
    await alice('PATCH', `/v1/jobs/${second.id}`, { handled: true });

    const handled = await listAll('/v1/jobs?handled=true&limit=10');
    expect(handled.map((j) => j.id)).toEqual([first.id, second.id]);
    const open = await listAll('/v1/jobs?handled=false&limit=10');
    expect(open).toHaveLength(38);
    expect(open.map((j) => j.id)).not.toContain(first.id);

    const undone = await alice('PATCH', `/v1/jobs/${second.id}`, { handled: false });
    expect(undone.body).toMatchObject({ handled: false, handled_at: null });
    // The SDK does the same.
    expect((await sdk.setHandled(second.id, true)).handled).toBe(true);
    const page = await sdk.list({ handled: true, pipeline: 'voicemail', limit: 10 });
    expect(page.data.map((j) => j.id)).toEqual([first.id, second.id]);
    await sdk.setHandled(second.id, false);
    expect((await listAll('/v1/jobs?handled=true&limit=10')).map((j) => j.id)).toEqual([first.id]);

    // Another client cannot see or change it; a bad body is a 400 naming the field.
    const theirs = await bob('PATCH', `/v1/jobs/${second.id}`, { handled: true });
    expect(theirs.status).toBe(404);
    expect((await alice('GET', `/v1/jobs/${second.id}`)).body.handled).toBe(false);
    expect(
      (await bob('PATCH', '/v1/jobs/00000000-0000-4000-8000-000000000000', { handled: true })).status,
    ).toBe(404);
    for (const bad of [{ handled: 'yes' }, {}, { handled: true, status: 'failed' }]) {
      const res = await alice('PATCH', `/v1/jobs/${first.id}`, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    expect((await alice('GET', '/v1/jobs?handled=maybe')).status).toBe(400);
    expect((await alice('GET', '/v1/jobs?urgency=critical')).status).toBe(400);
  });

  it('an audio job links its uploaded recording (input.url); a text job has none', async () => {
    const wav = await readFile(`${FIXTURES}/question.wav`);
    const form = new FormData();
    form.append('pipeline', 'voicemail');
    form.append('audio', new Blob([new Uint8Array(wav)]), 'question.wav');
    const created = await alice('POST', '/v1/jobs', form);
    expect(created.status).toBe(202);
    const res = await fetch(created.body.input.url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(wav)).toBe(true);
    expect(voicemails[0]?.input.url).toBeNull();
  });
});
