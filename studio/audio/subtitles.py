"""Subtitles (SubRip .srt and WebVTT .vtt) from the line clips placed on the timeline.

Each clip that voices a script line (``clip.line_id``) on a track that is not muted becomes a cue
from the clip's start to its end, carrying the line's text and, optionally, the speaker's name
(SRT: ``Name: text``; WebVTT: a ``<v Name>`` voice span). Text is wrapped to
:data:`MAX_LINE_CHARS` characters and at most two lines per cue; longer lines are split into
consecutive cues, with time shared out by the number of characters. The text is in the language the
timeline speaks (``studio.core.layout.timeline_language``), so a mix in French gets French subtitles.

Thread contract: pure functions over a project snapshot.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from studio.core.layout import timeline_language
from studio.core.project import Project
from studio.core.workflow import line_text, selected_take_key

MAX_LINE_CHARS = 42
MAX_LINES = 2


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str  # may hold "\n"
    speaker: str = ""
    line_id: str = ""


def _split(text: str) -> list[str]:
    """Wrap into cue texts of at most MAX_LINES lines of MAX_LINE_CHARS characters."""
    lines = textwrap.wrap(" ".join(text.split()), MAX_LINE_CHARS) or [""]
    return ["\n".join(lines[i : i + MAX_LINES]) for i in range(0, len(lines), MAX_LINES)]


def build_cues(project: Project, speakers: bool = True) -> list[Cue]:
    """Cues for every placed line clip, in timeline order."""
    cues: list[Cue] = []
    language = timeline_language(project)
    for clip in sorted(project.clips.values(), key=lambda c: (c.start, c.id)):
        if not clip.line_id or clip.line_id not in project.lines:
            continue
        duration = clip.duration
        if duration <= 0:  # "to the end of the file": the take's length
            take = project.takes.get(selected_take_key(project, project.lines[clip.line_id], language))
            duration = (take.duration - clip.source_in) if take is not None else 0.0
        if duration <= 0:
            continue
        track = project.tracks.get(clip.track_id)
        if track is None or track.mute:
            continue
        line = project.lines[clip.line_id]
        text = line_text(project, line, language) or line.text
        if not text.strip():
            continue
        speaker = project.speakers.get(line.speaker_id)
        name = speaker.name if (speakers and speaker is not None) else ""
        parts = _split(text)
        total_chars = sum(len(p) for p in parts) or 1
        t = clip.start
        for i, part in enumerate(parts):
            end = clip.start + duration if i == len(parts) - 1 else t + duration * len(part) / total_chars
            cues.append(Cue(t, end, part, name, line.id))
            t = end
    return cues


def _timestamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def format_srt(cues: list[Cue]) -> str:
    blocks = []
    for i, cue in enumerate(cues, 1):
        text = f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text
        blocks.append(f"{i}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n{text}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_vtt(cues: list[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for cue in cues:
        text = _vtt_escape(cue.text)
        if cue.speaker:
            text = f"<v {_vtt_escape(cue.speaker)}>{text}"
        blocks.append(f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n{text}\n")
    return "\n".join(blocks)
