"""requirements.lock (what a fresh clone installs) agrees with pyproject.toml and with this venv.

Fails when someone edits the dependencies without running scripts/lock.sh, when the lock pins a
version outside a pyproject range, or when the installed venv drifted from the lock.
"""

from __future__ import annotations

import importlib.metadata
import re
import runpy
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def lock_entries(text: str) -> list[tuple[str, Version, Marker | None]]:
    entries = []
    for line in text.splitlines():
        match = ENTRY.match(line)
        if match:
            name, version, marker = match.groups()
            entries.append((canonicalize_name(name), Version(version), Marker(marker) if marker else None))
    return entries


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    return [Requirement(r) for r in reqs]


def test_lock_was_written_from_these_dependencies() -> None:
    deps_hash = runpy.run_path(str(ROOT / "scripts" / "deps_hash.py"))["deps_hash"]
    header = re.search(r"dependencies sha256: (\w+)", LOCK.read_text())
    assert header, "requirements.lock has no dependencies hash: write it with scripts/lock.sh"
    assert header.group(1) == deps_hash(ROOT / "pyproject.toml"), (
        "pyproject.toml's dependencies changed since requirements.lock was written: run scripts/lock.sh"
    )


def test_every_pyproject_requirement_is_locked_within_its_range() -> None:
    entries = lock_entries(LOCK.read_text())
    assert len(entries) > 50
    for req in pyproject_requirements():
        pins = [(v, m) for name, v, m in entries if name == canonicalize_name(req.name)]
        assert pins, f"{req.name} is in pyproject.toml but not in requirements.lock"
        for version, _marker in pins:
            assert req.specifier.contains(version, prereleases=True), (
                f"requirements.lock pins {req.name}=={version}, outside pyproject's '{req.specifier}'"
            )


def test_binary_coupled_packages_are_pinned_exactly() -> None:
    by_name = {r.name.lower(): r for r in pyproject_requirements()}
    for name in ("torch", "torchaudio"):
        spec = str(by_name[name].specifier)
        assert spec.startswith("==") and "*" not in spec, f"{name} must be pinned exactly, not '{spec}'"


def test_this_venv_matches_the_lock() -> None:
    if not Path(importlib.metadata.distribution("torch").locate_file("")).is_relative_to(ROOT / ".venv"):
        pytest.skip("not running from the project's .venv (scripts/install.sh makes it)")
    drift = []
    for name, version, marker in lock_entries(LOCK.read_text()):
        if marker is not None and not marker.evaluate({"extra": "test"}):
            continue
        try:
            installed = Version(importlib.metadata.version(name))
        except importlib.metadata.PackageNotFoundError:
            drift.append(f"{name} missing (lock: {version})")
            continue
        if installed != version:
            drift.append(f"{name} {installed} (lock: {version})")
    assert not drift, "the venv differs from requirements.lock: " + ", ".join(drift)


def test_lock_parser_reads_markers() -> None:
    entries = lock_entries("numpy==2.4.6 ; python_full_version < '3.12' \\\n    --hash=sha256:ab \\\nsix==1.0\n")
    assert entries[0][0] == "numpy" and str(entries[0][1]) == "2.4.6"
    assert entries[0][2] is not None and entries[1] == ("six", Version("1.0"), None)
