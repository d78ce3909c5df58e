#!/usr/bin/env bash
# The README's first curl, as a check: waits for the API at $1 (default http://localhost:3000), submits
# test/fixtures/question.wav to POST /v1/jobs, polls the job until it ends and exits 0 only if it
# succeeded. Prints the job's status, transcript and reply. Used by .github/workflows/ci.yml.
set -euo pipefail
base=${1:-http://localhost:3000}
timeout=${SMOKE_TIMEOUT_SECONDS:-180}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

field() { node -e 'let s="";process.stdin.on("data",(c)=>(s+=c)).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];console.log(v===null||v===undefined?"":v)})' "$1"; }

for ((i = 0; i < timeout; i++)); do
  curl -sf "$base/healthz" >/dev/null && break
  sleep 1
done
curl -sf "$base/healthz" >/dev/null || { echo "smoke: $base/healthz did not answer in ${timeout}s" >&2; exit 1; }

created=$(curl -sS -f -F audio=@test/fixtures/question.wav "$base/v1/jobs")
id=$(field id <<<"$created")
echo "smoke: job $id queued"
status=queued
for ((i = 0; i < timeout; i++)); do
  job=$(curl -sS -f "$base/v1/jobs/$id")
  status=$(field status <<<"$job")
  case $status in succeeded | failed | canceled) break ;; esac
  sleep 1
done
echo "smoke: status=$status"
echo "smoke: transcript=$(field transcript <<<"$job")"
echo "smoke: reply_text=$(field reply_text <<<"$job")"
[ "$status" = succeeded ] || { echo "smoke: the job did not succeed: $job" >&2; exit 1; }
