"""The voice bank on disk: ``bank.db`` (SQLite, WAL) beside ``clips/`` and ``documents/``.

``clips/`` holds normalised reference clips named by their SHA-256 (``<sha256>.wav``); a clip used by
several voices is stored once. ``documents/`` holds consent documents, also content-addressed.
Every write is one transaction; files are written first (atomically, through a temporary name),
and a failed write removes the files it had added, so nothing is ever half-imported. Files of
clips no voice uses any more are deleted after the transaction that dropped them commits.

The default location is :func:`studio.paths.voice_bank_dir` (the user's data folder, or
``CHORUS_VOICE_BANK``); the CLI's ``--bank`` flag passes another.

Thread contract: a :class:`VoiceBank` and its connection belong to the thread that opened it (the
UI main thread, or a worker that opens its own). Subscribers are called on that thread after each
committed change. Another process may write to the same bank: :meth:`VoiceBank.data_version`
changes when it does (poll it to refresh a list).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from studio import paths
from studio.bank.clips import PreparedClip, clip_file_name, prepare_clip
from studio.bank.records import (
    TAG_FIELDS,
    VOICE_ID,
    BankError,
    BankVoice,
    Provenance,
    ReferenceClip,
    VoiceTags,
    check_effects,
    check_name,
    check_settings,
    check_text,
    effects_to_plain,
)
from studio.core.files import atomic_write
from studio.core.model import Effect, new_id
from studio.core.store import Migration, connect, migrate, transaction

SCHEMA_VERSION = 3
DB_NAME = "bank.db"
CLIPS_DIR = "clips"
DOCUMENTS_DIR = "documents"
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024

Conflict = Literal["error", "skip", "replace", "copy"]
CONFLICT_POLICIES: tuple[str, ...] = ("error", "skip", "replace", "copy")


@dataclass(frozen=True)
class BankChange:
    """What changed in the bank: ``action`` is "insert", "update" or "delete"."""

    action: str
    voice_id: str


@dataclass(frozen=True)
class ImportResult:
    imported: tuple[BankVoice, ...] = ()
    skipped: tuple[str, ...] = ()  # names of voices left as they were in the bank
    replaced: tuple[str, ...] = ()  # names of voices that replaced one already in the bank
    warnings: tuple[str, ...] = ()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _create_schema(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    voice_columns: dict[str, Any] = {
        "id": str,
        "name": str,
        "description": str,
        "profile": str,
        **{k: str for k in TAG_FIELDS},
        "free_tags": str,  # JSON list
        "settings": str,  # JSON object
        "piper_model": str,
        "piper_variant": int,
        **{f"prov_{f.name}": str for f in dataclasses.fields(Provenance)},
        "created": str,
        "modified": str,
        "effects": str,  # JSON list of effects (studio.core.effects); schema 3
    }
    db.table("voices").create(voice_columns, pk="id", not_null={"name"})
    db.execute("CREATE UNIQUE INDEX voices_name ON voices(name COLLATE NOCASE)")
    db.table("clips").create(
        {
            "id": str,
            "duration": float,
            "sample_rate": int,
            "loudness_lufs": float,
            "peak_dbfs": float,
            "snr_db": float,
            "clipped": int,
            "warnings": str,  # JSON list
            "created": str,
            "heard": str,  # what the speech recogniser heard ("" = never transcribed); schema 2
        },
        pk="id",
    )
    db.table("voice_clips").create(
        {"voice_id": str, "clip_id": str, "ord": int, "transcript": str, "original_name": str},
        pk=("voice_id", "clip_id"),
    )
    db.table("voice_clips").create_index(["clip_id"])
    db.table("meta").insert({"key": "schema_version", "value": str(SCHEMA_VERSION)})


# Migrations: version N -> N+1, each a function of the database, run in one transaction.
def _add_heard(db: sqlite_utils.Database) -> None:
    """1 -> 2: clips remember what the speech recogniser heard in them (to flag a wrong transcript)."""
    db.execute("ALTER TABLE clips ADD COLUMN heard TEXT")


def _add_effects(db: sqlite_utils.Database) -> None:
    """2 -> 3: voices carry an effect chain (copied onto a project speaker that embeds the voice)."""
    db.execute("ALTER TABLE voices ADD COLUMN effects TEXT DEFAULT '[]'")


MIGRATIONS: dict[int, Migration] = {1: _add_heard, 2: _add_effects}


def _no_migration(version: int) -> BankError:
    return BankError(f"no migration from voice-bank schema {version}; this bank cannot be upgraded")


class VoiceBank:
    """An open voice bank. Query with :meth:`list_voices`/:meth:`get`/:meth:`find`; edit with the rest."""

    def __init__(self, root: Path, db: sqlite_utils.Database) -> None:
        self.root = root
        self.db = db
        self.clips_dir = root / CLIPS_DIR
        self.documents_dir = root / DOCUMENTS_DIR
        self._subscribers: list[Callable[[BankChange], None]] = []

    # ---- open / close --------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path | None = None) -> VoiceBank:
        """Open (creating if needed) the bank at ``root``, default :func:`studio.paths.voice_bank_dir`."""
        path = Path(root).expanduser() if root is not None else paths.voice_bank_dir()
        if path.exists() and not path.is_dir():
            raise BankError(f"{path} is a file, not a voice-bank folder")
        try:
            (path / CLIPS_DIR).mkdir(parents=True, exist_ok=True)
            (path / DOCUMENTS_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BankError(f"cannot create the voice bank at {path}: {exc.strerror or exc}") from None
        db_path = path / DB_NAME
        db: sqlite_utils.Database | None = None
        try:
            db = connect(db_path)
            names = set(db.table_names())
            if "meta" not in names:
                if names:
                    raise BankError(f"{db_path} is not a Chorus voice bank (it holds other tables)")
                with transaction(db):
                    _create_schema(db)
            else:
                meta = {row["key"]: row["value"] for row in db.table("meta").rows}
                try:
                    version = int(meta.get("schema_version", "0"))
                except ValueError:
                    raise BankError(
                        f"{db_path}: the schema version is not a number; the bank is damaged"
                    ) from None
                if version > SCHEMA_VERSION:
                    raise BankError(
                        f"this voice bank was written by a newer Chorus (bank schema {version}, this version "
                        f"reads up to {SCHEMA_VERSION}); update Chorus or use another bank with --bank"
                    )
                if version < SCHEMA_VERSION:
                    migrate(db, version, SCHEMA_VERSION, MIGRATIONS, _no_migration)
        except BaseException as exc:
            if db is not None:  # don't leave the database open behind a refusal
                db.conn.close()
            if not isinstance(exc, sqlite3.DatabaseError):
                raise
            raise BankError(
                f"the voice-bank database {db_path} is damaged or not a voice bank ({exc})"
            ) from None
        return cls(path.resolve(), db)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.conn.close()

    def __enter__(self) -> VoiceBank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- change announcements --------------------------------------------------------------
    def subscribe(self, callback: Callable[[BankChange], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after each committed change made through this object."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _announce(self, changes: Iterable[BankChange]) -> None:
        for change in changes:
            for callback in list(self._subscribers):
                callback(change)

    def data_version(self) -> int:
        """Changes whenever another connection (another process) commits to the bank."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    # ---- queries ---------------------------------------------------------------------------
    def clip_path(self, clip_id: str) -> Path:
        return self.clips_dir / clip_file_name(clip_id)

    def document_path(self, name: str) -> Path:
        return self.documents_dir / name

    def list_voices(self, query: str = "", tags: Iterable[str] = ()) -> list[BankVoice]:
        """Voices sorted by name; ``query`` words must all occur in a voice's text, ``tags`` all match.

        A tag is ``key:value`` for a structured tag (``gender:female``) or a bare word matching any.
        """
        wanted = list(tags)
        voices = self._load(None)
        return [v for v in voices if v.matches(query, wanted)] if (query.strip() or wanted) else voices

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM voices").fetchone()[0])

    def get(self, voice_id: str) -> BankVoice:
        found = self._load(voice_id)
        if not found:
            raise BankError(f"no voice with id {voice_id!r} in the bank at {self.root}")
        return found[0]

    def has(self, voice_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM voices WHERE id = ?", [voice_id]).fetchone() is not None

    def find(self, ref: str) -> BankVoice:
        """A voice by id, by name (any case), or by a unique id prefix."""
        ref = ref.strip()
        if self.has(ref):
            return self.get(ref)
        row = self.db.execute(
            "SELECT id FROM voices WHERE name = ? COLLATE NOCASE", [" ".join(ref.split())]
        ).fetchone()
        if row is not None:
            return self.get(row[0])
        if len(ref) >= 4:
            rows = self.db.execute(
                "SELECT id FROM voices WHERE id LIKE ? ESCAPE '\\'", [_like_prefix(ref)]
            ).fetchall()
            if len(rows) == 1:
                return self.get(rows[0][0])
            if len(rows) > 1:
                raise BankError(f"{ref!r} matches {len(rows)} voices; give more of the id or the name")
        raise BankError(f"no voice {ref!r} in the bank at {self.root} (`chorus voices list` shows them)")

    def all_tags(self) -> dict[str, list[str]]:
        """Every tag value in use, per field (``gender``, …, ``free``): for filter menus."""
        out: dict[str, set[str]] = {k: set() for k in (*TAG_FIELDS, "free")}
        for voice in self._load(None):
            for key in TAG_FIELDS:
                if getattr(voice.tags, key):
                    out[key].add(getattr(voice.tags, key))
            out["free"].update(voice.tags.free)
        return {k: sorted(v, key=str.casefold) for k, v in out.items()}

    def _load(self, voice_id: str | None) -> list[BankVoice]:
        where, args = ("WHERE id = ?", [voice_id]) if voice_id is not None else ("", [])
        voice_rows = list(self.db.query(f"SELECT * FROM voices {where} ORDER BY name COLLATE NOCASE", args))
        if not voice_rows:
            return []
        clip_sql = (
            "SELECT vc.voice_id, vc.transcript, vc.original_name, c.* FROM voice_clips vc "
            "JOIN clips c ON c.id = vc.clip_id "
            + ("WHERE vc.voice_id = ? " if voice_id is not None else "")
            + "ORDER BY vc.voice_id, vc.ord"
        )
        clips: dict[str, list[ReferenceClip]] = {}
        for row in self.db.query(clip_sql, args):
            clips.setdefault(row["voice_id"], []).append(_clip_from_row(row))
        return [_voice_from_row(row, tuple(clips.get(row["id"], ()))) for row in voice_rows]

    # ---- edits -----------------------------------------------------------------------------
    def create_voice(
        self,
        name: str,
        *,
        description: str = "",
        profile: str = "",
        tags: VoiceTags | None = None,
        settings: Mapping[str, Any] | None = None,
        piper_model: str = "",
        piper_variant: int = 0,
        provenance: Provenance | None = None,
        clips: Sequence[PreparedClip] = (),
        consent_document: Path | None = None,
        effects: Any = (),
    ) -> BankVoice:
        """Add a voice with its clips (and consent document) in one transaction; returns it."""
        stamp = now()
        voice = BankVoice(
            id=new_id("voice"),
            name=check_name(name),
            description=check_text(description, "description"),
            profile=check_text(profile, "profile"),
            tags=tags or VoiceTags(),
            settings=check_settings(dict(settings or {})),
            piper_model=check_text(piper_model, "Piper voice", 4096),
            piper_variant=_check_variant(piper_variant),
            provenance=provenance or Provenance(),
            created=stamp,
            modified=stamp,
            effects=check_effects(effects),
        )
        files: dict[Path, bytes] = {}
        unique: dict[str, PreparedClip] = {}
        for clip in clips:
            unique.setdefault(clip.clip_id, clip)
        voice = dataclasses.replace(voice, clips=tuple(c.reference() for c in unique.values()))
        for clip in unique.values():
            files[self.clip_path(clip.clip_id)] = clip.data
        if consent_document is not None:
            doc_name, data = self._read_document(consent_document)
            files[self.document_path(doc_name)] = data
            voice = dataclasses.replace(
                voice,
                provenance=dataclasses.replace(
                    voice.provenance, consent_document=doc_name, consent_document_name=consent_document.name
                ),
            )
        with self._writing(files):
            self._insert(voice)
        self._announce([BankChange("insert", voice.id)])
        return self.get(voice.id)

    def update_voice(self, voice_id: str, **changes: Any) -> BankVoice:
        """Change fields of a voice: name, description, profile, tags (VoiceTags), settings (mapping),
        piper_model, piper_variant, provenance (Provenance), effects (a chain: Effect records or their
        JSON form). Clips change through the clip methods."""
        allowed = {
            "name",
            "description",
            "profile",
            "tags",
            "settings",
            "piper_model",
            "piper_variant",
            "provenance",
            "effects",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise BankError(f"cannot change {', '.join(sorted(unknown))} with update_voice")
        old = self.get(voice_id)
        values = dict(changes)
        if "name" in values:
            values["name"] = check_name(values["name"])
        for key in ("description", "profile"):
            if key in values:
                values[key] = check_text(values[key], key)
        if "settings" in values:
            values["settings"] = check_settings(dict(values["settings"]))
        if "piper_model" in values:
            values["piper_model"] = check_text(values["piper_model"], "Piper voice", 4096)
        if "piper_variant" in values:
            values["piper_variant"] = _check_variant(values["piper_variant"])
        if "effects" in values:
            values["effects"] = check_effects(values["effects"])
        if "tags" in values and not isinstance(values["tags"], VoiceTags):
            raise BankError("tags must be VoiceTags")
        if "provenance" in values and not isinstance(values["provenance"], Provenance):
            raise BankError("provenance must be Provenance")
        new = dataclasses.replace(old, **values)
        if new == old:
            return old
        new = dataclasses.replace(new, modified=now())
        with self._writing({}):
            self.db.table("voices").update(voice_id, _voice_row(new))
        self._announce([BankChange("update", voice_id)])
        return self.get(voice_id)

    def remove_voice(self, voice_id: str) -> None:
        voice = self.get(voice_id)
        with self._writing({}):
            self.db.execute("DELETE FROM voices WHERE id = ?", [voice_id])
            self.db.execute("DELETE FROM voice_clips WHERE voice_id = ?", [voice_id])
            dropped = self._drop_unused_clips([c.clip_id for c in voice.clips])
        self._delete_files(dropped, [voice.provenance.consent_document])
        self._announce([BankChange("delete", voice_id)])

    def add_clip(
        self,
        voice_id: str,
        source: str | Path | PreparedClip,
        transcript: str | None = None,
        *,
        primary: bool = False,
    ) -> tuple[BankVoice, PreparedClip]:
        """Import a clip into a voice (last, or first if ``primary``); returns the voice and the clip
        (whose ``messages`` are the warnings to show). A clip the voice already has is not added twice."""
        prepared = source if isinstance(source, PreparedClip) else prepare_clip(source, transcript)
        voice = self.get(voice_id)
        if any(c.clip_id == prepared.clip_id for c in voice.clips):
            return voice, prepared
        clips = (prepared.reference(), *voice.clips) if primary else (*voice.clips, prepared.reference())
        with self._writing({self.clip_path(prepared.clip_id): prepared.data}):
            self._insert_clip_rows([prepared.reference()])
            self._write_voice_clips(voice_id, clips)
            self._touch(voice_id)
        self._announce([BankChange("update", voice_id)])
        return self.get(voice_id), prepared

    def replace_clip(self, voice_id: str, old_clip_id: str, prepared: PreparedClip) -> BankVoice:
        """Put ``prepared`` where ``old_clip_id`` was (e.g. a trimmed version of it)."""
        voice = self.get(voice_id)
        if not any(c.clip_id == old_clip_id for c in voice.clips):
            raise BankError(f"voice {voice.name!r} has no clip {old_clip_id[:12]}")
        clips = tuple(prepared.reference() if c.clip_id == old_clip_id else c for c in voice.clips)
        clips = tuple({c.clip_id: c for c in reversed(clips)}.values())[::-1]
        with self._writing({self.clip_path(prepared.clip_id): prepared.data}):
            self._insert_clip_rows([prepared.reference()])
            self._write_voice_clips(voice_id, clips)
            self._touch(voice_id)
            dropped = self._drop_unused_clips([old_clip_id])
        self._delete_files(dropped, [])
        self._announce([BankChange("update", voice_id)])
        return self.get(voice_id)

    def remove_clip(self, voice_id: str, clip_id: str) -> BankVoice:
        voice = self.get(voice_id)
        clip_id = _resolve_clip(voice, clip_id).clip_id
        with self._writing({}):
            self._write_voice_clips(voice_id, tuple(c for c in voice.clips if c.clip_id != clip_id))
            self._touch(voice_id)
            dropped = self._drop_unused_clips([clip_id])
        self._delete_files(dropped, [])
        self._announce([BankChange("update", voice_id)])
        return self.get(voice_id)

    def set_primary_clip(self, voice_id: str, clip_id: str) -> BankVoice:
        voice = self.get(voice_id)
        chosen = _resolve_clip(voice, clip_id)
        clips = (chosen, *[c for c in voice.clips if c.clip_id != chosen.clip_id])
        if clips == voice.clips:
            return voice
        with self._writing({}):
            self._write_voice_clips(voice_id, clips)
            self._touch(voice_id)
        self._announce([BankChange("update", voice_id)])
        return self.get(voice_id)

    def set_transcript(self, voice_id: str, clip_id: str, transcript: str) -> BankVoice:
        voice = self.get(voice_id)
        chosen = _resolve_clip(voice, clip_id)
        text = " ".join(check_text(transcript, "transcript").split())
        if text == chosen.transcript:
            return voice
        clips = tuple(dataclasses.replace(c, transcript=text) if c is chosen else c for c in voice.clips)
        with self._writing({}):
            self._write_voice_clips(voice_id, clips)
            self._touch(voice_id)
        self._announce([BankChange("update", voice_id)])
        return self.get(voice_id)

    def set_heard(self, clip_id: str, heard: str, *, fill_voice: str = "") -> list[BankVoice]:
        """Store what the speech recogniser heard in a clip (every voice using it sees it); with
        ``fill_voice``, that voice's transcript of the clip becomes ``heard`` where it was empty.
        Returns the voices that use the clip."""
        text = " ".join(check_text(heard, "heard").split())
        users = [v for v in self.list_voices() if any(c.clip_id == clip_id for c in v.clips)]
        if not users:
            raise BankError(f"no voice has the clip {clip_id[:12]}")
        filled = [
            v
            for v in users
            if v.id == fill_voice and text and not next(c for c in v.clips if c.clip_id == clip_id).transcript
        ]
        heard_now = next(c for c in users[0].clips if c.clip_id == clip_id).heard
        if heard_now == text and not filled:
            return users
        with self._writing({}):
            self.db.execute("UPDATE clips SET heard = ? WHERE id = ?", [text, clip_id])
            for voice in filled:
                self.db.execute(
                    "UPDATE voice_clips SET transcript = ? WHERE voice_id = ? AND clip_id = ?",
                    [text, voice.id, clip_id],
                )
            for voice in users:
                self._touch(voice.id)
        self._announce([BankChange("update", v.id) for v in users])
        return [self.get(v.id) for v in users]

    def set_consent_document(self, voice_id: str, document: str | Path | None) -> BankVoice:
        """Copy a consent document (PDF, image, text …) into the bank and attach it; None detaches it."""
        voice = self.get(voice_id)
        files: dict[Path, bytes] = {}
        if document is None:
            prov = dataclasses.replace(voice.provenance, consent_document="", consent_document_name="")
        else:
            doc_name, data = self._read_document(Path(document))
            files[self.document_path(doc_name)] = data
            prov = dataclasses.replace(
                voice.provenance, consent_document=doc_name, consent_document_name=Path(document).name
            )
        new = dataclasses.replace(voice, provenance=prov, modified=now())
        with self._writing(files):
            self.db.table("voices").update(voice_id, _voice_row(new))
        self._delete_files([], [voice.provenance.consent_document])
        self._announce([BankChange("update", voice_id)])
        return self.get(voice_id)

    def import_voices(
        self,
        voices: Sequence[BankVoice],
        clip_data: Mapping[str, bytes],
        documents: Mapping[str, bytes] | None = None,
        *,
        on_conflict: Conflict = "error",
    ) -> ImportResult:
        """Add already validated voices (from a pack or a preset folder) in one transaction.

        ``clip_data`` maps clip ids to WAV bytes (checked to hash to their id); ``documents`` maps
        consent-document names to bytes. A voice conflicts with one in the bank of the same id or
        name: ``on_conflict`` "error" refuses the whole import, "skip" keeps the bank's, "replace"
        replaces it, "copy" imports a copy under a new id and a free name. Voices without an id get one.
        """
        if on_conflict not in CONFLICT_POLICIES:
            raise BankError(
                f"unknown conflict policy {on_conflict!r} (one of {', '.join(CONFLICT_POLICIES)})"
            )
        documents = documents or {}
        for clip_id, data in clip_data.items():
            if hashlib.sha256(data).hexdigest() != clip_id:
                raise BankError(f"clip {clip_id[:12]} does not match its checksum; the source is damaged")
        planned: list[BankVoice] = []
        skipped: list[str] = []
        replaced: list[str] = []
        conflicts: list[str] = []
        remove_ids: list[str] = []
        taken_names = {row[0].casefold() for row in self.db.execute("SELECT name FROM voices").fetchall()}
        taken_ids = {row[0] for row in self.db.execute("SELECT id FROM voices").fetchall()}
        incoming_names: set[str] = set()
        incoming_ids: set[str] = set()
        for voice in voices:
            voice = dataclasses.replace(voice, name=check_name(voice.name))
            if voice.id and not VOICE_ID.match(voice.id):
                raise BankError(f"voice {voice.name!r} has a bad id {voice.id!r}")
            for clip in voice.clips:
                if clip.clip_id not in clip_data and not self.clip_path(clip.clip_id).is_file():
                    raise BankError(f"voice {voice.name!r}: its clip {clip.clip_id[:12]} is missing")
            doc = voice.provenance.consent_document
            if doc and doc not in documents and not self.document_path(doc).is_file():
                raise BankError(f"voice {voice.name!r}: its consent document {doc} is missing")
            key = voice.name.casefold()
            if key in incoming_names and on_conflict != "copy":
                raise BankError(f"two voices are named {voice.name!r}; rename one (or import with --copy)")
            clash_ids = set()
            if voice.id in taken_ids:
                clash_ids.add(voice.id)
            if key in taken_names:
                row = self.db.execute(
                    "SELECT id FROM voices WHERE name = ? COLLATE NOCASE", [voice.name]
                ).fetchone()
                if row is not None:
                    clash_ids.add(row[0])
            if voice.id and voice.id in incoming_ids:
                clash_ids.add(voice.id)
            if clash_ids or key in incoming_names:
                if on_conflict == "error":
                    conflicts.append(voice.name)
                    continue
                if on_conflict == "skip":
                    skipped.append(voice.name)
                    continue
                if on_conflict == "replace":
                    replaced.append(voice.name)
                    remove_ids.extend(i for i in clash_ids if i in taken_ids)
                    taken_ids -= clash_ids
                    taken_names.discard(key)
                else:  # copy
                    voice = dataclasses.replace(
                        voice, id="", name=_free_name(voice.name, taken_names | incoming_names)
                    )
                    key = voice.name.casefold()
            if not voice.id or voice.id in taken_ids or voice.id in incoming_ids:
                voice = dataclasses.replace(voice, id=new_id("voice"))
            stamp = now()
            voice = dataclasses.replace(
                voice, created=voice.created or stamp, modified=voice.modified or stamp
            )
            incoming_names.add(key)
            incoming_ids.add(voice.id)
            planned.append(voice)
        if conflicts:
            shown = ", ".join(repr(n) for n in conflicts[:5]) + (" …" if len(conflicts) > 5 else "")
            raise BankError(
                f"already in the bank: {shown}. Import again with --replace to overwrite, --skip to keep "
                "the bank's, or --copy to add copies under new names"
            )
        used_clips = {c.clip_id for v in planned for c in v.clips}
        used_docs = {v.provenance.consent_document for v in planned} - {""}
        files = {self.clip_path(cid): data for cid, data in clip_data.items() if cid in used_clips}
        files.update({self.document_path(n): d for n, d in documents.items() if n in used_docs})
        old_voices = [self.get(i) for i in dict.fromkeys(remove_ids)]
        with self._writing(files):
            for old in old_voices:
                self.db.execute("DELETE FROM voices WHERE id = ?", [old.id])
                self.db.execute("DELETE FROM voice_clips WHERE voice_id = ?", [old.id])
            for voice in planned:
                self._insert(voice)
            dropped = self._drop_unused_clips([c.clip_id for v in old_voices for c in v.clips])
        self._delete_files(dropped, [v.provenance.consent_document for v in old_voices])
        self._announce(
            [BankChange("delete", v.id) for v in old_voices] + [BankChange("insert", v.id) for v in planned]
        )
        return ImportResult(
            imported=tuple(self.get(v.id) for v in planned), skipped=tuple(skipped), replaced=tuple(replaced)
        )

    # ---- internals -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self, files: Mapping[Path, bytes]) -> Iterator[None]:
        """Write ``files`` (those not already there), then run the block in a transaction.

        If anything fails, the transaction rolls back and the files this call added are removed.
        """
        created: list[Path] = []
        try:
            for path, data in files.items():
                if not path.exists():
                    atomic_write(path, data)
                    created.append(path)
            with transaction(self.db):
                yield
        except sqlite3.IntegrityError as exc:
            self._remove(created)
            if "name" in str(exc):
                raise BankError("a voice of that name is already in the bank; choose another name") from None
            raise BankError(f"the voice bank refused the change: {exc}") from None
        except sqlite3.Error as exc:
            self._remove(created)
            raise BankError(f"the voice bank could not be written ({exc}); nothing was changed") from None
        except OSError as exc:
            self._remove(created)
            raise BankError(f"cannot write to the voice bank at {self.root}: {exc.strerror or exc}") from None
        except BaseException:
            self._remove(created)
            raise

    @staticmethod
    def _remove(paths_: Iterable[Path]) -> None:
        for path in paths_:
            with contextlib.suppress(OSError):
                path.unlink()

    def _insert(self, voice: BankVoice) -> None:
        try:
            self.db.table("voices").insert(_voice_row(voice))
        except sqlite3.IntegrityError:
            raise BankError(
                f"a voice named {voice.name!r} is already in the bank; choose another name"
            ) from None
        self._insert_clip_rows(voice.clips)
        self._write_voice_clips(voice.id, voice.clips)

    def _insert_clip_rows(self, clips: Iterable[ReferenceClip]) -> None:
        stamp = now()
        rows = [
            {
                "id": c.clip_id,
                "duration": c.duration,
                "sample_rate": c.sample_rate,
                "loudness_lufs": c.loudness_lufs,
                "peak_dbfs": c.peak_dbfs,
                "snr_db": c.snr_db,
                "clipped": int(c.clipped),
                "warnings": json.dumps(list(c.warnings)),
                "created": stamp,
                "heard": c.heard,
            }
            for c in clips
        ]
        if rows:
            self.db.table("clips").insert_all(rows, pk="id", ignore=True)

    def _write_voice_clips(self, voice_id: str, clips: Sequence[ReferenceClip]) -> None:
        self.db.execute("DELETE FROM voice_clips WHERE voice_id = ?", [voice_id])
        rows = [
            {
                "voice_id": voice_id,
                "clip_id": c.clip_id,
                "ord": i,
                "transcript": c.transcript,
                "original_name": c.original_name,
            }
            for i, c in enumerate(clips)
        ]
        if rows:
            self.db.table("voice_clips").insert_all(rows, pk=("voice_id", "clip_id"))

    def _touch(self, voice_id: str) -> None:
        self.db.execute("UPDATE voices SET modified = ? WHERE id = ?", [now(), voice_id])

    def _drop_unused_clips(self, candidates: Iterable[str]) -> list[str]:
        dropped: list[str] = []
        for clip_id in dict.fromkeys(candidates):
            used = self.db.execute(
                "SELECT 1 FROM voice_clips WHERE clip_id = ? LIMIT 1", [clip_id]
            ).fetchone()
            if used is None:
                self.db.execute("DELETE FROM clips WHERE id = ?", [clip_id])
                dropped.append(clip_id)
        return dropped

    def _delete_files(self, clip_ids: Iterable[str], documents: Iterable[str]) -> None:
        """After a commit: remove clip files no row names, and documents no voice refers to."""
        self._remove(self.clip_path(c) for c in clip_ids)
        for doc in documents:
            if not doc:
                continue
            used = self.db.execute(
                "SELECT 1 FROM voices WHERE prov_consent_document = ? LIMIT 1", [doc]
            ).fetchone()
            if used is None:
                self._remove([self.document_path(doc)])

    def _read_document(self, path: Path) -> tuple[str, bytes]:
        try:
            if not path.is_file():
                raise BankError(f"the consent document {path} does not exist")
            size = path.stat().st_size
            if size > MAX_DOCUMENT_BYTES:
                raise BankError(
                    f"the consent document {path.name} is {size / 2**20:.0f} MiB; at most "
                    f"{MAX_DOCUMENT_BYTES // 2**20} MiB is kept in the bank"
                )
            data = path.read_bytes()
        except OSError as exc:
            raise BankError(f"cannot read the consent document {path}: {exc.strerror or exc}") from None
        return document_name(data, path.suffix), data


def document_name(data: bytes, suffix: str) -> str:
    """Content-addressed file name of a consent document (``<sha256><suffix>``)."""
    clean = suffix.lower() if suffix and len(suffix) <= 10 and suffix[1:].isalnum() else ".bin"
    return hashlib.sha256(data).hexdigest() + clean


def _check_variant(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BankError(f"the Piper variant must be a whole number ≥ 0, not {value!r}")
    return value


def _free_name(name: str, taken: set[str]) -> str:
    n = 2
    while f"{name} ({n})".casefold() in taken:
        n += 1
    return f"{name} ({n})"


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _resolve_clip(voice: BankVoice, clip_id: str) -> ReferenceClip:
    """A clip of ``voice`` by id, or by a unique prefix of at least 4 characters."""
    exact = [c for c in voice.clips if c.clip_id == clip_id]
    if exact:
        return exact[0]
    matches = [c for c in voice.clips if len(clip_id) >= 4 and c.clip_id.startswith(clip_id)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(c.clip_id[:12] for c in voice.clips) or "none"
    raise BankError(f"voice {voice.name!r} has no clip {clip_id!r} (its clips: {known})")


def _voice_row(voice: BankVoice) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": voice.id,
        "name": voice.name,
        "description": voice.description,
        "profile": voice.profile,
        **{k: getattr(voice.tags, k) for k in TAG_FIELDS},
        "free_tags": json.dumps(list(voice.tags.free)),
        "settings": json.dumps(dict(voice.settings), sort_keys=True),
        "piper_model": voice.piper_model,
        "piper_variant": voice.piper_variant,
        "created": voice.created,
        "modified": voice.modified,
        "effects": json.dumps(effects_to_plain(voice.effects)),
    }
    row.update({f"prov_{k}": v for k, v in voice.provenance.to_dict().items()})
    return row


def _voice_from_row(row: Mapping[str, Any], clips: tuple[ReferenceClip, ...]) -> BankVoice:
    return BankVoice(
        id=row["id"],
        name=row["name"],
        description=row["description"] or "",
        profile=row["profile"] or "",
        tags=VoiceTags(
            **{k: row[k] or "" for k in TAG_FIELDS},
            free=tuple(json.loads(row["free_tags"] or "[]")),
        ),
        clips=clips,
        settings=tuple(sorted(json.loads(row["settings"] or "{}").items())),
        piper_model=row["piper_model"] or "",
        piper_variant=int(row["piper_variant"] or 0),
        provenance=Provenance(
            **{f.name: row[f"prov_{f.name}"] or "" for f in dataclasses.fields(Provenance)}
        ),
        created=row["created"] or "",
        modified=row["modified"] or "",
        effects=_effects_from_row(row),
    )


def _effects_from_row(row: Mapping[str, Any]) -> tuple[Effect, ...]:
    """The stored chain; one the catalogue no longer knows is dropped rather than failing the bank."""
    try:
        return check_effects(json.loads(row.get("effects") or "[]"))
    except (BankError, ValueError):
        return ()


def _clip_from_row(row: Mapping[str, Any]) -> ReferenceClip:
    return ReferenceClip(
        clip_id=row["id"],
        transcript=row["transcript"] or "",
        duration=float(row["duration"]),
        sample_rate=int(row["sample_rate"]),
        loudness_lufs=float(row["loudness_lufs"]),
        peak_dbfs=float(row["peak_dbfs"]),
        snr_db=None if row["snr_db"] is None else float(row["snr_db"]),
        clipped=bool(row["clipped"]),
        original_name=row["original_name"] or "",
        warnings=tuple(json.loads(row["warnings"] or "[]")),
        heard=row.get("heard") or "",
    )
