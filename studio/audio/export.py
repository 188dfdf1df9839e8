"""Export: the mix (loudness-normalised, true-peak limited), stems, per-line files and subtitles.

One job, ``run(job, state)`` (STYLE.md #15), or :func:`run_export` with the project and media
resolver. The mix is made in two passes over the chunked mixer: the first measures the mix
(integrated loudness, or RMS for ACX) without holding it, the second applies the normalisation gain
and the true-peak limiter and streams into the encoder (on a helper thread). Stems are each track
alone with the same gain (no limiter, so they sum to the unlimited mix). Everything is written
under temporary names and renamed into place together at the end; an error or a cancel removes
all of it (see :class:`~studio.audio.writers.OutputSet`).

Thread contract: ``run`` runs on one worker thread and works on a snapshot of the project taken
when it starts; it reports through the job state only.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.audio.errors import ExportError, MediaError
from studio.audio.ffmpeg_tool import Chapter
from studio.audio.job import JobState, MonotonicProgress, SubProgress, as_state, check_cancel
from studio.audio.level_match import speaker_gains_db
from studio.audio.limiter import LimiterSettings
from studio.audio.lines import LineExportOptions, LinesReport, export_lines, safe_component
from studio.audio.loudness import (
    GainedLoudness,
    LoudnessMeter,
    normalisation_gain_db,
    resolve_preset,
    step_frames,
)
from studio.audio.mixer import Mixdown
from studio.audio.sources import SourceCache
from studio.audio.subtitles import build_cues, format_srt, format_vtt
from studio.audio.writers import (
    FORMATS,
    LOSSY_FORMATS,
    EncodeSettings,
    OutputSet,
    ThreadedWriter,
    format_for_path,
    open_writer,
    os_error_message,
    suffix_for,
)
from studio.core.project import Project

# Lossy encoders overshoot the PCM true peak; their limiter ceiling is this much lower.
LOSSY_HEADROOM_DB = 0.5
# The written mix may miss the loudness target by this much (LU or dB) before it is written again
# with corrected gain (the limiter took loudness off), at most MAX_MIX_PASSES times in all.
LOUDNESS_TOLERANCE = 0.2
MAX_MIX_PASSES = 4

MediaResolver = Callable[[str], Path]


@dataclass(frozen=True)
class ExportRequest:
    """What to export. ``output`` None skips the mix; each other output is optional too."""

    output: Path | None = None
    format: str = ""  # "" = from the output's extension
    bit_depth: int = 24  # WAV 16/24/32 (float), FLAC 16/24
    bitrate_kbps: int = 192  # MP3 128/192/320 (CBR); OGG/Opus
    preset: str = ""  # podcast | ebu | acx | custom | none; "" = the project's export preset
    target_lufs: float | None = None  # custom target (or an override)
    ceiling_dbtp: float | None = None  # override of the preset's true-peak ceiling
    channels: int | None = None  # None = the project's
    sample_rate: int | None = None  # None = the project's
    chapters: bool = True  # markers as chapters (MP3/OGG/Opus)
    stems_dir: Path | None = None
    stems_format: str = "wav"
    lines_dir: Path | None = None
    lines_template: str = "{id}.wav"
    lines_normalise: str = "none"  # none | peak | loudness
    lines_loudness_lufs: float = -23.0
    srt: Path | None = None
    vtt: Path | None = None
    subtitle_speakers: bool = True
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @classmethod
    def build(
        cls,
        out: Path | None = None,
        *,
        format: str | None = None,
        preset: str | None = None,
        bitrate: int | None = None,
        bit_depth: int | str | None = None,
        channels: int | None = None,
        stems: Path | None = None,
        lines_dir: Path | None = None,
        name_template: str | None = None,
        subtitles: str | None = None,
        speaker_names: bool = True,
        target_lufs: float | None = None,
    ) -> ExportRequest:
        """A request from command-line style options (raises ValueError on a bad combination).

        ``bit_depth`` may be 16, 24, 32 or "float"; ``subtitles`` is "srt" or "vtt", written next to
        ``out`` (or into the lines folder when there is no mix file).
        """
        depth = 24
        if bit_depth is not None:
            text = str(bit_depth).strip().lower()
            depth = 32 if text in ("float", "32", "f32") else int(text)
        if out is not None and Path(out).is_dir():
            raise ValueError(
                f"{str(out)!r} is a folder: give the mix a file name, e.g. {Path(out) / 'mix.wav'}"
            )
        fmt = (format or "").lower()
        if out is not None and fmt in FORMATS:
            named = format_for_path(Path(out), fmt)
            if named != fmt and {named, fmt} != {"ogg", "opus"}:  # Opus may live in .ogg
                raise ValueError(
                    f"{Path(out).name!r} names another format than {fmt}: "
                    f"use the extension {suffix_for(fmt)} or leave the format out"
                )
        if out is not None and not fmt:
            fmt = format_for_path(Path(out), "")
        if out is not None and fmt and not Path(out).suffix:
            out = Path(out).with_suffix(suffix_for(fmt))
        srt = vtt = None
        if subtitles:
            kind = subtitles.lower().lstrip(".")
            if kind not in ("srt", "vtt"):
                raise ValueError(f"subtitles must be srt or vtt, not {subtitles!r}")
            base = Path(out) if out is not None else (Path(lines_dir) / "subtitles" if lines_dir else None)
            if base is None:
                raise ValueError("subtitles are written next to the mix file: give an output file")
            srt = base.with_suffix(".srt") if kind == "srt" else None
            vtt = base.with_suffix(".vtt") if kind == "vtt" else None
        if out is None and stems is None and lines_dir is None and srt is None and vtt is None:
            raise ValueError("nothing to export: give an output file, --stems, --lines or --subtitles")
        return cls(
            output=Path(out) if out is not None else None,
            format=fmt,
            bit_depth=depth,
            bitrate_kbps=bitrate or 192,
            preset=preset or "",
            target_lufs=target_lufs,
            channels=channels,
            stems_dir=Path(stems) if stems is not None else None,
            lines_dir=Path(lines_dir) if lines_dir is not None else None,
            lines_template=name_template or "{id}.wav",
            srt=srt,
            vtt=vtt,
            subtitle_speakers=speaker_names,
        )


@dataclass
class ExportResult:
    request_id: str
    files: list[Path] = field(default_factory=list)
    preset: str = "none"
    measured: float = -math.inf  # the mix before normalisation: LUFS, or dB RMS for ACX
    gain_db: float = 0.0
    output_level: float = -math.inf  # the written mix, measured as it was written
    passes: int = 0  # times the mix was written (more than 1 when the limiter cost loudness)
    ceiling_dbtp: float | None = None
    duration: float = 0.0
    speaker_gain_db: dict[str, float] = field(default_factory=dict)
    lines: LinesReport | None = None
    seconds: float = 0.0

    def summary_lines(self) -> list[str]:
        """A few lines for a person: loudness, files written, what was skipped."""
        out: list[str] = []
        if self.duration:
            out.append(f"mix: {self.duration:.1f} s, preset {self.preset}")
        if self.preset != "none" and math.isfinite(self.measured):
            unit = "dB RMS" if self.preset == "acx" else "LUFS"
            level = f"{self.output_level:.1f}" if math.isfinite(self.output_level) else "?"
            ceiling = f", ceiling {self.ceiling_dbtp:.1f} dBTP" if self.ceiling_dbtp is not None else ""
            out.append(
                f"loudness: {self.measured:.1f} → {level} {unit} (gain {self.gain_db:+.1f} dB{ceiling})"
            )
        if self.lines is not None:
            skipped = (
                f", {len(self.lines.skipped)} line(s) without a take skipped" if self.lines.skipped else ""
            )
            out.append(f"lines: {len(self.lines.files)} file(s){skipped}")
        for p in self.files[:12]:
            out.append(f"wrote {p}")
        if len(self.files) > 12:
            out.append(f"… and {len(self.files) - 12} more file(s)")
        out.append(f"took {self.seconds:.1f} s")
        return out


@dataclass(frozen=True)
class ExportJob:
    """An immutable export job: a project snapshot, its media resolver and the request."""

    project: Project
    media_resolver: MediaResolver
    request: ExportRequest


def snapshot(project: Project) -> Project:
    """A copy of the project's tables that later edits don't touch (see ``Project.snapshot``)."""
    return project.snapshot()


def chapters_from_markers(project: Project, duration: float) -> tuple[Chapter, ...]:
    marks = sorted((m for m in project.markers.values() if 0 <= m.time < duration), key=lambda m: m.time)
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].time if i + 1 < len(marks) else duration
        if end > m.time:
            out.append(Chapter(m.time, end, m.title or f"Chapter {i + 1}"))
    return tuple(out)


def _tags(project: Project) -> tuple[tuple[str, str], ...]:
    s = project.settings
    return tuple(
        (k, v)
        for k, v in (("title", s.title), ("artist", s.artist), ("album", s.album), ("comment", s.comment))
        if v
    )


def export_chunk(sample_rate: int) -> int:
    """Frames per export chunk: 1.4 s, a whole number of 100 ms loudness steps (the working set of
    a chunk stays in the CPU caches; measured fastest of 0.7 / 1.4 / 2.7 s in bench/mix_export.py)."""
    return 14 * step_frames(sample_rate)


class _MeterSink:
    """A meter behind the writer interface (so it can run on the writer's helper thread)."""

    def __init__(self, meter: LoudnessMeter) -> None:
        self.meter = meter

    def write(self, block: np.ndarray) -> None:
        self.meter.add(block, planar=True)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _measure(mix: Mixdown, state: JobState) -> LoudnessMeter:
    """Pass 1: meter the mix (on a helper thread, overlapping the mixing)."""
    meter = LoudnessMeter(mix.sample_rate, mix.channels, checkpoints=True)
    sink = ThreadedWriter(_MeterSink(meter))
    try:
        done = 0
        for block in mix.chunks(export_chunk(mix.sample_rate), planar=True):
            check_cancel(state)
            sink.write(block)
            done += block.shape[1]
            state.set_progress(done / max(1, mix.length))
        sink.close()
    except BaseException:
        sink.abort()
        raise
    return meter


def _stream_to_file(
    mix: Mixdown,
    dest: Path,
    settings: EncodeSettings,
    outputs: OutputSet,
    state: JobState,
    loudness: GainedLoudness | None = None,
) -> None:
    """Render ``mix`` into ``dest`` (through ``outputs``), encoding on a helper thread.

    With ``loudness``, every chunk the limiter changed is re-metered into it.
    """
    tmp = outputs.temp_for(dest, settings.estimated_bytes(mix.length))
    writer = ThreadedWriter(open_writer(tmp, settings))
    try:
        done = 0
        for i, block in enumerate(mix.chunks(export_chunk(mix.sample_rate), planar=True)):
            check_cancel(state)
            writer.write(block.T)
            if loudness is not None and mix.limited:
                loudness.replace(i, block, planar=True)
            done += block.shape[1]
            state.set_progress(done / max(1, mix.length))
        writer.close()
    except BaseException:
        writer.abort()
        raise


def _loudness_slope(tried: list[tuple[float, float]]) -> float:
    """dB of gain per dB of written loudness, from the last two passes (a limiter eats part of the gain)."""
    if len(tried) < 2:
        return 1.0
    (g0, l0), (g1, l1) = tried[-2], tried[-1]
    if l1 - l0 <= 1e-6:
        return 4.0
    return min(4.0, max(1.0, (g1 - g0) / (l1 - l0)))


def _progress_edges(weights: dict[str, float]) -> dict[str, tuple[float, float]]:
    total = sum(weights.values()) or 1.0
    edges, acc = {}, 0.0
    for key, w in weights.items():
        edges[key] = (acc / total, (acc + w) / total)
        acc += w
    return edges


def _stem_name(name: str, fallback: str, used: set[str]) -> str:
    base = safe_component(name, fallback)
    out, k = base, 2
    while out.casefold() in used:
        out, k = f"{base}-{k}", k + 1
    used.add(out.casefold())
    return out


def run(job: ExportJob, state: Any = None) -> ExportResult:
    """Run an export job; raises ExportError or ExportCancelled, leaving no output behind."""
    started = time.perf_counter()
    st = MonotonicProgress(as_state(state))
    req = job.request
    project = snapshot(job.project)
    settings = project.settings
    rate = int(req.sample_rate or settings.sample_rate)
    channels = int(req.channels or settings.channels)
    if (
        req.output is None
        and req.stems_dir is None
        and req.lines_dir is None
        and req.srt is None
        and req.vtt is None
    ):
        raise ExportError("Nothing to export: choose a file, a stems folder, a lines folder or subtitles.")
    fmt = req.format or (format_for_path(Path(req.output)) if req.output is not None else "wav")
    preset = resolve_preset(req.preset or settings.export_preset, channels, req.target_lufs, req.ceiling_dbtp)
    stem_tracks = []
    if req.stems_dir is not None:
        used_tracks = {c.track_id for c in project.clips.values()}
        stem_tracks = [t for t in project.tracks.values() if not t.mute and t.id in used_tracks]
    mixing = req.output is not None or bool(stem_tracks)
    edges = _progress_edges(
        {
            "measure": 1.0 if (mixing and preset.measure != "none") else 0.0,
            "mix": 1.2 if req.output is not None else 0.0,
            "stems": 1.0 * len(stem_tracks),
            "lines": 0.5 if req.lines_dir is not None else 0.0,
        }
    )
    result = ExportResult(request_id=req.id, preset=preset.name)
    sources = SourceCache(job.media_resolver, rate)
    outputs = OutputSet()
    try:
        with outputs:
            speaker_gain: dict[str, float] | None = None
            if mixing and settings.level_match_speakers:
                st.set_status("Matching speaker levels")
                speaker_gain = speaker_gains_db(project.clips, project.tracks, project.lines, sources)
                result.speaker_gain_db = dict(speaker_gain)

            def mixdown(**kw: Any) -> Mixdown:
                return Mixdown(
                    project,
                    job.media_resolver,
                    channels,
                    rate,
                    sources=sources,
                    speaker_gain_db=speaker_gain,
                    **kw,
                )

            meter: LoudnessMeter | None = None
            if mixing:
                probe = mixdown()
                result.duration = probe.duration
                if preset.measure != "none":
                    st.set_status("Measuring loudness")
                    meter = _measure(probe, SubProgress(st, *edges["measure"]))
                    result.measured = meter.integrated_lufs() if preset.measure == "lufs" else meter.rms_db()
                    result.gain_db = normalisation_gain_db(meter, preset)
            if req.output is not None:
                ceiling = preset.ceiling_db
                if ceiling is not None and fmt in LOSSY_FORMATS:
                    ceiling -= LOSSY_HEADROOM_DB
                result.ceiling_dbtp = ceiling
                limiter = LimiterSettings(ceiling_db=ceiling) if ceiling is not None else None
                chapters = chapters_from_markers(project, result.duration) if req.chapters else ()
                enc = EncodeSettings(
                    fmt, rate, channels, req.bit_depth, req.bitrate_kbps, _tags(project), chapters
                )
                enc.validate()
                tried: list[tuple[float, float]] = []  # (gain, written level) of each pass
                for attempt in range(1, MAX_MIX_PASSES + 1):
                    note = f" (loudness pass {attempt})" if attempt > 1 else ""
                    st.set_status(f"Writing {Path(req.output).name}{note}")
                    mix = mixdown(gain_db=result.gain_db, limiter=limiter)
                    out_level = GainedLoudness(meter, result.gain_db) if meter is not None else None
                    _stream_to_file(
                        mix, Path(req.output), enc, outputs, SubProgress(st, *edges["mix"]), out_level
                    )
                    result.passes = attempt
                    if out_level is None or not math.isfinite(result.measured):
                        break
                    # The limiter takes some loudness off; if too much, write again with more gain.
                    level = out_level.integrated_lufs() if preset.measure == "lufs" else out_level.rms_db()
                    result.output_level = level
                    if not math.isfinite(level) or abs(preset.target - level) <= LOUDNESS_TOLERANCE:
                        break
                    if attempt == MAX_MIX_PASSES:
                        break
                    tried.append((result.gain_db, level))
                    result.gain_db += (preset.target - level) * _loudness_slope(tried)
            if stem_tracks:
                assert req.stems_dir is not None
                lo, hi = edges["stems"]
                span = (hi - lo) / len(stem_tracks)
                sfmt = req.stems_format
                depth = min(req.bit_depth, 24) if sfmt == "flac" else req.bit_depth
                used: set[str] = set()
                for i, track in enumerate(stem_tracks):
                    check_cancel(st)
                    st.set_status(f"Writing the stem of {track.name}")
                    name = _stem_name(track.name, track.id, used)
                    enc = EncodeSettings(sfmt, rate, channels, depth, req.bitrate_kbps, _tags(project))
                    enc.validate()
                    stem = mixdown(tracks=[track.id], gain_db=result.gain_db)
                    dest = Path(req.stems_dir) / f"{name}{suffix_for(sfmt)}"
                    _stream_to_file(
                        stem, dest, enc, outputs, SubProgress(st, lo + i * span, lo + (i + 1) * span)
                    )
            if req.lines_dir is not None:
                st.set_status("Writing line files")
                opts = LineExportOptions(
                    folder=Path(req.lines_dir),
                    template=req.lines_template,
                    normalise=req.lines_normalise,
                    loudness_lufs=req.lines_loudness_lufs,
                    bit_depth=req.bit_depth,
                    bitrate_kbps=req.bitrate_kbps,
                )
                sub = SubProgress(st, *edges["lines"])
                result.lines = export_lines(project, job.media_resolver, opts, outputs, sub, rate)
            if req.srt is not None or req.vtt is not None:
                cues = build_cues(project, req.subtitle_speakers)
                if req.srt is not None:
                    outputs.temp_for(Path(req.srt)).write_text(format_srt(cues), encoding="utf-8")
                if req.vtt is not None:
                    outputs.temp_for(Path(req.vtt)).write_text(format_vtt(cues), encoding="utf-8")
            check_cancel(st)
            result.files = outputs.commit()
    except MediaError as exc:
        raise ExportError(str(exc)) from exc
    except OSError as exc:
        where = (
            Path(exc.filename) if isinstance(exc.filename, str) else Path(req.output or req.lines_dir or ".")
        )
        raise ExportError(os_error_message(exc, where)) from exc
    finally:
        sources.close()
    st.set_progress(1.0)
    st.set_status("Export finished")
    result.seconds = time.perf_counter() - started
    return result


def run_export(
    project: Project, media_resolver: MediaResolver, request: ExportRequest, state: Any = None
) -> ExportResult:
    """Export ``project`` as ``request`` asks; ``state`` reports progress and answers cancellation."""
    return run(ExportJob(snapshot(project), media_resolver, request), state)
