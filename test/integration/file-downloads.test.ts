import { randomUUID } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStorage } from '../../src/shared/storage/index.ts';
import { type Stack, startStack } from '../support/stack.ts';

/** What a download ended as: an HTTP status with its whole body, or the error fetch threw (a cut connection). */
type Outcome = { status: number; body: string } | { error: string };

async function download(url: string): Promise<Outcome> {
  try {
    const res = await fetch(url);
    return { status: res.status, body: await res.text() };
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return { error: `${(err as Error).message}${cause ? `: ${cause}` : ''}` };
  }
}

describe('signed file downloads (local storage) racing deletes', () => {
  let stack: Stack;
  let storage: LocalStorage;
  beforeAll(async () => {
    stack = await startStack({ workers: false });
    storage = stack.api.deps.storage as LocalStorage;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answer 200 with the whole file or 404, never a cut connection, whenever the delete lands', async () => {
    const content = 'x'.repeat(256 * 1024);
    const outcomes: Outcome[] = [];
    // Each round, 16 downloads of one file are started one event-loop turn apart and the file is deleted
    // among them, so the delete lands before, between and after the server's file-system calls for each.
    for (let round = 0; round < 50; round++) {
      const prefix = `jobs/${randomUUID()}/`;
      await storage.put(`${prefix}reply.txt`, content, { contentType: 'text/plain' });
      const url = (await storage.signedUrl(`${prefix}reply.txt`, 60)).replace(storage.baseUrl, stack.url);
      const downloads: Array<Promise<Outcome>> = [];
      let deleted: Promise<void> | undefined;
      for (let i = 0; i < 16; i++) {
        if (i === round % 16) deleted = storage.deletePrefix(prefix);
        downloads.push(download(url));
        await tick();
      }
      await deleted;
      outcomes.push(...(await Promise.all(downloads)));
    }
    const cut = outcomes.filter((o) => 'error' in o);
    const count = (status: number) => outcomes.filter((o) => 'status' in o && o.status === status).length;
    expect(cut, 'downloads cut off').toEqual([]);
    for (const o of outcomes) {
      if (!('status' in o)) continue;
      expect([200, 404]).toContain(o.status);
      if (o.status === 200) expect(o.body.length).toBe(content.length);
      else expect(JSON.parse(o.body)).toMatchObject({ code: 'not_found' });
    }
    // The deletes landed on both sides of the downloads (else the race was not run).
    expect(count(200)).toBeGreaterThan(0);
    expect(count(404)).toBeGreaterThan(0);
    // A download after the delete is a plain 404.
    const gone = `jobs/${randomUUID()}/reply.txt`;
    const res = await fetch((await storage.signedUrl(gone, 60)).replace(storage.baseUrl, stack.url));
    expect(res.status).toBe(404);
  });
});
