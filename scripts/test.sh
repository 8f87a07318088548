#!/usr/bin/env bash
# Set up everything the test suite needs from nothing, then run all checks and tests.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# System packages (Debian), installed only when missing: Chromium for the browser tests,
# ffmpeg to encode the MP3/M4A files the audio-input tests decode.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${missing[*]} (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "== ${missing[*]} not found and cannot apt-get: the tests that need them will be skipped"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'

# Node packages for cross-checks with other readers (scan-chart), when npm is present.
if [ -f tests/js/package.json ] && command -v npm >/dev/null 2>&1; then
  echo "== npm packages for cross-checks"
  (cd tests/js && { npm ci --silent --no-audit --no-fund || npm install --silent --no-audit --no-fund; }) >/dev/null
fi

echo "== ruff";         .venv/bin/ruff check src tests bench training
echo "== mypy";         .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
echo "== pytest"
.venv/bin/python -m pytest -q "$@"
