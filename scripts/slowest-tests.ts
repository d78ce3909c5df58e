/**
 * Prints the slowest test files of a vitest JSON report (`--reporter=json --outputFile.json=<file>`), with
 * their time, test count and failures: `node scripts/slowest-tests.ts dist/test-report.json [10]`.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface FileResult {
  name: string;
  startTime: number;
  endTime: number;
  status: string;
  assertionResults: Array<{ status: string }>;
}

const [path = 'dist/test-report.json', count = '10'] = process.argv.slice(2);
const report = JSON.parse(readFileSync(path, 'utf8')) as {
  testResults: FileResult[];
  startTime: number;
  numTotalTests: number;
  numFailedTests: number;
};
const files = report.testResults
  .map((f) => ({
    file: relative(process.cwd(), f.name),
    seconds: (f.endTime - f.startTime) / 1000,
    tests: f.assertionResults.length,
    failed: f.assertionResults.filter((t) => t.status === 'failed').length,
  }))
  .sort((a, b) => b.seconds - a.seconds);
const sum = files.reduce((s, f) => s + f.seconds, 0);
console.log(`${files.length} test files, ${report.numTotalTests} tests (${report.numFailedTests} failed);`);
console.log(`file times add up to ${sum.toFixed(0)} s (files run in parallel: the wall time is less)`);
console.log(`the ${Math.min(Number(count), files.length)} slowest:`);
for (const f of files.slice(0, Number(count))) {
  const failed = f.failed ? `, ${f.failed} FAILED` : '';
  console.log(`${f.seconds.toFixed(1).padStart(8)} s  ${f.file} (${f.tests} tests${failed})`);
}
