#!/usr/bin/env bash
# Smoke test of a built desktop bundle (scripts/bundle.sh):  scripts/bundle_smoke.sh dist/cpu/chorus
# Runs the bundled `chorus` with no display and a throw-away data folder, and prints PASS/FAIL per step:
#   1. `chorus --help`
#   2. render the game demo with Piper (the frozen engine process, `chorus _engine`) and export it to MP3
#   3. per-line export of the game demo in a game engine's layout (files + manifest)
#   4. the studio opens offscreen on the demo and is still up after a few seconds
#   5. the studio opens, closes itself (CHORUS_STUDIO_SMOKE) and exits with status 0, no traceback
#   6. bundles with torch (cpu, cuda): one line rendered by Higgs on the CPU, from the checkpoint folder
#      CHORUS_SMOKE_HIGGS_MODEL, else a tiny random one that the dev .venv builds (tests/engine/higgs_tiny.py)
# Exit status: the number of failed steps.
set -uo pipefail
bundle=${1:?usage: scripts/bundle_smoke.sh BUNDLE_DIR}
exe=$bundle/chorus
[ -x "$exe" ] || { echo "no executable at $exe" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CHORUS_HOME=$tmp/home CHORUS_VOICE_BANK=$tmp/bank QT_QPA_PLATFORM=offscreen
unset DISPLAY WAYLAND_DISPLAY
failed=0
step() { # step NAME SECONDS COMMAND...: run it with a time limit, its output in $tmp/NAME.log
  local name=$1 limit=$2 t0 rc
  shift 2
  t0=$(date +%s)
  timeout "$limit" "$@" >"$tmp/$name.log" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then check "$name" "$t0"; else
    echo "FAIL  $name (exit $rc, $(($(date +%s) - t0)) s)"
    tail -n 15 "$tmp/$name.log" | sed 's/^/      /'
    failed=$((failed + 1))
  fi
}
check() { # a step that exited 0 still fails on a traceback in its output
  if grep -q '^Traceback' "$tmp/$1.log"; then
    echo "FAIL  $1 (a traceback in its output)"
    grep -A12 '^Traceback' "$tmp/$1.log" | sed 's/^/      /'
    failed=$((failed + 1))
  else
    echo "PASS  $1 ($(($(date +%s) - $2)) s)"
  fi
}
has() { # has FILE MIN_BYTES: the step produced a file at least that large
  [ -f "$1" ] && [ "$(stat -c %s "$1")" -ge "$2" ]
}

step help 120 "$exe" --help
grep -q 'usage: chorus' "$tmp/help.log" || { echo "FAIL  help (no usage line)"; failed=$((failed + 1)); }

demo=$CHORUS_HOME/projects/tavern.chorus
step demo-render-export 900 "$exe" demo --game --no-gui --out "$tmp/tavern.mp3"
if has "$tmp/tavern.mp3" 10000; then echo "PASS  demo mp3 ($(stat -c %s "$tmp/tavern.mp3") bytes)"; else
  echo "FAIL  demo mp3 (missing or empty: $tmp/tavern.mp3)"
  failed=$((failed + 1))
fi

step export-lines 300 "$exe" export "$demo" "$tmp/lines" --profile unreal
wavs=$(find "$tmp/lines" -name '*.wav' 2>/dev/null | wc -l)
if [ "$wavs" -gt 0 ]; then echo "PASS  per-line files ($wavs WAVs)"; else
  echo "FAIL  per-line files (no WAV under $tmp/lines)"
  failed=$((failed + 1))
fi

# The studio stays up: started on the demo, alive after a few seconds, then stopped.
"$exe" studio "$demo" >"$tmp/studio-up.log" 2>&1 &
pid=$!
sleep 8
if kill -0 "$pid" 2>/dev/null && ! grep -q '^Traceback' "$tmp/studio-up.log"; then
  echo "PASS  studio-up (running after 8 s)"
else
  echo "FAIL  studio-up (gone or a traceback within 8 s)"
  tail -n 15 "$tmp/studio-up.log" | sed 's/^/      /'
  failed=$((failed + 1))
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

# The studio closes cleanly: the app's own smoke switch closes the window once it is open.
CHORUS_STUDIO_SMOKE=1 step studio-close 120 "$exe" studio "$demo"

# Higgs on the CPU, where the bundle carries torch (a random tiny checkpoint only shows the path works).
if [ -d "$bundle/_internal/torch" ]; then
  model=${CHORUS_SMOKE_HIGGS_MODEL:-}
  repo=$(cd "$(dirname "$0")/.." && pwd)
  if [ -z "$model" ] && [ -x "$repo/.venv/bin/python" ]; then
    model=$tmp/higgs-tiny
    (cd "$repo" && .venv/bin/python -c "
import shutil, sys
sys.path[:0] = ['tests', 'tests/engine']
from higgs_tiny import tiny_model_dir
shutil.copytree(tiny_model_dir(), sys.argv[1])" "$model") >"$tmp/higgs-model.log" 2>&1 || model=
  fi
  if [ -n "$model" ]; then
    higgs=$tmp/higgs.chorus
    { "$exe" new "$higgs" && "$exe" speakers set "$higgs" Ann --create --smart &&
      "$exe" lines add "$higgs" Ann "Hello there, this is Higgs on the CPU." &&
      "$exe" settings "$higgs" backend higgs && "$exe" settings "$higgs" model "$model" &&
      "$exe" settings "$higgs" device cpu; } >"$tmp/higgs-setup.log" 2>&1
    step higgs-cpu 600 "$exe" render "$higgs" --no-check
    grep -q 'Rendered 1 line(s).*0 failed' "$tmp/higgs-cpu.log" || {
      echo "FAIL  higgs-cpu (no line rendered)"
      tail -n 5 "$tmp/higgs-cpu.log" | sed 's/^/      /'
      failed=$((failed + 1))
    }
  else
    echo "SKIP  higgs-cpu (set CHORUS_SMOKE_HIGGS_MODEL to a Higgs checkpoint folder)"
  fi
fi

echo "bundle $bundle: $(du -sh "$bundle" | cut -f1); $([ "$failed" = 0 ] && echo "all steps passed" || echo "$failed step(s) failed")"
exit "$failed"
