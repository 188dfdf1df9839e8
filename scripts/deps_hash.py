"""Print the hash of pyproject's dependency lists, recorded in requirements.lock by scripts/lock.sh and
checked by tests/unit/test_lock.py (a lock written before the dependencies changed is stale)."""

import hashlib
import json
import sys
import tomllib
from pathlib import Path


def deps_hash(pyproject: Path) -> str:
    project = tomllib.loads(pyproject.read_text())["project"]
    lists = [project.get("dependencies", []), project.get("optional-dependencies", {})]
    return hashlib.sha256(json.dumps(lists, sort_keys=True).encode()).hexdigest()[:16]


if __name__ == "__main__":
    print(deps_hash(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")))
