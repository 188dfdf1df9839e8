"""Edit a recorded line by its text: cut words, or patch new words in in the speaker's voice.

A recorded line keeps every word it was transcribed with (``ScriptLine.words``: word, media, start,
end, index; media ``""`` = the recording, ``"-"`` = cut, else a patch file); its clips are derived from
them by :func:`relayout`: runs of consecutive kept words play their stretch of the recording, a patch
plays its file, joins are cut at zero crossings with ``XFADE_S`` equal-power crossfades, and where the
line got shorter, room tone fills the time up to where the line used to end. Each word owns its audio
up to the next word's start, so cutting a word removes it and the pause after it.

Every edit is one :class:`studio.core.ops.Batch` (undo restores the line and its clips exactly); the
recording file is never touched.

Thread contract: the project's thread.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.core import ops
from studio.core.model import Clip, Recording, ScriptLine, new_id
from studio.recordings.audio import (
    RecordingError,
    match_loudness,
    match_spectrum,
    read_span,
    snap_to_zero,
    trim_silence,
    wav_bytes,
)
from studio.recordings.importer import SPAN

XFADE_S = 0.010
SNAP_S = 0.004  # a cut moves at most this far to reach a zero crossing
CUT, SOURCE = "-", ""
CLONING_BACKENDS = ("higgs", "openai")
_TOKEN = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Piece:
    media: str
    source_in: float
    source_out: float
    room_tone: bool = False


def recorded_line(project: Any, line_id: str) -> tuple[ScriptLine, Recording]:
    line = project.lines.get(line_id)
    if line is None:
        raise RecordingError(f"no line with id {line_id}")
    recording = project.recordings.get(line.recording_id)
    if recording is None or not line.words or line.words[0][4] != SPAN:
        raise RecordingError(f"line {line_id} is not a recorded line")
    return line, recording


def live_words(line: ScriptLine) -> list[tuple[int, tuple[str, str, float, float, int]]]:
    """(position in ``line.words``, entry) of the words the line says now."""
    return [(k, w) for k, w in enumerate(line.words) if w[4] != SPAN and w[1] != CUT]


def _norm(word: str) -> str:
    return "".join(_TOKEN.findall(word.lower()))


def find_words(line: ScriptLine, phrase: str) -> list[int]:
    """Positions (in ``line.words``) of the first run of live words that reads ``phrase``."""
    wanted = [_norm(w) for w in phrase.split() if _norm(w)]
    live = live_words(line)
    if not wanted:
        raise RecordingError("no words to replace were given")
    for i in range(len(live) - len(wanted) + 1):
        if all(_norm(live[i + j][1][0]) == wanted[j] for j in range(len(wanted))):
            return [live[i + j][0] for j in range(len(wanted))]
    raise RecordingError(f"no words matched {phrase!r} in line {line.id} ({line.text!r})")


def pieces(line: ScriptLine, recording: Recording, audio: np.ndarray | None, rate: int) -> list[Piece]:
    """What the line plays, in order (module docstring). ``audio`` (the recording, mono) snaps cuts."""
    span = line.words[0]
    line_in, line_out = float(span[2]), float(span[3])
    source = [w for w in line.words[1:] if w[4] >= 0]
    starts = {w[4]: float(w[2]) for w in source}
    last = max(starts) if starts else -1
    out: list[Piece] = []
    run: list[tuple[str, str, float, float, int]] = []

    def snap(t: float) -> float:
        if audio is None or t in (line_in, line_out):
            return t
        return snap_to_zero(audio, int(round(t * rate)), int(SNAP_S * rate)) / rate

    def flush() -> None:
        if not run:
            return
        a, b = run[0][4], run[-1][4]
        left = line_in if a == 0 else snap(starts[a])
        right = line_out if b == last else snap(starts[b + 1])
        out.append(Piece(recording.media, left, right))
        run.clear()

    for w in line.words[1:]:
        if w[1] == CUT:
            flush()
        elif w[1] == SOURCE:
            if run and w[4] != run[-1][4] + 1:
                flush()
            run.append(w)
        else:
            flush()
            if not out or out[-1].media != w[1]:
                out.append(Piece(w[1], 0.0, float(w[3])))
            else:
                out[-1] = dataclasses.replace(out[-1], source_out=float(w[3]))
    flush()
    return out


def relayout(project: Any, line: ScriptLine, media_path: Callable[[str], Path], label: str) -> ops.Batch:
    """Ops that replace the line's clips with the clips its words call for (plus the line update)."""
    recording = project.recordings[line.recording_id]
    audio, rate = read_span(media_path(recording.media), 0.0, recording.duration + 1)
    old = [c for c in project.clips.values() if c.line_id == line.id]
    span = line.words[0]
    line_in, line_out = float(span[2]), float(span[3])
    plan = pieces(line, recording, audio, rate)
    at = line_in
    clips: list[Clip] = []
    for k, piece in enumerate(plan):
        length = piece.source_out - piece.source_in
        if length <= 0:
            continue
        start = at if not clips else at - XFADE_S
        clips.append(Clip(
            new_id("clip"), recording.track_id, piece.media, start=round(start, 6),
            source_in=round(piece.source_in, 6), source_out=round(piece.source_out, 6),
            duration=round(length, 6), line_id=line.id, pinned=True,
            fade_in=XFADE_S if clips else 0.0, fade_out=XFADE_S if k < len(plan) - 1 else 0.0,
        ))
        at = start + length
    tone = recording.room_out - recording.room_in
    if clips and at < line_out - XFADE_S and tone > 2 * XFADE_S:
        clips[-1] = dataclasses.replace(clips[-1], fade_out=XFADE_S)
        while at < line_out - 1e-6:
            start = at - XFADE_S
            length = min(tone, line_out - start)
            clips.append(Clip(
                new_id("clip"), recording.track_id, recording.media, start=round(start, 6),
                source_in=recording.room_in, source_out=round(recording.room_in + length, 6),
                duration=round(length, 6), line_id=line.id, pinned=True, fade_in=XFADE_S, fade_out=XFADE_S,
            ))
            at = start + length
    text = " ".join(w[0] for _, w in live_words(line))
    edits: list[Any] = [ops.Delete("clip", c.id) for c in old]
    edits += [ops.Insert(c) for c in clips]
    edits.append(ops.Update("line", line.id, (("words", line.words), ("text", text))))
    return ops.Batch(tuple(edits), label)


def cut_words(project: Any, line_id: str, phrase: str, media_path: Callable[[str], Path]) -> ops.Batch:
    """Cut the words ``phrase`` from a recorded line (one undo step)."""
    line, _rec = recorded_line(project, line_id)
    gone = set(find_words(line, phrase))
    words = tuple((w[0], CUT, w[2], w[3], w[4]) if k in gone and w[1] == SOURCE else w
                  for k, w in enumerate(line.words) if not (k in gone and w[1] not in (SOURCE, CUT)))
    return relayout(project, dataclasses.replace(line, words=words), media_path, f"Cut “{phrase}”")


def check_cloning(backend: str) -> None:
    if backend not in CLONING_BACKENDS:
        raise RecordingError(
            f"patching words needs a cloning backend (higgs, or an OpenAI-compatible server that clones); "
            f"this project uses {backend} — cutting words still works"
        )


def patch_job(project: Any, line_id: str, old: str, new: str, media_path: Callable[[str], Path], folder: Path) -> Any:
    """The render job for a patch: ``new`` in the speaker's voice, cloned from the recording's
    reference stretch, with the words before ``old`` (their audio) as context."""
    from engine.protocol import ContextTurn, GenerationParams, RenderJob, VoiceSpec

    line, recording = recorded_line(project, line_id)
    positions = find_words(line, old)
    source = media_path(recording.media)
    ref, rate = read_span(source, recording.ref_in, recording.ref_out)
    ref_text = " ".join(
        str(w[0]) for other in project.lines.values() if other.recording_id == recording.id
        for w in other.words if w[4] >= 0 and recording.ref_in <= w[2] and w[3] <= recording.ref_out
    )
    ref_path = folder / "reference.wav"
    ref_path.write_bytes(wav_bytes(ref, rate))
    context: tuple[Any, ...] = ()
    before = [w for k, w in live_words(line) if k < positions[0] and w[1] == SOURCE][-12:]
    if before:
        audio, _ = read_span(source, float(before[0][2]), float(before[-1][3]))
        ctx_path = folder / "context.wav"
        ctx_path.write_bytes(wav_bytes(audio, rate))
        context = (ContextTurn(" ".join(w[0] for w in before), str(ctx_path), 0),)
    said = sum(float(line.words[k][3]) - float(line.words[k][2]) for k in positions)
    seconds = max(1.0, said * max(1, len(new)) / max(1, len(old))) * 2
    speaker = project.speakers.get(line.speaker_id)
    return RenderJob(
        job_id=new_id("patch"), text=new, out_path=str(folder / "patch.wav"),
        speakers=(VoiceSpec(kind="clip", ref_audio=str(ref_path), transcript=ref_text,
                            name=speaker.name if speaker else ""),),
        params=GenerationParams(temperature=0.3, seed=0, max_new_tokens=int(seconds * 25) + 16),
        context=context, line_id=line_id, language="en",
    )


def neighbours(line: ScriptLine, recording: Recording, positions: list[int], media_path: Callable[[str], Path],
               seconds: float = 3.0) -> tuple[np.ndarray, int]:
    """The recording's audio around the words at ``positions`` (up to ``seconds`` each side)."""
    a, b = float(line.words[positions[0]][2]), float(line.words[positions[-1]][3])
    source = media_path(recording.media)
    left, rate = read_span(source, max(0.0, a - seconds), a)
    right, _ = read_span(source, b, min(recording.duration, b + seconds))
    return np.concatenate([left, right]), rate


def patch_words(
    pf: Any, line_id: str, old: str, new: str, render: Callable[[Any], str], *, backend: str | None = None
) -> tuple[ops.Batch, str]:
    """Replace the words ``old`` of a recorded line by ``new``, rendered by ``render(job) -> take path``
    (a cloning backend). ``new`` empty = cut. Returns the batch to apply and the patch media name."""
    project = pf.project
    if not new.strip():
        return cut_words(project, line_id, old, pf.media_path), ""
    line, recording = recorded_line(project, line_id)
    positions = find_words(line, old)
    check_cloning(backend if backend is not None else project.settings.backend)
    with tempfile.TemporaryDirectory(prefix="chorus-patch-") as tmp:
        job = patch_job(project, line_id, old, new, pf.media_path, Path(tmp))
        take = Path(render(job))
        patch, patch_rate = read_span(take, 0.0, 1e9)
    if patch.size == 0:
        raise RecordingError("the cloning backend returned no audio for the patch")
    from studio.audio.resample import resample

    reference, rate = neighbours(line, recording, positions, pf.media_path)
    patch = trim_silence(np.asarray(resample(patch[:, None], patch_rate, rate)[:, 0], dtype=np.float32), rate)
    patch = match_loudness(match_spectrum(patch, reference, rate), reference, rate)
    media = pf.add_media(wav_bytes(patch, rate), ".wav")
    duration = len(patch) / rate
    tokens = new.split()
    weights = np.cumsum([0] + [len(t) + 1 for t in tokens])
    times = weights / weights[-1] * duration
    inserted = tuple((t, media, round(float(times[i]), 4), round(float(times[i + 1]), 4), -1)
                     for i, t in enumerate(tokens))
    gone = set(positions)
    words: list[Any] = []
    for k, w in enumerate(line.words):
        if k in gone:
            if w[1] == SOURCE:
                words.append((w[0], CUT, w[2], w[3], w[4]))
            if k == positions[-1]:
                words.extend(inserted)
        else:
            words.append(w)
    batch = relayout(project, dataclasses.replace(line, words=tuple(words)), pf.media_path, f"Patch “{old}” → “{new}”")
    return batch, media
