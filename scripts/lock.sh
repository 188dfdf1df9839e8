#!/usr/bin/env bash
# Refresh requirements.lock, the exact set of packages a fresh clone installs (scripts/install.sh).
# Run it after changing dependencies in pyproject.toml, then run ./test.sh (tests/unit/test_lock.py
# fails while the lock and pyproject disagree) and commit both files together.
# The lock is "universal": one file with environment markers for Linux, macOS and Windows, resolved
# for the oldest Python we support. Hashes are kept, so a tampered or re-uploaded wheel is refused.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/uv.sh
"$UV" pip compile pyproject.toml --extra test --universal --python-version 3.11 \
  --generate-hashes --no-header --quiet -o requirements.lock.new "$@"
{
  echo "# requirements.lock: every package Chorus installs, exact versions and hashes (Linux, macOS, Windows)."
  echo "# Written by scripts/lock.sh from pyproject.toml (dependencies + the 'test' extra); do not edit by hand."
  echo "# Installed by scripts/install.sh. dependencies sha256: $("$PY" scripts/deps_hash.py)"
  cat requirements.lock.new
} > requirements.lock
rm -f requirements.lock.new
echo "requirements.lock: $(grep -c '^[a-z0-9]' requirements.lock) packages" >&2
