/**
 * Builds the browser page into dist/web/: index.html, favicon.svg and content-hashed, minified
 * assets/app-<hash>.js and assets/app-<hash>.css (cache them forever; index.html never).
 *
 *   npm run build            (node web/build.ts [--out dir])
 */
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const WEB = import.meta.dirname;
const ROOT = resolve(WEB, '..');
export const DEFAULT_OUT_DIR = join(ROOT, 'dist', 'web');

export interface BuiltFile {
  path: string;
  bytes: number;
  gzipBytes: number;
}

export async function buildWeb(outDir = DEFAULT_OUT_DIR): Promise<BuiltFile[]> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [
      { in: join(WEB, 'src', 'main.ts'), out: 'app' },
      { in: join(WEB, 'src', 'styles.css'), out: 'app' },
    ],
    outdir: outDir,
    entryNames: 'assets/[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => `/${relative(outDir, resolve(ROOT, p))}`);
  const js = outputs.find((p) => p.endsWith('.js'));
  const css = outputs.find((p) => p.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild produced no app bundle: ${outputs.join(', ')}`);

  const template = await readFile(join(WEB, 'index.html'), 'utf8');
  const html = template
    .replace('href="/app.css"', `href="${css}"`)
    .replace('src="/app.js"', `src="${js}"`)
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/>\s*\n\s*</g, '><')
    .trim();
  if (!html.includes(js) || !html.includes(css)) throw new Error('index.html must link /app.css and /app.js');
  await writeFile(join(outDir, 'index.html'), `${html}\n`);
  await copyFile(join(WEB, 'favicon.svg'), join(outDir, 'favicon.svg'));

  const files = ['/index.html', '/favicon.svg', css, js];
  return Promise.all(
    files.map(async (f) => {
      const full = join(outDir, f);
      return { path: f, bytes: (await stat(full)).size, gzipBytes: gzipSync(await readFile(full)).length };
    }),
  );
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const outDir = values.out ? resolve(values.out) : DEFAULT_OUT_DIR;
  const files = await buildWeb(outDir);
  for (const f of files)
    console.log(`${relative(ROOT, join(outDir, f.path)).padEnd(40)} ${f.bytes} B (${f.gzipBytes} B gzip)`);
  console.log(`built ${basename(outDir)}/ in ${relative(process.cwd(), outDir) || '.'}`);
}
