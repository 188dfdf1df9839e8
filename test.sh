#!/usr/bin/env bash
# Set-up command 2: install everything into .venv, then run lint, type checks, import contracts
# and the whole test suite (Qt offscreen). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh
export QT_QPA_PLATFORM=offscreen
echo "== ruff"; .venv/bin/ruff check .
echo "== import contracts"; .venv/bin/lint-imports
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/python -m pytest "$@"
