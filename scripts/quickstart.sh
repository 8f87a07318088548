#!/usr/bin/env bash
# Set up Backbeat in .venv and run it on the built-in demo song (analysis, charts, then the play-along app).
# Extra arguments go to `backbeat demo` (e.g. --no-serve, --port 8001).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== setting up .venv (the first run downloads the dependencies)"
{
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e .
} >"$log" 2>&1 || { cat "$log"; echo "setup failed (see above)" >&2; exit 1; }
exec .venv/bin/backbeat demo "$@"
