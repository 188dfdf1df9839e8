"""Studio preferences and window layout (QSettings in an INI file under the Chorus data folder) and
the recent-projects list (``recent.json`` there too, readable without Qt).

``CHORUS_HOME`` moves both, so tests never touch a user's real settings.

Thread contract: GUI thread only.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from studio import paths

MAX_RECENT = 10
SETTINGS_FILE = "studio.ini"


class QtStudioSettings:
    """Typed access to the studio's QSettings and the recent-projects list."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or paths.data_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.qsettings = QSettings(str(self.folder / SETTINGS_FILE), QSettings.Format.IniFormat)
        self.recent_path = self.folder / paths.recent_file().name

    # ---- window layout -------------------------------------------------------------------
    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        geometry = self.qsettings.value("window/geometry")
        state = self.qsettings.value("window/state")
        return (
            geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None,
        )

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.qsettings.setValue("window/geometry", geometry)
        self.qsettings.setValue("window/state", state)
        self.qsettings.sync()

    def value(self, key: str, default: Any = None) -> Any:
        return self.qsettings.value(key, default)

    def set_value(self, key: str, value: Any) -> None:
        self.qsettings.setValue(key, value)

    # ---- recent projects -----------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        """Most recent first; projects that no longer exist are left out."""
        try:
            data = json.loads(self.recent_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        items = data.get("projects", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            return []
        return [p for p in items if isinstance(p, str) and (Path(p) / "project.db").is_file()]

    def add_recent(self, project_root: Path | str) -> None:
        root = str(Path(project_root).resolve())
        items = [p for p in self.recent_projects() if p != root]
        items.insert(0, root)
        self._write_recent(items[:MAX_RECENT])

    def clear_recent(self) -> None:
        self._write_recent([])

    def _write_recent(self, items: list[str]) -> None:
        with contextlib.suppress(OSError):
            self.recent_path.write_text(json.dumps({"projects": items}, indent=2), encoding="utf-8")
