# shellcheck shell=bash
# The set-up shared by the two commands — `bash .ci/run` (tests) and `bash scripts/start.sh` (the service):
# sourced by both, from the repo root, under `set -euo pipefail`. Installs only what is missing:
#   bootstrap_packages start|test   Debian packages (apt-get, as root or through sudo)
#   bootstrap_node                  Node 24 into tools/ (git-ignored), put first on PATH
#   bootstrap_npm                   `npm ci` when node_modules is missing or older than package-lock.json

export DEBIAN_FRONTEND=noninteractive
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false npm_config_progress=false

bootstrap_die() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -E "$@"; else
    bootstrap_die "need root (or sudo) to run: $*"
  fi
}

bootstrap_apt_updated=false
apt_install() {
  if [ "$bootstrap_apt_updated" = false ]; then
    as_root apt-get update -qq </dev/null
    bootstrap_apt_updated=true
  fi
  as_root apt-get install -y -qq --no-install-recommends "$@" </dev/null >/dev/null
}

# bootstrap_packages start|test — what the service needs (start), plus what only the tests use (test).
bootstrap_packages() {
  local purpose=$1
  local missing=()
  need() { # need <command> <package…>
    local cmd=$1
    shift
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$@")
  }
  # The service: Redis (npm start runs a private one when none answers), ffmpeg/ffprobe for audio.
  need redis-server redis-server
  need ffmpeg ffmpeg
  # The built-in simulator (no OPENAI_API_KEY): pocketsphinx hears, Festival's HTS voice speaks
  # (espeak-ng is the fallback), sox for the audio helpers.
  need espeak-ng espeak-ng
  need text2wave festival festvox-us-slt-hts
  [ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ] || missing+=(festvox-us-slt-hts)
  need sox sox
  need pocketsphinx_continuous pocketsphinx pocketsphinx-en-us
  # The acoustic model is only a Recommends of pocketsphinx: make sure it is there too.
  [ -d /usr/share/pocketsphinx/model/en-us ] || missing+=(pocketsphinx-en-us)
  if [ "$purpose" = test ]; then
    need docker-compose docker-compose
    need chromium chromium
    # promtool (checks and unit-tests deploy/prometheus/alerts.yml) comes with Debian's prometheus package.
    need promtool prometheus
    # The original Python client of /api/voicebot/ (requests) is exercised by a test.
    /usr/bin/python3 -c 'import requests' >/dev/null 2>&1 || missing+=(python3-requests)
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "installing: ${missing[*]}"
    apt_install "${missing[@]}"
  else
    echo "all present"
  fi
}

# Node 24 in tools/ (Debian's Node 20 and npm, installed when there is no npm at all, only fetch it).
bootstrap_node() {
  if [ ! -x tools/node_modules/.bin/node ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "no npm on this machine: installing Debian's nodejs + npm to bootstrap"
      apt_install nodejs npm
    fi
    npm install --no-save --no-package-lock --prefix tools node@24 </dev/null
  fi
  export PATH="$PWD/tools/node_modules/.bin:$PATH"
  local version
  version=$(node --version)
  case "$version" in
    v24.*) ;;
    *) bootstrap_die "expected Node 24 from tools/, got $version ($(command -v node))" ;;
  esac
  echo "node $version ($(command -v node))"
}

# `npm ci` when node_modules is missing, or was installed from another package-lock.json (its hash is
# kept in node_modules/.package-lock.sha256 after each install).
bootstrap_npm() {
  local stamp=node_modules/.package-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "node_modules up to date with package-lock.json"
    return 0
  fi
  echo "node_modules missing or stale: npm ci"
  npm ci --no-audit --no-fund </dev/null
  echo "$want" >"$stamp"
}
