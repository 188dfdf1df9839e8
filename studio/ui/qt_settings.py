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
from studio.core.settings_schema import STUDIO_PARAMS, Param, SettingError

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

    # ---- studio preferences (studio.core.settings_schema.STUDIO_PARAMS) ----------------------
    def preference(self, key: str) -> Any:
        """A studio preference's value (its schema default when unset or unreadable)."""
        param = _studio_param(key)
        raw = self.qsettings.value(f"studio/{key}")
        if raw is None:
            return param.default
        try:
            return param.parse(str(raw))
        except SettingError:
            return param.default

    def set_preference(self, key: str, value: Any) -> None:
        """Store a preference (checked against its schema; SettingError names a bad value)."""
        param = _studio_param(key)
        self.qsettings.setValue(f"studio/{key}", str(param.parse(str(value))))
        self.qsettings.sync()

    def output_device(self) -> str:
        """The chosen audio output device's name ("" = the system default)."""
        return str(self.preference("output_device"))

    def set_output_device(self, name: str) -> None:
        self.set_preference("output_device", name)

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


def _studio_param(key: str) -> Param:
    for param in STUDIO_PARAMS:
        if param.key == key:
            return param
    raise SettingError(f"no studio preference {key!r}; there are {', '.join(p.key for p in STUDIO_PARAMS)}")
