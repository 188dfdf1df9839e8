#!/usr/bin/env bash
# Create .venv under the repository and install Chorus with its test tools (idempotent: re-runs only
# when pyproject.toml changed). Needs Python 3.11+ on PATH (python3.11 preferred).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
stamp=.venv/.chorus-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/python ]; then
  exit 0
fi
echo "Installing Chorus into .venv (first run downloads torch and friends: a few minutes)..." >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
echo "$want" > "$stamp"
