"""Where Chorus keeps things: the user's data folder (overridable), the shipped demos and resources.

``CHORUS_HOME`` overrides the data folder (tests and portable installs); ``CHORUS_VOICE_BANK`` the bank.

Thread contract: pure functions, safe from any thread.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

# In a PyInstaller build the shipped data lies under sys._MEIPASS (see build.spec).
REPO_ROOT = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
DEMO_DIR = REPO_ROOT / "projects"
RESOURCES_DIR = REPO_ROOT / "resources"
DEMO_PODCAST = "podcast.chorus"
DEMO_GAME = "tavern.chorus"


def data_dir() -> Path:
    override = os.environ.get("CHORUS_HOME")
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir("chorus", "Chorus"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def voice_bank_dir() -> Path:
    override = os.environ.get("CHORUS_VOICE_BANK")
    return Path(override).expanduser() if override else data_dir() / "voices"


def user_projects_dir() -> Path:
    path = data_dir() / "projects"
    path.mkdir(parents=True, exist_ok=True)
    return path


def recent_file() -> Path:
    return data_dir() / "recent.json"


def demo_copy(name: str = DEMO_PODCAST) -> Path:
    """A working copy of a shipped demo in the user's projects folder (the shipped one stays clean).

    Raises FileNotFoundError when the installation lacks the demo.
    """
    import shutil

    target = user_projects_dir() / name
    if not (target / "project.db").exists():
        source = DEMO_DIR / name
        if not (source / "project.db").exists():
            raise FileNotFoundError(f"the demo project {source} is missing from this installation")
        ignore = shutil.ignore_patterns("*-wal", "*-shm", ".chorus-lock", "backups")
        shutil.copytree(source, target, dirs_exist_ok=True, ignore=ignore)
    return target
