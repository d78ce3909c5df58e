#!/usr/bin/env bash
# One command from a fresh clone to a running service on its embedded defaults:
#   bash scripts/start.sh
# Installs what is missing (the same bootstrap as .ci/run): Debian's redis-server, ffmpeg, pocketsphinx,
# Festival + its HTS voice, espeak-ng and sox; Node 24 into tools/; `npm ci` when node_modules is missing or
# stale. Then `npm start`: the API and every stage worker in one process, the built-in OpenAI simulator when
# OPENAI_API_KEY is unset, and — when no REDIS_URL is set and no Redis answers on 127.0.0.1:6379 — a private
# redis-server (AOF in ./data/redis) that stops with the service. Ctrl-C stops it all.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=./bootstrap.sh
source scripts/bootstrap.sh

echo "==> system packages"
bootstrap_packages start
echo "==> node 24"
bootstrap_node
echo "==> npm ci (when needed)"
bootstrap_npm
echo "==> npm start"
exec npm start
