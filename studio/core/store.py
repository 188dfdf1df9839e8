"""The project file: a ``NAME.chorus/`` folder holding ``project.db`` (SQLite, WAL) and ``media/``.

Every edit is committed when it is made: the store subscribes to the Project and writes the records an
edit changed in one transaction when the edit ends. A crash (even SIGKILL) loses nothing that an
edit had finished. ``media/`` is content-addressed and immutable: files are named by their SHA-256.

Thread contract: a ProjectFile and its SQLite connection belong to the thread that opened it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlite_utils

from studio.core import backups, project_lock
from studio.core.codec import column_types, from_row, settings_from_json, settings_to_json, to_row
from studio.core.files import atomic_write
from studio.core.model import RECORD_TYPES, LexiconEntry
from studio.core.project import Change, Project, ProjectSettings
from studio.core.project_lock import LockInfo

SCHEMA_VERSION = 6
DB_NAME = "project.db"
MEDIA_DIR = "media"
SUFFIX = ".chorus"

TABLES: dict[str, str] = {
    "speaker": "speakers",
    "scene": "scenes",
    "line": "lines",
    "track": "tracks",
    "clip": "clips",
    "marker": "markers",
    "take": "takes",
    "lexicon": "lexicon",
    "recording": "recordings",
}


class ProjectError(RuntimeError):
    """A project that cannot be created or opened; the message says why and what to do."""


class ProjectLocked(ProjectError):
    """The project is open for writing in another live process (``holder``: pid, host, program)."""

    def __init__(self, message: str, holder: LockInfo) -> None:
        super().__init__(message)
        self.holder = holder


def connect(path: Path, *, read_only: bool = False) -> sqlite_utils.Database:
    """The one place a project database is opened: WAL, synchronous=NORMAL, a busy timeout.
    ``read_only`` opens it with SQLite's read-only mode and changes nothing in the file."""
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        return sqlite_utils.Database(conn)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=True)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = OFF")
    return sqlite_utils.Database(conn)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """A write transaction that rolls back unless the block completes."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


def _create_schema(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    for kind, table in TABLES.items():
        columns: dict[str, Any] = dict(column_types(RECORD_TYPES[kind]))
        if kind == "line":
            columns["ord"] = int
        db.table(table).create(columns, pk="key" if kind == "take" else "id")
    db.table("lines").create_index(["ord"])
    db.table("meta").insert({"key": "schema_version", "value": str(SCHEMA_VERSION)})


Migration = Callable[[sqlite_utils.Database], None]

def _v1_effects(db: sqlite_utils.Database) -> None:
    """1 -> 2: tracks get an effect chain; speakers' Piper variants keep the recipe they were made with."""
    db.execute("ALTER TABLE tracks ADD COLUMN effects TEXT DEFAULT '[]'")
    for row in list(db.query("SELECT id, voice FROM speakers")):
        try:
            voice = json.loads(row["voice"] or "{}")
        except ValueError:
            continue  # left as it is: opening reports the unreadable row
        if isinstance(voice, dict):
            voice.setdefault("variant_style", 1)
            db.execute("UPDATE speakers SET voice = ? WHERE id = ?", [json.dumps(voice), row["id"]])


def _v2_languages(db: sqlite_utils.Database) -> None:
    """2 -> 3: lines get text and a selected take per target language and a workflow stage; takes a language."""
    db.execute("ALTER TABLE lines ADD COLUMN translations TEXT DEFAULT '[]'")
    db.execute("ALTER TABLE lines ADD COLUMN language_takes TEXT DEFAULT '[]'")
    db.execute("ALTER TABLE lines ADD COLUMN stage TEXT DEFAULT 'draft'")
    db.execute("ALTER TABLE takes ADD COLUMN language TEXT DEFAULT ''")
    db.execute("UPDATE lines SET stage = 'rendered' WHERE status IN ('done', 'suspect')")


def _v3_take_checks(db: sqlite_utils.Database) -> None:
    """3 -> 4: takes keep their check scores (studio.qa) and a favourite mark."""
    db.execute("ALTER TABLE takes ADD COLUMN qa TEXT DEFAULT ''")
    db.execute("ALTER TABLE takes ADD COLUMN favourite INTEGER DEFAULT 0")


def _v4_lexicon(db: sqlite_utils.Database) -> None:
    """4 -> 5: the project's pronunciation lexicon (project and speaker entries; studio.core.lexicon)."""
    db.table("lexicon").create(dict(column_types(RECORD_TYPES["lexicon"])), pk="id")


def _v5_recordings(db: sqlite_utils.Database) -> None:
    """5 -> 6: imported recordings, and lines that come from one (their words with timings; studio.recordings)."""
    db.table("recordings").create(dict(column_types(RECORD_TYPES["recording"])), pk="id")
    db.execute("ALTER TABLE lines ADD COLUMN recording_id TEXT DEFAULT ''")
    db.execute("ALTER TABLE lines ADD COLUMN words TEXT DEFAULT '[]'")


# Migrations: version N -> N+1, each a function of the database, run in one transaction.
MIGRATIONS: dict[int, Migration] = {
    1: _v1_effects,
    2: _v2_languages,
    3: _v3_take_checks,
    4: _v4_lexicon,
    5: _v5_recordings,
}


def migrate(
    db: sqlite_utils.Database,
    version: int,
    latest: int,
    migrations: Mapping[int, Migration],
    missing: Callable[[int], Exception],
) -> None:
    """Upgrade a database (project or voice bank) from ``version`` to ``latest``, one transaction a step;
    raises ``missing(version)`` where no step exists. The version is kept in the ``meta`` table."""
    while version < latest:
        step = migrations.get(version)
        if step is None:
            raise missing(version)
        with transaction(db):
            step(db)
            version += 1
            db.table("meta").upsert({"key": "schema_version", "value": str(version)}, pk="key")


def _no_migration(version: int) -> ProjectError:
    return ProjectError(f"no migration from project schema {version}; this project cannot be upgraded")


def media_name(data: bytes, suffix: str) -> str:
    return hashlib.sha256(data).hexdigest()[:40] + suffix.lower()


class ProjectFile:
    """An open project: ``.project`` is live, and every edit to it is committed to ``project.db``."""

    def __init__(
        self, root: Path, db: sqlite_utils.Database, project: Project, *, read_only: bool = False
    ) -> None:
        self.root = root
        self.db = db
        self.project = project
        self.read_only = read_only  # no lock taken; edits are refused
        self._locked = False
        self._last_backup = time.monotonic()
        self.media_dir = root / MEDIA_DIR
        self._pending: list[Change] = []
        self._stored_order: dict[str, int] = {}
        self._unsubscribe = project.subscribe(self._on_change)

    # ---- create / open -------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, title: str | None = None) -> ProjectFile:
        root = normalise_path(path)
        _require_free(root)
        try:
            (root / MEDIA_DIR).mkdir(parents=True, exist_ok=True)
            _lock(root)
            db = connect(root / DB_NAME)
            with transaction(db):
                _create_schema(db)
                settings = ProjectSettings(title=title or root.name.removesuffix(SUFFIX))
                db.table("meta").insert({"key": "settings", "value": settings_to_json(settings)})
        except OSError as exc:
            project_lock.release(root)
            raise ProjectError(f"cannot create the project at {root}: {exc.strerror or exc}") from None
        created = cls(root, db, Project(settings=settings, user_lexicon=_user_lexicon()))
        created._locked = True
        return created

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> ProjectFile:
        """Open a project. For writing (the default) it takes the project's lock (ProjectLocked if
        another live process holds it) and makes a backup if the last one is old; ``read_only`` opens
        take no lock and refuse edits (``chorus info``, ``chorus export``)."""
        root = normalise_path(path)
        db_path = root / DB_NAME
        if not db_path.is_file():
            raise ProjectError(f"{root} is not a Chorus project (no {DB_NAME} inside)")
        user_lexicon = _user_lexicon()
        if not read_only:
            _lock(root)
        db: sqlite_utils.Database | None = None
        try:
            db = connect(db_path, read_only=read_only)
            project, order = _load_read_only(db) if read_only else _load(db)
        except BaseException as exc:
            if db is not None:  # don't leave the database open behind a refusal
                db.conn.close()
            if not read_only:
                project_lock.release(root)
            if not isinstance(exc, sqlite3.DatabaseError):
                raise
            saved = backups.list_backups(root)
            advice = (
                f"restore the backup from {saved[0].label} with `chorus restore {root}`"
                if saved
                else "open a copy of the project folder or re-import the script"
            )
            raise ProjectError(
                f"the project database {db_path} is damaged or not a Chorus project ({exc}); {advice}"
            ) from None
        opened = cls(root, db, project, read_only=read_only)
        opened._locked = not read_only
        opened._stored_order = order
        project.user_lexicon = user_lexicon
        if not read_only:
            opened._backup_if_due(on_open=True)
        try:  # one listing of media/, not a stat per clip and take
            present = {entry.name for entry in os.scandir(opened.media_dir) if entry.is_file()}
        except OSError:
            present = set()
        project.missing_media = {
            name
            for name in [c.media for c in project.clips.values()] + [t.media for t in project.takes.values()]
            if name and name not in present
        }
        return opened

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self._unsubscribe()
            with contextlib.suppress(sqlite3.Error):
                self.db.conn.close()
            if self._locked:
                self._locked = False
                project_lock.release(self.root)

    def backup_now(self) -> backups.Backup:
        """A backup of the database as it is now (pending edits committed first)."""
        self._flush()
        made = backups.make_backup(self.db.conn, self.root)
        self._last_backup = time.monotonic()
        return made

    def _backup_if_due(self, on_open: bool = False) -> None:
        """Back up on open when the newest backup is older than the interval, then every interval of editing."""
        if on_open:
            newest = backups.list_backups(self.root)[:1]
            due = not newest or time.time() - newest[0].created >= backups.BACKUP_EVERY_S
        else:
            due = time.monotonic() - self._last_backup >= backups.BACKUP_EVERY_S
        if due:
            try:
                self.backup_now()
            except (OSError, sqlite3.Error):
                pass  # a backup that cannot be written must never stop the editing

    def __enter__(self) -> ProjectFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def save_as(self, dest: str | Path) -> ProjectFile:
        """Copy this project (database and media) to ``dest`` and open the copy."""
        target = normalise_path(dest)
        _require_free(target)
        self._flush()
        try:
            (target / MEDIA_DIR).mkdir(parents=True, exist_ok=True)
            for item in self.media_dir.iterdir() if self.media_dir.is_dir() else ():
                if item.is_file() and not item.name.startswith("."):
                    shutil.copy2(item, target / MEDIA_DIR / item.name)
            dest_conn = sqlite3.connect(str(target / DB_NAME))
            with dest_conn:
                self.db.conn.backup(dest_conn)
            dest_conn.close()
        except OSError as exc:
            raise ProjectError(f"cannot save a copy at {target}: {exc.strerror or exc}") from None
        return ProjectFile.open(target)

    # ---- media ---------------------------------------------------------------------------
    def add_media(self, source: str | Path | bytes, suffix: str = ".wav") -> str:
        """Copy audio into ``media/`` by content; returns its file name (same content → same name)."""
        if isinstance(source, bytes):
            data = source
        else:
            source = Path(source)
            suffix = source.suffix or suffix
            try:
                data = source.read_bytes()
            except OSError as exc:
                raise ProjectError(f"cannot read {source}: {exc.strerror or exc}") from None
        name = media_name(data, suffix)
        target = self.media_dir / name
        if not target.exists():
            atomic_write(target, data)
        self.project.missing_media.discard(name)
        return name

    def media_path(self, name: str) -> Path:
        return self.media_dir / name

    # ---- persistence ---------------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if self.read_only:
            raise ProjectError(f"{self.root.name} was opened read-only: the change was not saved")
        if change.kind == "edit":
            self._flush()
        else:
            self._pending.append(change)

    def _flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        try:
            self._write(pending)
        except BaseException:
            # Nothing was committed (the transaction rolled back): keep the changes for the next flush.
            self._pending = pending + self._pending
            raise
        self._backup_if_due()

    def _write(self, pending: list[Change]) -> None:
        touched: dict[tuple[str, str], Any] = {}
        settings_changed = False
        order_changed = False
        for change in pending:
            if change.kind == "settings":
                settings_changed = True
            elif change.kind == "order":
                order_changed = True
            else:
                touched[(change.kind, change.id)] = change.new
                if change.kind == "line" and change.action in ("insert", "delete"):
                    order_changed = True
        project = self.project
        with transaction(self.db):
            by_table: dict[str, list[dict[str, Any]]] = {}
            for (kind, record_id), record in touched.items():
                table = TABLES[kind]
                if record is None:
                    self.db.table(table).delete_where("key = ?" if kind == "take" else "id = ?", [record_id])
                    if kind == "line":
                        self._stored_order.pop(record_id, None)
                else:
                    row = to_row(record)
                    if kind == "line":
                        row["ord"] = self._stored_order.get(record_id, -1)
                    by_table.setdefault(table, []).append(row)
            for table, rows in by_table.items():
                self.db.table(table).upsert_all(rows, pk="key" if table == "takes" else "id")
            if order_changed:
                updates = [
                    (index, line_id)
                    for index, line_id in enumerate(project.line_order)
                    if self._stored_order.get(line_id) != index
                ]
                self.db.conn.executemany("UPDATE lines SET ord = ? WHERE id = ?", updates)
                self._stored_order = {line_id: i for i, line_id in enumerate(project.line_order)}
            if settings_changed:
                self.db.table("meta").upsert(
                    {"key": "settings", "value": settings_to_json(project.settings)}, pk="key"
                )


def _load_read_only(db: sqlite_utils.Database) -> tuple[Project, dict[str, int]]:
    """Load without writing: a project of an older schema is upgraded in a memory copy, not on disk
    (``chorus info`` on a shipped or shared project leaves its file as it was)."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
    except (sqlite3.Error, ValueError):
        return _load(db)  # let _load report what is wrong
    if version >= SCHEMA_VERSION:
        return _load(db)
    memory = sqlite_utils.Database(memory=True)
    try:
        db.conn.backup(memory.conn)
        return _load(memory)
    finally:
        memory.conn.close()


def _load(db: sqlite_utils.Database) -> tuple[Project, dict[str, int]]:
    names = set(db.table_names())
    if "meta" not in names:
        raise sqlite3.DatabaseError("no meta table")
    meta = {row["key"]: row["value"] for row in db.table("meta").rows}
    try:
        version = int(meta.get("schema_version", "0"))
    except ValueError:
        raise sqlite3.DatabaseError("the schema version is not a number") from None
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"this project was saved by a newer Chorus (project schema {version}, this version reads up to "
            f"{SCHEMA_VERSION}); update Chorus to open it"
        )
    if version < SCHEMA_VERSION:
        migrate(db, version, SCHEMA_VERSION, MIGRATIONS, _no_migration)
        names = set(db.table_names())  # migrations add tables
    try:
        settings = settings_from_json(meta.get("settings", "{}"))
    except (ValueError, TypeError) as exc:
        raise sqlite3.DatabaseError(f"project settings are unreadable: {exc}") from None
    project = Project(settings=settings)
    order: dict[str, int] = {}
    for kind, table in TABLES.items():
        if table not in names:
            raise sqlite3.DatabaseError(f"table {table} is missing")
        cls = RECORD_TYPES[kind]
        target = project.table(kind)
        rows = db.query(f"SELECT * FROM {table} ORDER BY ord") if kind == "line" else db.table(table).rows
        for row in rows:
            try:
                record = from_row(cls, row)
            except (ValueError, TypeError, KeyError) as exc:
                raise sqlite3.DatabaseError(f"a row of {table} is unreadable: {exc}") from None
            key = record.key if kind == "take" else record.id
            target[key] = record
            if kind == "line":
                order[key] = row["ord"]
                project.line_order.append(key)
    return project, order


def _user_lexicon() -> tuple[LexiconEntry, ...]:
    """The user's lexicon from the data folder (every project's lines are spoken with it)."""
    from studio import paths
    from studio.core.lexicon_files import LexiconFileError, load_user_lexicon, user_lexicon_path

    try:
        return load_user_lexicon(user_lexicon_path(paths.data_dir()))
    except LexiconFileError as exc:
        raise ProjectError(f"the user lexicon cannot be read: {exc}; fix or remove that file") from None
    except OSError:
        return ()


def _require_free(root: Path) -> None:
    """Refuse to create a project where a file, or a folder that holds anything, already is."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        kind = "is not empty" if root.is_dir() else "is a file"
        raise ProjectError(f"{root} already exists and {kind}; choose another name")


def normalise_path(path: str | Path) -> Path:
    """``foo`` → ``foo.chorus``; a path to ``project.db`` → its folder."""
    root = Path(path).expanduser()
    if root.name == DB_NAME:
        root = root.parent
    if root.suffix != SUFFIX and not (root / DB_NAME).exists():
        root = root.with_name(root.name + SUFFIX)
    return root.resolve()


def _lock(root: Path) -> None:
    try:
        project_lock.acquire(root)
    except project_lock.ProjectLockedError as exc:
        raise ProjectLocked(str(exc), exc.holder) from None
    except OSError as exc:
        raise ProjectError(f"cannot open {root} for writing: {exc.strerror or exc}") from None
