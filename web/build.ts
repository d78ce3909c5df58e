/**
 * Builds the browser pages into dist/web/: index.html (talk), inbox.html (the voicemail inbox at /inbox),
 * favicon.svg and content-hashed, minified assets/app-<hash>.js|css and assets/inbox-<hash>.js|css (cache
 * them forever; the HTML never). The inbox page uses app.css as its base.
 *
 *   npm run build            (node web/build.ts [--out dir])
 */
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { generateJobStates } from '../packages/sdk/generate.ts';

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
  // The pages read the job states' run-time values from the SDK's generated folder (not committed).
  generateJobStates();
  const result = await build({
    entryPoints: [
      { in: join(WEB, 'src', 'main.ts'), out: 'app' },
      { in: join(WEB, 'src', 'styles.css'), out: 'app' },
      { in: join(WEB, 'src', 'inbox', 'main.ts'), out: 'inbox' },
      { in: join(WEB, 'src', 'inbox', 'inbox.css'), out: 'inbox' },
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
  const asset = (name: string, ext: string) => {
    const found = outputs.find((p) => p.startsWith(`/assets/${name}-`) && p.endsWith(ext));
    if (!found) throw new Error(`esbuild produced no ${name}${ext}: ${outputs.join(', ')}`);
    return found;
  };
  const [js, css, inboxJs, inboxCss] = [
    asset('app', '.js'),
    asset('app', '.css'),
    asset('inbox', '.js'),
    asset('inbox', '.css'),
  ];
  const links: Record<string, string> = {
    '/app.js': js,
    '/app.css': css,
    '/inbox.js': inboxJs,
    '/inbox.css': inboxCss,
  };
  for (const page of ['index.html', 'inbox.html']) {
    const template = await readFile(join(WEB, page), 'utf8');
    const html = template
      .replace(
        /(href|src)="(\/(?:app|inbox)\.(?:js|css))"/g,
        (_, attr: string, link: string) => `${attr}="${links[link]}"`,
      )
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/>\s*\n\s*</g, '><')
      .trim();
    if (/="\/(app|inbox)\.(js|css)"/.test(html) || !html.includes(css))
      throw new Error(`${page} must link /app.css and its script (/app.js or /inbox.js)`);
    await writeFile(join(outDir, page), `${html}\n`);
  }
  await copyFile(join(WEB, 'favicon.svg'), join(outDir, 'favicon.svg'));

  const files = ['/index.html', '/favicon.svg', css, js, '/inbox.html', inboxCss, inboxJs];
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
