"""Records of the Chorus document: frozen dataclasses, changed with ``dataclasses.replace``.

Cross-references are ids (``speaker_id``, ``track_id``, take keys), resolved at use; nothing here
holds a live object of another record. Times are seconds (float); the mixer rounds them to samples
at the project rate, so placement is sample-accurate for any time that is a whole number of samples.

Thread contract: records are immutable and may be read from any thread.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field, fields
from typing import Any

# Colours given to new speakers in turn (readable on the dark theme).
SPEAKER_COLOURS: tuple[str, ...] = (
    "#4FC3F7",
    "#FFB74D",
    "#81C784",
    "#F06292",
    "#BA68C8",
    "#FFD54F",
    "#4DB6AC",
    "#E57373",
)


def new_id(prefix: str) -> str:
    """A short random id such as ``clip_3f9a1c2e4b``."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


class VoiceKind(enum.StrEnum):
    """How a speaker's voice is defined."""

    PIPER = "piper"  # a Piper voice (bundled or a .onnx file) + a variant
    CLIP = "clip"  # a reference clip + transcript (zero-shot cloning)
    PROFILE = "profile"  # a text profile ("Male, British accent, calm")
    SMART = "smart"  # no reference: the model picks a voice from context


@dataclass(frozen=True)
class Effect:
    """One effect of a chain (:mod:`studio.core.effects` lists the kinds and their parameters)."""

    kind: str
    params: tuple[tuple[str, float], ...] = ()
    bypass: bool = False


# Piper variants: 1 = pitch + rate (the first recipe, formants follow the pitch), 2 = pitch, formant
# and rate chosen apart (engine/backends/piper_variants.py). New voices get the latest.
LATEST_VARIANT_STYLE = 2


@dataclass(frozen=True)
class Voice:
    """A speaker's voice. ``clip_media`` names a file in the project's ``media/`` (embedded)."""

    kind: VoiceKind = VoiceKind.PIPER
    piper_model: str = ""  # path to a Piper .onnx; "" = the bundled voice
    variant: int = 0  # Piper variant (rate + pitch), distinct per speaker by default
    clip_media: str = ""
    transcript: str = ""
    profile: str = ""
    bank_voice_id: str = ""  # the voice bank entry this came from ("" = none)
    settings: tuple[tuple[str, Any], ...] = ()  # per-voice generation defaults
    effects: tuple[Effect, ...] = ()  # applied to each of this voice's clips (with its tail)
    variant_style: int = LATEST_VARIANT_STYLE  # how ``variant`` is made (projects before 2 keep 1)

    def settings_dict(self) -> dict[str, Any]:
        return dict(self.settings)


@dataclass(frozen=True)
class Speaker:
    id: str
    name: str
    colour: str = SPEAKER_COLOURS[0]
    voice: Voice = field(default_factory=Voice)


@dataclass(frozen=True)
class Scene:
    id: str
    title: str
    description: str = ""


class LineStatus(enum.StrEnum):
    STALE = "stale"
    QUEUED = "queued"
    RENDERING = "rendering"
    DONE = "done"
    FAILED = "failed"
    SUSPECT = "suspect"


class LineStage(enum.StrEnum):
    """Where a line stands in the voice-over workflow (its render status is :class:`LineStatus`).

    draft → ready (for voice) → rendered → approved → locked. A take finishing moves draft/ready
    lines to rendered; a text change moves rendered/approved lines back to ready; a locked line is
    never re-rendered, even when its text changes (see :mod:`studio.core.workflow`).
    """

    DRAFT = "draft"
    READY = "ready"
    RENDERED = "rendered"
    APPROVED = "approved"
    LOCKED = "locked"


class LineKind(enum.StrEnum):
    """Which track kind a line's takes land on."""

    DIALOGUE = "dialogue"
    HUMMING = "humming"
    MUSIC = "music"

    @classmethod
    def of_text(cls, text: str) -> LineKind:
        """A line that is only a ``[music start]…`` / ``[humming start]…`` request is a layer of its own."""
        lowered = text.strip().lower()
        if lowered.startswith("[music start]") or lowered == "[music]":
            return cls.MUSIC
        if lowered.startswith("[humming start]") or lowered.startswith("[sing start]"):
            return cls.HUMMING
        return cls.DIALOGUE


@dataclass(frozen=True)
class ScriptLine:
    id: str
    speaker_id: str
    text: str
    direction: str = ""
    scene_id: str = ""
    notes: str = ""
    kind: LineKind = LineKind.DIALOGUE
    status: LineStatus = LineStatus.STALE
    status_detail: str = ""  # failure reason, suspect reason
    selected_take: str = ""  # a take key, "" = none
    takes: tuple[str, ...] = ()  # take history, oldest first (every language's takes)
    # Text in the project's target languages: (ISO 639-1 code, text), sorted by code; ``text`` is the source.
    translations: tuple[tuple[str, str], ...] = ()
    # The selected take per target language: (code, take key); ``selected_take`` is the source's.
    language_takes: tuple[tuple[str, str], ...] = ()
    stage: LineStage = LineStage.DRAFT
    # A recorded line (studio.recordings): the Recording it comes from ("" = a synthetic line) and its
    # words as (word, media, start, end, index): media "" = the recording's file, else a patch's; start/end
    # are seconds in that file; index is the word's place in the line as transcribed (-1 = patched in).
    recording_id: str = ""
    words: tuple[tuple[str, str, float, float, int], ...] = ()


class TrackKind(enum.StrEnum):
    DIALOGUE = "dialogue"
    HUMMING = "humming"
    MUSIC = "music"
    SFX = "sfx"


@dataclass(frozen=True)
class Ducking:
    """Side-chain ducking of a music/humming track under the dialogue."""

    enabled: bool = True
    depth_db: float = -12.0
    threshold_db: float = -45.0
    attack_ms: float = 60.0
    release_ms: float = 450.0
    lookahead_ms: float = 120.0


@dataclass(frozen=True)
class Track:
    id: str
    name: str
    kind: TrackKind = TrackKind.DIALOGUE
    gain_db: float = 0.0
    pan: float = 0.0  # -1 (left) .. +1 (right)
    mute: bool = False
    solo: bool = False
    speaker_id: str = ""  # dialogue tracks laid out per speaker
    ducking: Ducking = field(default_factory=Ducking)
    effects: tuple[Effect, ...] = ()  # insert chain on the track's sum, before gain and pan


@dataclass(frozen=True)
class Clip:
    """A placed piece of a media file. ``source_out`` 0 means "to the end of the file"."""

    id: str
    track_id: str
    media: str  # file name inside the project's media/ (content-addressed)
    start: float = 0.0
    source_in: float = 0.0
    source_out: float = 0.0
    duration: float = 0.0  # placed length in seconds (source_out - source_in once known)
    gain_db: float = 0.0
    fade_in: float = 0.0
    fade_out: float = 0.0
    line_id: str = ""  # the script line this clip voices ("" = music/sfx)
    pinned: bool = False  # moved by hand: automatic layout leaves it where it is

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Marker:
    id: str
    time: float
    title: str


@dataclass(frozen=True)
class Take:
    """One rendered audio file for one script line; ``key`` is the hash of all that determines it."""

    key: str
    line_id: str
    media: str
    duration: float
    sample_rate: int
    backend: str = ""
    created: str = ""
    suspect: bool = False
    note: str = ""
    recipe: str = ""  # hash of everything but the seed: same recipe = same words, voice, settings
    seed: int = 0
    language: str = ""  # the language it speaks ("" = the project's source language)
    qa: str = ""  # take check scores and verdict as JSON (studio.qa.scores.TakeScores), "" = not checked
    favourite: bool = False  # starred by the user in the takes view (kept when unused takes are deleted)

    @property
    def id(self) -> str:
        return self.key


@dataclass(frozen=True)
class LexiconEntry:
    """A pronunciation rule: ``grapheme`` (a word or phrase as written) is sent to the engine as
    ``replacement`` (a respelling or an alias) or, for backends that take phonemes, as ``phonemes`` (IPA).

    ``speaker_id`` "" = the whole project; else the entry applies to that speaker's lines only (and wins
    over a project or user entry for the same words). Matching rules are in :mod:`studio.core.lexicon`.
    """

    id: str
    grapheme: str
    replacement: str = ""
    phonemes: str = ""  # IPA (espeak-ng's phoneme set for Piper)
    kind: str = "alias"  # alias | respelling | phonemes: what the entry is, for people (lexicon.ENTRY_KINDS)
    speaker_id: str = ""
    match_case: bool = False  # False: "afk", "AFK" and "Afk" all match
    whole_word: bool = True  # False: matches inside longer words too
    note: str = ""


@dataclass(frozen=True)
class Recording:
    """An imported recording of one speaker (studio.recordings). ``media`` is the original file, copied
    into ``media/`` and never modified; its recorded lines are ScriptLines with ``recording_id`` = ``id``.
    ``ref_in``/``ref_out``: the clean stretch a patch clones the voice from (chosen on import, changeable);
    ``room_in``/``room_out``: the quietest stretch, used as room tone where words are cut."""

    id: str
    name: str
    media: str
    speaker_id: str = ""
    track_id: str = ""
    duration: float = 0.0
    sample_rate: int = 0
    ref_in: float = 0.0
    ref_out: float = 0.0
    room_in: float = 0.0
    room_out: float = 0.0
    model: str = ""  # the speech recogniser that transcribed it


RECORD_TYPES: dict[str, type[Any]] = {
    "speaker": Speaker,
    "scene": Scene,
    "line": ScriptLine,
    "track": Track,
    "clip": Clip,
    "marker": Marker,
    "take": Take,
    "recording": Recording,
    "lexicon": LexiconEntry,
}


def record_kind(record: object) -> str:
    for kind, cls in RECORD_TYPES.items():
        if isinstance(record, cls):
            return kind
    raise TypeError(f"not a Chorus record: {type(record).__name__}")


def field_names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))
