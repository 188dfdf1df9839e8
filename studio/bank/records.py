"""What the voice bank holds: voices, their reference clips, tags, settings and provenance.

Records are frozen dataclasses changed with ``dataclasses.replace``; the validators here turn user or
file input into records and raise :class:`BankError` with a message that names the bad field.

Thread contract: records are immutable and may be read from any thread; functions are pure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from studio.core import effects as fxc
from studio.core.codec import from_plain, to_plain
from studio.core.model import Effect
from studio.core.ops import EditError


class BankError(Exception):
    """A voice-bank operation that cannot be done; the message says why and what to do.

    Nothing is written to the bank when an operation raises it.
    """


# Generation settings a voice may carry, with the types they must have. Other keys are kept when
# they hold a plain scalar (forward compatibility with backends that add options).
SETTING_TYPES: dict[str, type] = {
    "backend": str,
    "temperature": float,
    "top_k": int,
    "top_p": float,
    "seed": int,
    "ras_win_len": int,
    "ras_max_num_repeat": int,
    "max_new_tokens": int,
}
SETTING_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 10.0),
    "top_k": (0, 100_000),
    "top_p": (0.0, 1.0),
    "seed": (0, 2**63 - 1),
    "ras_win_len": (0, 10_000),
    "ras_max_num_repeat": (0, 10_000),
    "max_new_tokens": (1, 1_000_000),
}
TAG_FIELDS: tuple[str, ...] = ("gender", "age", "accent", "language", "style")
PROVENANCE_FIELDS: tuple[str, ...] = (
    "source",
    "owner",
    "consent",
    "consent_document",
    "consent_document_name",
    "licence",
    "date",
)
NO_TRANSCRIPT = "no transcript: cloning needs the words spoken in the clip; add them"
MAX_NAME = 200
MAX_TEXT = 20_000
MAX_TAG = 64
_SETTING_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
VOICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CLIP_ID = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class VoiceTags:
    """Structured tags (one value each) and free tags."""

    gender: str = ""
    age: str = ""
    accent: str = ""
    language: str = ""
    style: str = ""
    free: tuple[str, ...] = ()

    def labels(self) -> tuple[str, ...]:
        """``key:value`` for each structured tag that is set, then the free tags."""
        return tuple(f"{k}:{getattr(self, k)}" for k in TAG_FIELDS if getattr(self, k)) + self.free

    def matches(self, tag: str) -> bool:
        """``key:value`` matches that structured tag; a bare word matches any tag value or free tag."""
        key, sep, value = tag.partition(":")
        if sep and key.strip().lower() in TAG_FIELDS:
            current: str = getattr(self, key.strip().lower())
            return current.casefold() == value.strip().casefold()
        wanted = tag.strip().casefold()
        values = [getattr(self, k) for k in TAG_FIELDS] + list(self.free)
        return any(v.casefold() == wanted for v in values)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in TAG_FIELDS}
        out["free"] = list(self.free)
        return out


@dataclass(frozen=True)
class Provenance:
    """Where a voice came from and the permission to use it.

    ``consent_document`` is a file name inside the bank's ``documents/`` folder (content-addressed);
    ``consent_document_name`` the name the user gave it. ``date`` is an ISO date.
    """

    source: str = ""
    owner: str = ""
    consent: str = ""
    consent_document: str = ""
    consent_document_name: str = ""
    licence: str = ""
    date: str = ""

    def to_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in PROVENANCE_FIELDS}


@dataclass(frozen=True)
class ReferenceClip:
    """One reference clip of a voice: a normalised 24 kHz mono WAV named by its SHA-256 (``clip_id``)."""

    clip_id: str
    transcript: str = ""
    duration: float = 0.0
    sample_rate: int = 24000
    loudness_lufs: float = 0.0
    peak_dbfs: float = 0.0
    snr_db: float | None = None  # estimated from the quiet frames; None = no quiet frames (clean)
    clipped: bool = False  # the source had samples at full scale
    original_name: str = ""
    warnings: tuple[str, ...] = ()
    heard: str = ""  # what the speech recogniser heard in the clip ("" = never transcribed)

    def notes(self) -> tuple[str, ...]:
        """The audio warnings, and a note when the transcript is missing (to show the user)."""
        return self.warnings if self.transcript.strip() else self.warnings + (NO_TRANSCRIPT,)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["warnings"] = list(self.warnings)
        return out


@dataclass(frozen=True)
class BankVoice:
    """A named voice. The first clip is the primary one (what a project embeds)."""

    id: str
    name: str
    description: str = ""
    profile: str = ""  # a text profile, for voices without a clip ("Male, British accent, calm")
    tags: VoiceTags = field(default_factory=VoiceTags)
    clips: tuple[ReferenceClip, ...] = ()
    settings: tuple[tuple[str, Any], ...] = ()  # default generation settings, sorted by key
    piper_model: str = ""  # preferred Piper voice for CPU drafts (.onnx path; "" = bundled)
    piper_variant: int = 0
    provenance: Provenance = field(default_factory=Provenance)
    created: str = ""
    modified: str = ""
    effects: tuple[Effect, ...] = ()  # the voice's effect chain (copied onto a speaker that embeds it)

    @property
    def primary_clip(self) -> ReferenceClip | None:
        return self.clips[0] if self.clips else None

    @property
    def kind(self) -> str:
        """``clip``, ``profile`` or ``piper`` — what a project that embeds this voice will use."""
        if self.clips:
            return "clip"
        if self.profile.strip():
            return "profile"
        return "piper"

    def settings_dict(self) -> dict[str, Any]:
        return dict(self.settings)

    def search_text(self) -> str:
        parts = [self.name, self.description, self.profile, self.provenance.owner, self.provenance.source]
        parts += list(self.tags.labels()) + [c.transcript for c in self.clips]
        return "\n".join(parts).casefold()

    def matches(self, query: str = "", tags: Iterable[str] = ()) -> bool:
        """All words of ``query`` occur in the voice's text, and every tag in ``tags`` matches."""
        text = self.search_text()
        if any(word not in text for word in query.casefold().split()):
            return False
        return all(self.tags.matches(tag) for tag in tags)

    def sound_fingerprint(self) -> str:
        """Hash of what makes the voice sound as it does (not its name, tags or provenance)."""
        primary = self.primary_clip
        data = {
            "clip": primary.clip_id if primary else "",
            "transcript": primary.transcript if primary else "",
            "profile": self.profile,
            "settings": [list(kv) for kv in self.settings],
            "piper": [self.piper_model, self.piper_variant],
        }
        if self.effects:  # left out when empty, so voices without a chain keep their fingerprint
            data["effects"] = effects_to_plain(self.effects)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "profile": self.profile,
            "tags": self.tags.to_dict(),
            "clips": [c.to_dict() for c in self.clips],
            "settings": self.settings_dict(),
            "piper": {"model": self.piper_model, "variant": self.piper_variant},
            "provenance": self.provenance.to_dict(),
            "effects": effects_to_plain(self.effects),
            "created": self.created,
            "modified": self.modified,
        }


# ---- validation ---------------------------------------------------------------------------------


def _where(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def check_name(name: object, where: str = "name") -> str:
    if not isinstance(name, str):
        raise BankError(f"{where} must be a string, not {type_name(name)}")
    cleaned = " ".join(name.split())
    if not cleaned:
        raise BankError(f"{where} is empty; a voice needs a name")
    if len(cleaned) > MAX_NAME:
        raise BankError(f"{where} is {len(cleaned)} characters long; at most {MAX_NAME} are allowed")
    return cleaned


def check_text(value: object, where: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise BankError(f"{where} must be a string, not {type_name(value)}")
    if len(value) > limit:
        raise BankError(f"{where} is {len(value)} characters long; at most {limit} are allowed")
    return value.strip()


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def check_setting(key: str, value: object, where: str = "settings") -> Any:
    """One generation setting, converted to its declared type; raises BankError naming the field."""
    path = _where(where, key)
    if not isinstance(key, str) or not _SETTING_KEY.match(key):
        raise BankError(f"{where} has a bad setting name {key!r} (letters, digits and _ only)")
    wanted = SETTING_TYPES.get(key)
    if wanted is None:
        if isinstance(value, str | int | float | bool) and not (
            isinstance(value, float) and not math.isfinite(value)
        ):
            return value
        raise BankError(f"{path} must be a string, number or boolean, not {type_name(value)}")
    if wanted is str:
        if not isinstance(value, str):
            raise BankError(f"{path} must be a string, not {type_name(value)}")
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BankError(f"{path} must be a number, not {type_name(value)} ({value!r})")
    if wanted is int:
        if isinstance(value, float) and not value.is_integer():
            raise BankError(f"{path} must be a whole number, not {value!r}")
        number: float = int(value)
    else:
        number = float(value)
        if not math.isfinite(number):
            raise BankError(f"{path} must be a finite number, not {value!r}")
    low, high = SETTING_RANGES.get(key, (-math.inf, math.inf))
    if not low <= number <= high:
        raise BankError(f"{path} must be between {low:g} and {high:g}, not {value!r}")
    return number


def check_settings(values: object, where: str = "settings") -> tuple[tuple[str, Any], ...]:
    """A settings mapping as the sorted tuple a voice stores."""
    if not isinstance(values, Mapping):
        raise BankError(f"{where} must be an object of setting: value, not {type_name(values)}")
    return tuple(sorted((str(k), check_setting(k, v, where)) for k, v in values.items()))


def parse_setting(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line: the value converted to the setting's type."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise BankError(f"a setting is written KEY=VALUE (e.g. temperature=0.7), not {text!r}")
    raw = raw.strip()
    wanted = SETTING_TYPES.get(key)
    value: Any = raw
    if wanted is not str:
        for convert in (int, float):
            try:
                value = convert(raw)
                break
            except ValueError:
                continue
        else:
            if wanted is None and raw.lower() in ("true", "false"):
                value = raw.lower() == "true"
    return key, check_setting(key, value)


def check_tag(value: object, where: str) -> str:
    text = check_text(value, where, MAX_TAG)
    if "\n" in text:
        raise BankError(f"{where} must be one line")
    return " ".join(text.split())


def check_tags(values: object, where: str = "tags") -> VoiceTags:
    """Tags from a mapping ``{"gender": "...", …, "free": [...]}``."""
    if not isinstance(values, Mapping):
        raise BankError(f"{where} must be an object, not {type_name(values)}")
    known = {*TAG_FIELDS, "free"}
    for key in values:
        if key not in known:
            raise BankError(f"{where} has an unknown tag field {key!r} (known: {', '.join(sorted(known))})")
    kwargs: dict[str, Any] = {k: check_tag(values.get(k, ""), _where(where, k)) for k in TAG_FIELDS}
    free = values.get("free", [])
    if not isinstance(free, list | tuple):
        raise BankError(f"{where}.free must be a list of strings, not {type_name(free)}")
    kwargs["free"] = dedupe_tags(check_tag(t, f"{where}.free[{i}]") for i, t in enumerate(free))
    return VoiceTags(**kwargs)


def dedupe_tags(tags: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for tag in tags:
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return tuple(out)


def apply_tag_args(tags: VoiceTags, add: Iterable[str] = (), remove: Iterable[str] = ()) -> VoiceTags:
    """Add ``key:value`` (structured) or bare (free) tags, then remove the ones in ``remove``."""
    changes: dict[str, Any] = {}
    free = list(tags.free)
    for raw in add:
        key, sep, value = raw.partition(":")
        if sep and key.strip().lower() in TAG_FIELDS:
            changes[key.strip().lower()] = check_tag(value, f"tag {key.strip()}")
        else:
            free.append(check_tag(raw, "tag"))
    for raw in remove:
        key, sep, value = raw.partition(":")
        if sep and key.strip().lower() in TAG_FIELDS:
            changes[key.strip().lower()] = ""
        else:
            free = [t for t in free if t.casefold() != raw.strip().casefold()]
    return dataclasses.replace(tags, free=dedupe_tags(free), **changes)


def effects_to_plain(chain: tuple[Effect, ...]) -> list[dict[str, Any]]:
    """A chain as JSON-ready data (the form the project file stores too)."""
    return [to_plain(fx) for fx in chain]


def check_effects(values: object, where: str = "effects") -> tuple[Effect, ...]:
    """An effect chain from JSON data (or Effect records), checked against the effects catalogue."""
    if isinstance(values, tuple) and all(isinstance(fx, Effect) for fx in values):
        chain: tuple[Effect, ...] = values
    else:
        if not isinstance(values, list | tuple):
            raise BankError(f"{where} must be a list of effects, not {type_name(values)}")
        items: list[Effect] = []
        for i, item in enumerate(values):
            if isinstance(item, Effect):
                items.append(item)
                continue
            if not isinstance(item, Mapping) or not isinstance(item.get("kind"), str):
                raise BankError(f"{where}[{i}] must be an object with a kind, not {type_name(item)}")
            try:
                items.append(from_plain(Effect, dict(item)))
            except (TypeError, ValueError) as exc:
                raise BankError(f"{where}[{i}] is not an effect: {exc}") from None
        chain = tuple(items)
    for i, fx in enumerate(chain):
        try:
            fxc.check_chain((fx,), on_track=False)
        except EditError as exc:
            raise BankError(f"{where}[{i}]: {exc}") from None
    return chain


def check_provenance(values: object, where: str = "provenance") -> Provenance:
    if not isinstance(values, Mapping):
        raise BankError(f"{where} must be an object, not {type_name(values)}")
    for key in values:
        if key not in PROVENANCE_FIELDS:
            raise BankError(f"{where} has an unknown field {key!r} (known: {', '.join(PROVENANCE_FIELDS)})")
    return Provenance(**{k: check_text(values.get(k, ""), _where(where, k), 5000) for k in PROVENANCE_FIELDS})
