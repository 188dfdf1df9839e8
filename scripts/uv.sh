# Sourced by install.sh and lock.sh: puts a pinned uv (the installer and resolver) in .venv/.uv and
# sets UV to its path. uv lives beside the venv's site-packages, so syncing the venv never removes it.
UV_VERSION=0.13.9
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Chorus needs Python 3.11 or newer (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
}
UV=.venv/.uv/bin/uv
if ! { [ -x "$UV" ] && [ "$("$UV" --version 2>/dev/null | cut -d" " -f1,2)" = "uv $UV_VERSION" ]; }; then
  echo "- fetching the installer (uv $UV_VERSION)" >&2
  rm -rf .venv/.uv
  log=$("$PY" -m pip install -q --disable-pip-version-check --no-warn-script-location --target .venv/.uv \
        "uv==$UV_VERSION" 2>&1) || { echo "$log" >&2; echo "Could not install uv from PyPI (offline?)" >&2; exit 1; }
fi
