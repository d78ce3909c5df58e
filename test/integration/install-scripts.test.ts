/**
 * Every dependency's install script is a decision recorded in package.json's `allowScripts` (npm 11): a
 * new dependency with an install script fails here until someone approves or denies it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  allowScripts?: Record<string, boolean>;
};

describe('install scripts', () => {
  it('no installed dependency has an install script left undecided', () => {
    const out = execFileSync('npm', ['install-scripts', 'ls'], { cwd: root, encoding: 'utf8' });
    expect(out.trim()).toBe('No packages with unreviewed install scripts.');
  });

  it('the analytics ping is refused, and nothing is allowed to run', () => {
    expect(pkg.allowScripts?.['@scarf/scarf']).toBe(false);
    expect(Object.entries(pkg.allowScripts ?? {}).filter(([, allowed]) => allowed)).toEqual([]);
  });
});
