/**
 * scripts/bootstrap.sh, the set-up both commands share (.ci/run and scripts/start.sh): `npm ci` runs when
 * node_modules is missing or was installed from another package-lock.json, and only then. Driven with a
 * stand-in `npm` on PATH that records its calls (and makes node_modules as npm ci would).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BOOTSTRAP = join(import.meta.dirname, '..', '..', 'scripts', 'bootstrap.sh');
const run = promisify(execFile);

describe('scripts/bootstrap.sh', () => {
  let dir: string;
  let calls: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vb-bootstrap-'));
    calls = join(dir, 'npm-calls');
    await mkdir(join(dir, 'bin'));
    const npm = join(dir, 'bin', 'npm');
    await writeFile(npm, `#!/bin/sh\necho "npm $*" >> ${calls}\nmkdir -p node_modules\n`);
    await chmod(npm, 0o755);
    await mkdir(join(dir, 'repo'));
    await writeFile(join(dir, 'repo', 'package-lock.json'), '{"lockfileVersion":3}\n');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const bootstrapNpm = async () => {
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', `source ${BOOTSTRAP}; bootstrap_npm`], {
      cwd: join(dir, 'repo'),
      env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}` },
    });
    const npmCalls = (await readFile(calls, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
    return { stdout, npmCalls };
  };

  it('runs npm ci when node_modules is missing, skips it when up to date, runs it again for a new lock', async () => {
    const first = await bootstrapNpm();
    expect(first.stdout).toContain('node_modules missing or stale: npm ci');
    expect(first.npmCalls).toEqual(['npm ci --no-audit --no-fund']);

    const again = await bootstrapNpm();
    expect(again.stdout).toContain('node_modules up to date with package-lock.json');
    expect(again.npmCalls).toHaveLength(1);

    await writeFile(join(dir, 'repo', 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
    const changed = await bootstrapNpm();
    expect(changed.stdout).toContain('npm ci');
    expect(changed.npmCalls).toHaveLength(2);
  });
});
