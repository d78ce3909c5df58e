#!/usr/bin/env bash
# Hunts flaky tests: runs the whole suite N times (optionally with a CPU hog — one busy core — beside it)
# and lists every test that failed at least once, with how many runs it failed in.
#   bash scripts/soak-tests.sh 3            # three runs of `npm test`
#   bash scripts/soak-tests.sh 3 --hog      # the same, each beside `node -e 'for(;;){}'`
#   bash scripts/soak-tests.sh 3 --hog-last # quiet runs, and the last one beside the hog
#   bash scripts/soak-tests.sh 1 -- --project unit   # arguments after -- go to vitest
# Reports (one JSON report per run) and a summary go to dist/soak/. Exits 1 when any test failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:?usage: soak-tests.sh N [--hog] [-- vitest args]}
shift
hog=false
hog_last=false
if [ "${1:-}" = --hog ]; then
  hog=true
  shift
elif [ "${1:-}" = --hog-last ]; then
  hog_last=true
  shift
fi
[ "${1:-}" = -- ] && shift
[ -x tools/node_modules/.bin/node ] && export PATH="$PWD/tools/node_modules/.bin:$PATH"

out=dist/soak/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
hog_pid=
stop_hog() { if [ -n "$hog_pid" ]; then kill "$hog_pid" 2>/dev/null || true; wait "$hog_pid" 2>/dev/null || true; hog_pid=; fi; }
trap stop_hog EXIT

for i in $(seq 1 "$runs"); do
  [ "$hog_last" = true ] && [ "$i" -eq "$runs" ] && hog=true
  if [ "$hog" = true ]; then
    node -e 'for(;;){}' &
    hog_pid=$!
  fi
  t=$SECONDS
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "==> run $i/$runs$([ "$hog" = true ] && echo ' (with a CPU hog)'), load average $load"
  if npx vitest run --reporter=dot --reporter=json --outputFile.json="$out/run-$i.json" "$@" >"$out/run-$i.log" 2>&1; then
    status=passed
  else
    status=FAILED
  fi
  stop_hog
  echo "    $status in $((SECONDS - t)) s (log: $out/run-$i.log)"
  echo "run $i: $status in $((SECONDS - t)) s, hog=$hog, load before: $load" >>"$out/runs.txt"
done

node --input-type=module - "$out" "$runs" <<'JS' | tee "$out/summary.txt"
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
const [dir, runs] = process.argv.slice(2);
const failures = new Map();
let missing = 0;
for (let i = 1; i <= Number(runs); i++) {
  const file = `${dir}/run-${i}.json`;
  if (!existsSync(file)) {
    missing++;
    console.log(`run ${i}: no report (the run did not finish: see ${dir}/run-${i}.log)`);
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  for (const f of report.testResults) {
    const name = relative(process.cwd(), f.name);
    if (f.status === 'failed' && f.assertionResults.every((t) => t.status !== 'failed')) {
      const key = `${name} (the file itself: ${String(f.message).split('\n')[0]})`;
      failures.set(key, [...(failures.get(key) ?? []), i]);
    }
    for (const t of f.assertionResults) {
      if (t.status !== 'failed') continue;
      const key = `${name} › ${t.fullName}`;
      failures.set(key, [...(failures.get(key) ?? []), i]);
    }
  }
}
console.log(`\n${runs} run(s) in ${dir}:`);
if (failures.size === 0 && missing === 0) console.log('no test failed in any run');
for (const [test, inRuns] of failures) console.log(`FAILED in run(s) ${inRuns.join(', ')}: ${test}`);
process.exitCode = failures.size > 0 || missing > 0 ? 1 : 0;
JS
