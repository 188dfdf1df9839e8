"""Import one recording of one speaker: transcribe it in chunks, lay its recorded lines on a track.

    result = import_recording(pf, "host-a.wav", "Alice", transcriber, progress=..., cancelled=...)

The file is copied into the project's ``media/`` as it is (never modified). It is read in chunks of about
``CHUNK_S`` seconds cut at the quietest point near each chunk's end, so a long file never sits in memory
whole and no word is cut in two; each chunk goes to ``transcribe`` (a file path → its words), which for the
studio and the CLI is a transcribe job in the engine (:func:`engine_transcriber`). ``progress(fraction)``
follows the chunks; ``cancelled()`` is polled between them and stops the import with nothing added
(Cancel rolls back). The project gets everything in one undo step: the speaker (found by name or
added), a recorded track, one recorded line per segment and one clip per line at its original time.

Thread contract: the project's thread (the transcription may block it; the studio runs this on a worker
with its own ProjectFile connection, like the render session).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from studio.audio.decode import AudioReader
from studio.audio.errors import DecodeError
from studio.core import ops
from studio.core.model import (
    SPEAKER_COLOURS,
    Clip,
    LineStage,
    LineStatus,
    Recording,
    ScriptLine,
    Speaker,
    Track,
    TrackKind,
    new_id,
)
from studio.recordings.audio import FRAME_S, RecordingError, level_db, mono_of, quietest_frame
from studio.recordings.segment import Word, reference_span, room_tone_span, segments

CHUNK_S = 45.0
SEARCH_S = 6.0  # the chunk ends at the quietest frame of its last SEARCH_S seconds
SPAN = -2  # index of the words entry that holds the line's span in the recording (not a word)

Transcribe = Callable[[str], list[Word]]


class ImportCancelled(Exception):
    """The import was cancelled; nothing was added to the project."""


@dataclass(frozen=True)
class ImportResult:
    recording_id: str
    track_id: str
    speaker_id: str
    line_ids: tuple[str, ...]
    words: int
    duration: float
    seconds: float  # wall time of the transcription
    recording_ids: tuple[str, ...] = ()  # one per speaker of a mixed file (the first is recording_id)


def transcribe_in_chunks(
    path: Path,
    transcribe: Transcribe,
    *,
    progress: Callable[[float], None] = lambda f: None,
    cancelled: Callable[[], bool] = lambda: False,
    chunk_s: float = CHUNK_S,
) -> tuple[list[Word], list[float], int, float]:
    """Words of the whole file (seconds from its start), its level envelope (dB per FRAME_S), rate, duration."""
    try:
        reader = AudioReader(path)
    except DecodeError as exc:
        raise RecordingError(str(exc)) from None
    words: list[Word] = []
    levels: list[float] = []
    with reader, tempfile.TemporaryDirectory(prefix="chorus-rec-") as tmp:
        rate, total = reader.info.sample_rate, reader.info.frames
        if total <= 0:
            raise RecordingError(f"{path.name} holds no audio")
        frame = max(1, int(rate * FRAME_S))
        carry = np.zeros(0, np.float32)
        env_carry = np.zeros(0, np.float32)
        done = 0  # samples handed to the recogniser so far
        read = 0
        index = 0
        while done < total:
            if cancelled():
                raise ImportCancelled()
            want = max(0, int(chunk_s * rate) - len(carry))
            try:
                block = mono_of(reader.read(min(want, total - read))) if want else np.zeros(0, np.float32)
            except (DecodeError, RuntimeError) as exc:
                raise RecordingError(f"{path.name} cannot be read past {read / rate:.1f} s: {exc}") from None
            read += len(block)
            buf = np.concatenate([carry, block])
            if read >= total or len(block) == 0:
                cut = len(buf)
            else:
                cut = quietest_frame(buf, rate, len(buf) - int(SEARCH_S * rate), len(buf))
            chunk, carry = buf[:cut], buf[cut:]
            env = np.concatenate([env_carry, chunk])
            usable = len(env) // frame * frame
            if usable:
                levels.extend(level_db(env[:usable], rate).tolist())
            env_carry = env[usable:]
            chunk_file = Path(tmp) / f"chunk{index}.wav"
            sf.write(chunk_file, chunk, rate, subtype="FLOAT")
            offset = done / rate
            for w in transcribe(str(chunk_file)):
                words.append(Word(w.text, round(w.start + offset, 3), round(w.end + offset, 3), w.probability))
            chunk_file.unlink()
            done += len(chunk)
            index += 1
            progress(min(1.0, done / total))
            if not len(chunk) and not len(block):
                break
    return words, levels, rate, total / rate


def import_recording(
    pf: Any,
    path: str | Path,
    speaker_name: str | Sequence[str],
    transcribe: Transcribe,
    *,
    progress: Callable[[float], None] = lambda f: None,
    cancelled: Callable[[], bool] = lambda: False,
    chunk_s: float = CHUNK_S,
    model: str = "",
) -> ImportResult:
    """Import ``path`` as ``speaker_name``'s recorded track (module docstring); one undo step.
    Several names: a mixed recording of those speakers (see :func:`import_batch`)."""
    source = Path(path).expanduser()
    if not source.is_file():
        raise RecordingError(f"no such recording: {source}")
    given = speaker_name.split(",") if isinstance(speaker_name, str) else list(speaker_name)
    if not any(n.strip() for n in given):
        raise RecordingError("a recording needs a speaker name")
    began = time.monotonic()
    heard = transcribe_in_chunks(source, transcribe, progress=progress, cancelled=cancelled, chunk_s=chunk_s)
    batch, result = import_batch(pf, source, speaker_name, heard, time.monotonic() - began, model)
    pf.project.apply(batch)
    return result


def import_batch(
    pf: Any,
    source: Path,
    speaker_name: str | Sequence[str],
    heard: tuple[list[Word], list[float], int, float],
    seconds: float,
    model: str = "",
) -> tuple[ops.Batch, ImportResult]:
    """The one edit that adds a transcribed recording (``heard`` = :func:`transcribe_in_chunks`'s
    result) as recorded lines on the speaker's track, and what it adds. Applying it is the caller's
    (the studio pushes it on the undo stack).

    Several names (a list, or "Maya, Theo") mean one mixed file: each line is given to a speaker by
    :func:`studio.recordings.speakers.assign_speakers` (first voice heard = first name); each speaker
    gets a track and a recording record of the same file with a reference stretch of their own."""
    words, levels, rate, duration = heard
    if not words:
        raise RecordingError(f"no speech was heard in {source.name}")
    names = [n.strip() for n in (speaker_name.split(",") if isinstance(speaker_name, str) else speaker_name)]
    names = [n for n in names if n]
    if not names:
        raise RecordingError("a recording needs a speaker name")
    project = pf.project
    media = pf.add_media(source)
    segs = segments(words, duration)
    if len(names) > 1:
        from studio.recordings.audio import read_span
        from studio.recordings.speakers import assign_speakers

        parts = [read_span(source, seg.words[0].start, seg.words[-1].end) for seg in segs]
        who = assign_speakers(parts, len(names))
    else:
        who = [0] * len(segs)
    room_in, room_out = room_tone_span(levels, FRAME_S, words)
    edits: list[Any] = []
    made: dict[int, tuple[Speaker, Track, Recording]] = {}
    for index in sorted(set(who)):
        name = names[index]
        speaker = project.speaker_by_name(name)
        if speaker is None:
            colour = SPEAKER_COLOURS[(len(project.speakers) + len(made)) % len(SPEAKER_COLOURS)]
            speaker = Speaker(new_id("spk"), name, colour)
            edits.append(ops.Insert(speaker))
        track = Track(new_id("trk"), f"{speaker.name} (recorded)", TrackKind.DIALOGUE, speaker_id=speaker.id)
        edits.append(ops.Insert(track))
        own = [w for seg, k in zip(segs, who, strict=True) if k == index for w in seg.words]
        ref_in, ref_out, _text = reference_span(own, duration)
        recording = Recording(
            new_id("rec"), source.name, media, speaker.id, track.id, round(duration, 6), rate,
            ref_in, ref_out, room_in, room_out, model,
        )
        edits.append(ops.Insert(recording))
        made[index] = (speaker, track, recording)
    order = [(line_start(project.lines[i]), i) for i in project.line_order]
    line_ids: list[str] = []
    for seg, index in zip(segs, who, strict=True):
        speaker, track, recording = made[index]
        line_id = new_id("line")
        entries = [("", "", seg.start, seg.end, SPAN)]
        entries += [(w.text, "", w.start, w.end, k) for k, w in enumerate(seg.words)]
        line = ScriptLine(
            line_id, speaker.id, seg.text, status=LineStatus.DONE, stage=LineStage.RENDERED,
            recording_id=recording.id, words=tuple(entries),
        )
        # recorded lines go in time order among the recorded lines already there
        at = next((k for k, (start, _) in enumerate(order) if start is not None and start > seg.start), None)
        edits.append(ops.Insert(line, at))
        order.insert(len(order) if at is None else at, (seg.start, line_id))
        edits.append(ops.Insert(Clip(
            new_id("clip"), track.id, media, start=seg.start, source_in=seg.start, source_out=seg.end,
            duration=round(seg.end - seg.start, 6), line_id=line_id, pinned=True,
        )))
        line_ids.append(line_id)
    first_speaker, first_track, first_recording = made[min(made)]
    result = ImportResult(
        first_recording.id, first_track.id, first_speaker.id, tuple(line_ids), len(words), duration, seconds,
        recording_ids=tuple(r.id for _s, _t, r in made.values()),
    )
    return ops.Batch(tuple(edits), f"Import recording {source.name}"), result


def line_start(line: ScriptLine) -> float | None:
    """Where a recorded line starts in its recording (None for a synthetic line)."""
    if line.recording_id and line.words and line.words[0][4] == SPAN:
        return float(line.words[0][2])
    return None


def engine_transcriber(client: Any, *, timeout_s: float = 600.0) -> Transcribe:
    """A :data:`Transcribe` that runs each chunk as a transcribe job on ``client`` (a started
    :class:`studio.render.client.EngineClient`); a failed job is a RecordingError."""
    from engine.protocol import TranscribeJob

    counter = [0]

    def run(chunk: str) -> list[Word]:
        counter[0] += 1
        job = TranscribeJob(f"rec-chunk-{counter[0]}-{new_id('j')}", chunk, language="en")
        client.submit([job])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for event in client.poll(0.25):
                kind = event.get("type")
                if kind == "engine_gave_up":
                    raise RecordingError(f"the speech recogniser stopped: {event.get('reason', '')}")
                if event.get("job_id") != job.job_id:
                    continue
                if kind == "finished":
                    data = event.get("transcript", {})
                    return [Word(str(w[0]), float(w[1]), float(w[2]), float(w[3])) for w in data.get("words", [])]
                if kind in ("failed", "cancelled"):
                    raise RecordingError(f"transcription {kind}: {event.get('reason', '')}".rstrip(": "))
        client.cancel([job.job_id])
        raise RecordingError("transcription timed out")

    return run
