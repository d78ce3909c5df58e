/**
 * Writes the API's OpenAPI 3.1 document (what `GET /openapi.json` serves, on the default settings) to a
 * file, for linters and client generators: `node scripts/openapi.ts [dist/openapi.json]`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { buildOpenApiDocument } from '../src/api/openapi.ts';
import { loadConfig } from '../src/shared/config.ts';

export function writeOpenApiDocument(file: string): void {
  const doc = buildOpenApiDocument(loadConfig({ NODE_ENV: 'development' }));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
}

if (import.meta.main) {
  const out = resolve(process.argv[2] ?? 'dist/openapi.json');
  writeOpenApiDocument(out);
  console.log(`wrote ${out}`);
}
