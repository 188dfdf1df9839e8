"""The in-memory Project: records by id, the script's line order, settings, and change announcements.

Edits go through :mod:`studio.core.ops` (``project.apply(op)`` returns the inverse op). The project
announces each real change to subscribers as a :class:`Change`; the project store
(:mod:`studio.core.store`) is one subscriber and commits every change as it happens.

Thread contract: a Project is owned by one thread (the UI main thread or the CLI). Subscribers are
called synchronously on that thread, in subscription order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from studio.core.model import (
    Clip,
    LexiconEntry,
    Marker,
    Recording,
    Scene,
    ScriptLine,
    Speaker,
    Take,
    Track,
    TrackKind,
)


@dataclass(frozen=True)
class ProjectSettings:
    title: str = "Untitled"
    artist: str = ""
    album: str = ""
    comment: str = ""
    sample_rate: int = 48000
    channels: int = 2
    backend: str = "piper"  # piper | higgs | openai
    backend_options: tuple[tuple[str, Any], ...] = ()
    gap_same_speaker: float = 0.25  # seconds between consecutive lines of one speaker
    gap_new_speaker: float = 0.6  # seconds between turns of different speakers
    gap_new_scene: float = 1.5  # seconds between scenes
    lead_in: float = 0.0  # seconds of timeline before the first line (room for an intro)
    export_preset: str = "podcast"
    master_gain_db: float = 0.0
    level_match_speakers: bool = False
    source_language: str = "en"  # ISO 639-1 code of the lines' ``text``
    target_languages: tuple[str, ...] = ()  # languages the lines are translated into and voiced in
    timeline_language: str = ""  # the language the timeline (and so playback and the mix) speaks; "" = source
    qa_check: bool = True  # check every new take: transcribe it and score it (studio.qa)
    qa_retries: int = -1  # re-rolls of a suspect take, -1 = the backend's default (studio.qa.reroll)
    qa_thresholds: tuple[tuple[str, float], ...] = ()  # overrides of studio.qa.scores.DEFAULT_THRESHOLDS

    def backend_options_dict(self) -> dict[str, Any]:
        return dict(self.backend_options)


@dataclass(frozen=True)
class Change:
    """What changed: ``kind`` is a record kind ("line", "clip", …), "order" or "settings".

    ``action`` is "insert", "delete", "update", "reorder" or "settings". ``old``/``new`` are the
    records before and after (None where absent). ``t0``/``t1`` bound the affected timeline range
    in seconds for clip changes (repaint only what is visible), else 0.
    """

    kind: str
    action: str
    id: str = ""
    old: Any = None
    new: Any = None
    t0: float = 0.0
    t1: float = 0.0


Subscriber = Callable[[Change], None]


@dataclass
class Project:
    settings: ProjectSettings = field(default_factory=ProjectSettings)
    speakers: dict[str, Speaker] = field(default_factory=dict)
    scenes: dict[str, Scene] = field(default_factory=dict)
    lines: dict[str, ScriptLine] = field(default_factory=dict)
    line_order: list[str] = field(default_factory=list)
    tracks: dict[str, Track] = field(default_factory=dict)
    clips: dict[str, Clip] = field(default_factory=dict)
    markers: dict[str, Marker] = field(default_factory=dict)
    takes: dict[str, Take] = field(default_factory=dict)
    lexicon: dict[str, LexiconEntry] = field(default_factory=dict)  # project and speaker entries
    recordings: dict[str, Recording] = field(default_factory=dict)  # imported recordings (studio.recordings)
    # The user's lexicon (data folder, shared by all projects): not stored in the project; the opener sets it.
    user_lexicon: tuple[LexiconEntry, ...] = ()
    # Media files referenced by clips that were not found when the project was opened.
    missing_media: set[str] = field(default_factory=set)
    _subscribers: list[Subscriber] = field(default_factory=list, repr=False)
    _depth: int = field(default=0, repr=False)

    # ---- change announcements -------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(change)`` after every real change; returns an unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def announce(self, change: Change) -> None:
        for callback in list(self._subscribers):
            callback(change)

    # ---- edits ---------------------------------------------------------------------------
    def apply(self, op: Any) -> Any:
        """Apply an operation from :mod:`studio.core.ops`; returns its inverse.

        After the outermost ``apply`` returns, subscribers get ``Change("edit", "end")``: the store
        commits everything the edit changed in one transaction then. If the op fails part-way, the
        part already applied is rolled back before the error propagates.
        """
        self._depth += 1
        try:
            return op.apply_to(self)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.announce(Change("edit", "end"))

    def snapshot(self) -> Project:
        """A detached copy for worker threads: the tables are copied (records are frozen), no subscribers."""
        return Project(
            settings=self.settings,
            speakers=dict(self.speakers),
            scenes=dict(self.scenes),
            lines=dict(self.lines),
            line_order=list(self.line_order),
            tracks=dict(self.tracks),
            clips=dict(self.clips),
            markers=dict(self.markers),
            takes=dict(self.takes),
            lexicon=dict(self.lexicon),
            recordings=dict(self.recordings),
            user_lexicon=self.user_lexicon,
            missing_media=set(self.missing_media),
        )

    # ---- queries -------------------------------------------------------------------------
    def table(self, kind: str) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = {
            "speaker": self.speakers,
            "scene": self.scenes,
            "line": self.lines,
            "track": self.tracks,
            "clip": self.clips,
            "marker": self.markers,
            "take": self.takes,
            "lexicon": self.lexicon,
            "recording": self.recordings,
        }
        try:
            return tables[kind]
        except KeyError:
            raise KeyError(f"unknown record kind {kind!r}") from None

    def ordered_lines(self) -> Iterator[ScriptLine]:
        for line_id in self.line_order:
            yield self.lines[line_id]

    def line_index(self, line_id: str) -> int:
        return self.line_order.index(line_id)

    def speaker_by_name(self, name: str) -> Speaker | None:
        wanted = name.strip().casefold()
        for speaker in self.speakers.values():
            if speaker.name.casefold() == wanted:
                return speaker
        return None

    def tracks_of_kind(self, kind: TrackKind) -> list[Track]:
        return [t for t in self.tracks.values() if t.kind == kind]

    def clips_on(self, track_id: str) -> list[Clip]:
        return sorted((c for c in self.clips.values() if c.track_id == track_id), key=lambda c: c.start)

    def clip_for_line(self, line_id: str) -> Clip | None:
        for clip in self.clips.values():
            if clip.line_id == line_id:
                return clip
        return None

    def duration(self) -> float:
        """End of the last clip on the timeline, in seconds."""
        return max((c.end for c in self.clips.values()), default=0.0)

    def selected_take(self, line_id: str) -> Take | None:
        key = self.lines[line_id].selected_take
        return self.takes.get(key) if key else None
