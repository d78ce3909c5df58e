/**
 * Type-checks one file of a scratch folder the way a strict client project would (its own tsconfig: strict,
 * nodenext, DOM types, no @types), with this repository's TypeScript. Returns what tsc printed: '' when the
 * file type-checks and every `@ts-expect-error` in it meets an error.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TSC = resolve(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsc');

export async function typeErrorsOf(dir: string, file: string): Promise<string> {
  const config = join(dir, `tsconfig.${file.replace(/\W/g, '_')}.json`);
  await writeFile(
    config,
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module: 'nodenext',
        allowImportingTsExtensions: true,
        lib: ['es2022', 'dom'],
        types: [],
      },
      include: [file],
    }),
  );
  const tsc = await run(TSC, ['-p', config], { cwd: dir }).catch(
    (err: { stdout: string; stderr: string }) => err,
  );
  return `${tsc.stdout}${tsc.stderr}`;
}
