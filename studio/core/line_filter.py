"""Which script lines a table shows: the ONE row-visibility rule for every filter of the Script panel
(find text, stage, suspect only). Widgets keep a :class:`LineFilter` and ask :func:`line_visible`
per row; none hides rows on its own, so the filters always combine (all must agree).

Pure; safe from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.model import LineStatus, ScriptLine


@dataclass(frozen=True)
class LineFilter:
    """``text``: words that must all appear (case-insensitive) in the line's id, speaker, text,
    direction or notes; ``stage``: a :class:`~studio.core.model.LineStage` value ("" = any);
    ``suspect_only``: only lines whose take check (or the engine) flagged the take."""

    text: str = ""
    stage: str = ""
    suspect_only: bool = False

    @property
    def active(self) -> bool:
        return bool(self.text.strip() or self.stage or self.suspect_only)


def line_visible(
    rule: LineFilter,
    line: ScriptLine | None,
    *,
    status: LineStatus | None = None,
    shown_text: str = "",
    speaker_name: str = "",
) -> bool:
    """Whether ``line`` passes every part of ``rule``. ``status`` is the status the table shows (a
    target language's, default the line's own); ``shown_text`` the text it shows (default the line's)."""
    if line is None:
        return not rule.active
    if rule.stage and line.stage.value != rule.stage:
        return False
    if rule.suspect_only and (status if status is not None else line.status) != LineStatus.SUSPECT:
        return False
    words = rule.text.lower().split()
    if words:
        haystack = " ".join(
            (
                line.id,
                speaker_name,
                line.speaker_id,
                shown_text or line.text,
                line.text,
                line.direction,
                line.notes,
            )
        ).lower()
        if not all(word in haystack for word in words):
            return False
    return True
