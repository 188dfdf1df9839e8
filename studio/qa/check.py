"""Checking takes: the transcribe job for a take, and its scores once the transcript is back.

    job = transcribe_job(project, media_dir, take_key)          # submit to the engine
    scores = score_take(project, media_dir, take_key, event)     # the ``finished`` event (or None)
    project.apply(store(project, take_key, scores))              # kept with the take

Thread contract: call on the thread that owns the project; ``score_take`` reads the take file.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.protocol import TranscribeJob
from studio.audio.decode import read_audio
from studio.audio.errors import DecodeError
from studio.core import ops
from studio.core.model import LineKind, Take
from studio.core.project import Project
from studio.core.speech_text import heard_text
from studio.core.take_ops import store_scores
from studio.qa.scores import DEFAULT_RATE, USUAL_RATE_MIN_TAKES, TakeScores, judge, thresholds
from studio.qa.signal import measure
from studio.qa.words import char_error_rate, compare

JOB_PREFIX = "check:"
ENGLISH_ONLY_HINT = "knows English only"


def job_id_for(key: str) -> str:
    return f"{JOB_PREFIX}{key}"


def line_language(project: Project, take: Take) -> str:
    return str(getattr(take, "language", "") or getattr(project.settings, "source_language", "") or "en")


def line_text(project: Project, take: Take) -> str:
    """The text the take was rendered from (its language's translation when it has one)."""
    line = project.lines[take.line_id]
    language = getattr(take, "language", "")
    if language:
        text = dict(getattr(line, "translations", ())).get(language)
        if text:
            return str(text)
    return line.text


def transcribe_job(project: Project, media_dir: Path, key: str) -> TranscribeJob:
    take = project.takes[key]
    return TranscribeJob(
        job_id=job_id_for(key),
        audio_path=str((media_dir / take.media).resolve()),
        # what the listener should hear: lexicon aliases said, emphasis and timing tags gone
        text=heard_text(project, project.lines[take.line_id].speaker_id, line_text(project, take)),
        language=line_language(project, take),
        line_id=take.line_id,
    )


def usual_rate(project: Project, speaker_id: str, exclude: str = "") -> float:
    """The voice's usual speech rate: the median of its ok takes' rates (default until it has a few)."""
    rates = []
    for line in project.lines.values():
        if line.speaker_id != speaker_id or not line.selected_take or line.selected_take == exclude:
            continue
        take = project.takes.get(line.selected_take)
        scores = TakeScores.from_json(take.qa) if take is not None else None
        if scores is not None and not scores.suspect and scores.rate > 0:
            rates.append(scores.rate)
    return round(statistics.median(rates), 3) if len(rates) >= USUAL_RATE_MIN_TAKES else DEFAULT_RATE


def score_take(project: Project, media_dir: Path, key: str, event: dict[str, Any] | None) -> TakeScores:
    """Scores of take ``key`` from its audio and the engine's transcribe ``event`` (a ``finished``
    event of its TranscribeJob; None or a ``failed`` one = the words are not checked)."""
    take = project.takes[key]
    line = project.lines[take.line_id]
    try:
        audio, rate = read_audio(media_dir / take.media)
        signal = measure(audio, rate)
    except (DecodeError, OSError) as exc:
        return judge(
            TakeScores(engine_note=f"the take file cannot be read: {exc}", words_checked=False),
            thresholds(project.settings.qa_thresholds),
        )
    scores = TakeScores(
        duration=signal.duration,
        leading_silence=signal.leading_silence,
        trailing_silence=signal.trailing_silence,
        longest_pause=signal.longest_pause,
        clipping=signal.clipping,
        peak_dbfs=signal.peak_dbfs,
        level_dbfs=signal.level_dbfs,
        engine_note=take.note if take.suspect else "",
        words_checked=False,
    )
    finished = event is not None and event.get("type") == "finished"
    if finished and line.kind == LineKind.DIALOGUE and event is not None:
        transcript = event.get("transcript") or {}
        words = tuple(
            (str(w[0]), float(w[1]), float(w[2])) for w in transcript.get("words", ()) if isinstance(w, list | tuple)
        )
        diff = compare(str(event.get("expected", "")), str(event.get("heard", "")))
        spoken = (words[-1][2] - words[0][1]) if words else 0.0
        usual = usual_rate(project, line.speaker_id, exclude=key)
        scores = replace(
            scores,
            expected=str(event.get("expected", "")),
            transcript=str(transcript.get("text", "")),
            words=words,
            wer=round(diff.wer, 4),
            cer=round(char_error_rate(str(event.get("expected", "")), str(event.get("heard", ""))), 4),
            word_errors=diff.errors,
            expected_words=diff.expected_count,
            missing=diff.missing,
            extra=diff.extra,
            rate=round(len(words) / spoken, 3) if spoken > 0.3 and len(words) >= 3 else 0.0,
            usual_rate=usual,
            expected_duration=round(diff.expected_count / usual + 0.3, 3) if diff.expected_count else 0.0,
            words_checked=True,
            model=str(transcript.get("model", "")),
        )
    return judge(scores, thresholds(project.settings.qa_thresholds))


def rejudge(project: Project, key: str) -> TakeScores | None:
    """Stored scores of take ``key`` judged again with the project's current thresholds."""
    scores = TakeScores.from_json(project.takes[key].qa)
    return judge(scores, thresholds(project.settings.qa_thresholds)) if scores is not None else None


def store(project: Project, key: str, scores: TakeScores) -> ops.Batch:
    return store_scores(project, key, scores.to_json(), scores.suspect, "; ".join(scores.reasons))
