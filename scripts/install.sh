#!/usr/bin/env bash
# Install Chorus and its test tools into .venv from requirements.lock (exact versions, hashes checked).
# Idempotent and self-repairing: when the lock is unchanged it only checks that the heavy binary
# packages still import (torch, torchaudio, PySide6, piper, onnxruntime); a venv that fails that check is
# repaired (reinstalled from the lock), never trusted. Needs Python 3.11+ (python3.11 preferred).
# macOS / Windows: the same lock carries their markers; there run
#   python3.11 -m venv .venv && .venv/bin/pip install -r requirements.lock && .venv/bin/pip install --no-deps -e .
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.chorus-installed
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
check='import torch, torchaudio, PySide6.QtCore, piper, onnxruntime, transformers, soundfile, studio, engine'

healthy() { .venv/bin/python -c "$check" >/dev/null 2>&1; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/python ] && healthy; then
  exit 0
fi
t0=$(date +%s)
echo "Installing Chorus into .venv from requirements.lock (the first run downloads torch: a few minutes)" >&2
source scripts/uv.sh
if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "- creating .venv with $("$PY" --version 2>&1)" >&2
  find .venv -mindepth 1 -maxdepth 1 ! -name .uv -exec rm -rf {} + 2>/dev/null || true
  "$PY" -m venv .venv
fi
reinstall=()
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "- the lock is installed but imports fail: repairing (reinstalling from the lock)" >&2
  reinstall=(--reinstall)
fi
rm -f "$stamp"
echo "- syncing packages with the lock" >&2
"$UV" pip sync --quiet --python .venv/bin/python "${reinstall[@]}" requirements.lock
echo "- installing Chorus itself (editable)" >&2
"$UV" pip install --quiet --python .venv/bin/python --no-deps -e .
if ! err=$(.venv/bin/python -c "$check" 2>&1); then
  echo "$err" | tail -3 >&2
  echo "The installed packages do not import (above). Delete .venv and run this again." >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "- done in $(( $(date +%s) - t0 )) s; .venv is $(du -sh .venv | cut -f1)" >&2
