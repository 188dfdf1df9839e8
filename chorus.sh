#!/usr/bin/env bash
# Set-up command 1: install everything into .venv, then open the studio on the demo podcast
# (with no display: render the demo podcast with Piper and export it to an MP3).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh
exec .venv/bin/chorus demo "$@"
