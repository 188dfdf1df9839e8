#!/usr/bin/env bash
# Build the desktop bundle (PyInstaller, build.spec) in a build venv of its own, never the dev .venv:
#   scripts/bundle.sh cpu    torch + torchaudio CPU wheels: Piper, remote servers, Higgs on CPU  -> dist/cpu/chorus/
#   scripts/bundle.sh cuda   torch + torchaudio CUDA wheels, exactly as in the lock (NVIDIA libs ride along)
#   scripts/bundle.sh lite   no torch at all: Piper, remote servers and speech recognition; no in-process Higgs
# Every flavour installs requirements.lock (exact versions, hashes checked); only torch/torchaudio (and,
# off CUDA, the NVIDIA/triton packages they pull in) differ. The CPU wheels are the lock's torch version
# with "+cpu" (torchaudio only loads beside its own torch), from CHORUS_TORCH_CPU_INDEX: a package index
# URL (default the PyTorch CPU index) or a folder holding the two wheels.
# Then: scripts/bundle_smoke.sh dist/FLAVOUR/chorus
set -euo pipefail
flavour=${1:-}
case "$flavour" in cpu | cuda | lite) ;; *)
  echo "usage: scripts/bundle.sh cpu|cuda|lite" >&2
  exit 2
  ;;
esac
cd "$(dirname "$0")/.."
source scripts/uv.sh
t0=$(date +%s)
work=build/bundle-$flavour
venv=$work/venv
dist=dist/$flavour
torch_version=$(sed -n 's/^torch==\([^ ;]*\).*/\1/p' requirements.lock)
pyinstaller_version=6.22.3
mkdir -p "$work"

# The lock, less what this flavour replaces (entries span several lines: name==version ... hashes ... # via).
"$PY" - "$flavour" requirements.lock "$work/requirements.txt" <<'EOF'
import re, sys
flavour, src, dst = sys.argv[1:]
drop = re.compile(r"^(torch|torchaudio|triton|nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+)==")
keep, out = True, []
for line in open(src):
    if line and not line[0].isspace() and not line.startswith("#"):
        keep = flavour == "cuda" or not drop.match(line)
    if keep:
        out.append(line)
open(dst, "w").writelines(out)
EOF

echo "- build venv $venv ($flavour)" >&2
"$UV" venv --quiet --allow-existing --python "$PY" "$venv"
"$UV" pip sync --quiet --python "$venv/bin/python" "$work/requirements.txt"
if [ "$flavour" = cpu ]; then
  source=${CHORUS_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
  if [ -d "$source" ]; then where=(--find-links "$source" --no-index); else where=(--index-url "$source"); fi
  echo "- torch/torchaudio $torch_version+cpu from $source" >&2
  if ! "$UV" pip install --quiet --python "$venv/bin/python" --no-deps "${where[@]}" \
    "torch==$torch_version+cpu" "torchaudio==$torch_version+cpu"; then
    echo "The CPU wheels of torch $torch_version are not to be had from $source." >&2
    echo "Set CHORUS_TORCH_CPU_INDEX to an index or a folder that has them, or build 'lite' (no torch)." >&2
    exit 1
  fi
fi
# Chorus itself too: build.spec's collect_submodules("engine"/"studio") finds only what imports outside the tree.
"$UV" pip install --quiet --python "$venv/bin/python" --no-deps -e .
"$UV" pip install --quiet --python "$venv/bin/python" "pyinstaller==$pyinstaller_version"

echo "- pyinstaller build.spec -> $dist/chorus" >&2
rm -rf "$dist"
nice -n 10 "$venv/bin/pyinstaller" --noconfirm --log-level WARN \
  --distpath "$dist" --workpath "$work/pyinstaller" build.spec
echo "- done in $(($(date +%s) - t0)) s: $dist/chorus is $(du -sh "$dist/chorus" | cut -f1)" >&2
echo "  smoke test: scripts/bundle_smoke.sh $dist/chorus" >&2
