"""Rolling backups of ``project.db`` and restoring from them; finding media nothing references.

Backups are whole-database copies made with SQLite's online backup API (consistent while the project
is open) into ``NAME.chorus/backups/project-YYYYmmdd-HHMMSS.db``: when a project is opened for writing
and then every :data:`BACKUP_EVERY_S` of editing, keeping the newest :data:`KEEP`. Media files are
immutable and shared, so a backup is only the database (kilobytes to a few MB).

Thread contract: the thread that owns the project's connection.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

BACKUP_DIR = "backups"
BACKUP_EVERY_S = 10 * 60
KEEP = 10
_NAME = re.compile(r"^project-(\d{8}-\d{6})(?:-(\d+))?\.db$")


@dataclass(frozen=True)
class Backup:
    path: Path
    created: float  # seconds since the epoch
    size: int

    @property
    def label(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))


def list_backups(root: Path) -> list[Backup]:
    """The project's backups, newest first."""
    folder = root / BACKUP_DIR
    found = []
    for path in folder.glob("project-*.db") if folder.is_dir() else ():
        match = _NAME.match(path.name)
        if not match:
            continue
        created = time.mktime(time.strptime(match[1], "%Y%m%d-%H%M%S"))
        found.append((created, int(match[2] or 0), Backup(path, created, path.stat().st_size)))
    return [b for _, _, b in sorted(found, key=lambda f: (f[0], f[1]), reverse=True)]


def make_backup(conn: sqlite3.Connection, root: Path, keep: int = KEEP) -> Backup:
    """Copy the open database into a new backup file (temp name, then rename); prune to ``keep``."""
    folder = root / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    taken = [int(m[2] or 0) for p in folder.glob(f"project-{stamp}*.db") if (m := _NAME.match(p.name))]
    n = max(taken) + 1 if taken else 0
    target = folder / (f"project-{stamp}-{n}.db" if n else f"project-{stamp}.db")
    tmp = folder / f".{target.name}.part"
    dest = sqlite3.connect(str(tmp))
    try:
        with dest:
            conn.backup(dest)
    finally:
        dest.close()
    os.replace(tmp, target)
    made = Backup(target, time.time(), target.stat().st_size)
    for old in list_backups(root)[keep:]:
        with contextlib.suppress(OSError):
            old.path.unlink()
    return made


def restore(root: Path, backup: Path | None = None, db_name: str = "project.db") -> Path:
    """Put ``backup`` (default: the newest) in place of the project database; the replaced database is
    kept beside it as ``project.db.replaced-STAMP``. The project must not be open. Returns the backup used."""
    backups = list_backups(root)
    chosen = backup or (backups[0].path if backups else None)
    if chosen is None or not Path(chosen).is_file():
        raise FileNotFoundError(f"{root.name} has no backup to restore" if chosen is None else f"no backup {chosen}")
    check = sqlite3.connect(f"file:{chosen}?mode=ro", uri=True)
    try:
        if check.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError(f"the backup {Path(chosen).name} is damaged too")
    finally:
        check.close()
    db = root / db_name
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if db.exists():
        os.replace(db, root / f"{db_name}.replaced-{stamp}")
    for suffix in ("-wal", "-shm"):
        side = root / f"{db_name}{suffix}"
        if side.exists():
            os.replace(side, root / f"{db_name}{suffix}.replaced-{stamp}")
    tmp = root / f".{db_name}.restoring"
    shutil.copyfile(chosen, tmp)
    os.replace(tmp, db)
    return Path(chosen)


def referenced_media(conn: sqlite3.Connection, media_names: set[str]) -> set[str]:
    """The media file names that some record of the database mentions (any table, any text column)."""
    found: set[str] = set()
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in conn.execute(f'SELECT * FROM "{table}"'):
            for value in row:
                if isinstance(value, str) and value:
                    if value in media_names:
                        found.add(value)
                    elif "." in value:  # a name inside JSON or a path
                        found.update(media_names.intersection(re.findall(r"[\w.-]+", value)))
    return found
