import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Hash-writing commands, as ioredis methods or inside Lua. */
const HASH_WRITES =
  /\.(hset|hsetnx|hmset|hdel|hincrby|hincrbyfloat)\(|['"](HSET|HSETNX|HMSET|HDEL|HINCRBY)['"]/i;

/** Modules that write hashes of their own (never a job's): API keys and clients; a queue's 429 pause. */
const OTHER_HASH_WRITERS = ['src/shared/api-keys.ts', 'src/shared/queue-pause.ts'];

describe('one writer of job records', () => {
  it('no module outside src/shared/lifecycle/ writes a hash that could be a job record', async () => {
    const offenders: string[] = [];
    const writers: string[] = [];
    for (const file of await sources(join(ROOT, 'src'))) {
      const rel = relative(ROOT, file);
      if (rel.startsWith(join('src', 'shared', 'lifecycle'))) continue;
      const text = await readFile(file, 'utf8');
      if (!HASH_WRITES.test(text)) continue;
      writers.push(rel);
      // Other hashes may be written where they live — as long as nothing there names a job's key.
      if (/:job:|store\.key\(|jobKey|JobStore/.test(text)) offenders.push(rel);
      else if (!OTHER_HASH_WRITERS.includes(rel)) offenders.push(rel);
    }
    expect(offenders).toEqual([]);
    // Every allowed module still writes a hash: an entry that no longer does is taken off the list.
    expect(writers.filter((w) => OTHER_HASH_WRITERS.includes(w)).sort()).toEqual(
      [...OTHER_HASH_WRITERS].sort(),
    );
  });

  it('the rule sees a write when there is one', () => {
    expect(HASH_WRITES.test("await redis.hset(store.key(id), 'status', 'x')")).toBe(true);
    expect(HASH_WRITES.test("redis.call('HSET', KEYS[1], 'a', 'b')")).toBe(true);
    expect(HASH_WRITES.test('await redis.hgetall(key)')).toBe(false);
  });
});
