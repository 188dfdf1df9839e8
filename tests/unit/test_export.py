"""Export of the mix: loudness presets (measured independently by ffmpeg's ebur128/astats), formats,
tags and chapters, stems, and failures that leave nothing behind."""

from __future__ import annotations

import errno
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from studio.audio import writers
from studio.audio.errors import ExportCancelled, ExportError
from studio.audio.export import ExportRequest, ExportResult, run_export
from studio.audio.ffmpeg_tool import measure_ebur128, measure_rms_db, probe
from studio.audio.job import CallbackState
from studio.audio.limiter import true_peak_db
from studio.audio.loudness import ACX_RMS_RANGE
from studio.audio.mixer import Mixdown
from studio.audio.synthetic import ProjectBuilder, music, speechlike, tone
from studio.core.model import TrackKind

SR = 48000


def episode(folder: Path, seconds: float = 14.0, channels: int = 2) -> ProjectBuilder:
    """Two speakers at TTS rates, a ducked music bed, and a few hot transients the limiter must catch."""
    b = ProjectBuilder(
        folder / "media",
        channels=channels,
        title="Episode 1",
        artist="Chorus",
        album="Tests",
        comment="made; by=tests",
    )
    b.speaker("s1", "Ava")
    b.speaker("s2", "Ben")
    b.track("ava", speaker_id="s1", name="Ava", pan=-0.2)
    b.track("ben", speaker_id="s2", name="Ben", pan=0.2)
    b.track("bed", kind=TrackKind.MUSIC, name="Music")
    b.track("fx", kind=TrackKind.SFX, name="Effects")
    bed = b.media(music(seconds, 44100, level=0.2), 44100)
    b.clip("bed", bed, 0.0, duration=seconds, fade_in=0.5, fade_out=1.0)
    t, i = 0.5, 0
    while t < seconds - 3.0:
        spk, rate = ("s1", 22050) if i % 2 == 0 else ("s2", 24000)
        take = b.media(speechlike(2.2, rate, seed=i, level=0.15), rate)
        b.line(f"L{i + 1}", spk, f"Line number {i + 1}.", take, rate, 2.2)
        b.clip("ava" if spk == "s1" else "ben", take, t, duration=2.2, line_id=f"L{i + 1}")
        t, i = t + 2.6, i + 1
    burst = b.media(tone(3000.0, 0.05, SR, 0.9, 2), SR)
    for k in range(3):
        b.clip("fx", burst, 1.0 + 3.7 * k, duration=0.05, gain_db=6.0)
    for k, title in enumerate(("Intro", "Middle", "End")):
        b.marker(f"m{k}", 4.0 * k, title)
    return b


def exported(b: ProjectBuilder, out: Path, **kw: Any) -> tuple[Path, ExportResult]:
    result = run_export(b.project, b.resolver(), ExportRequest(output=out, **kw))
    return out, result


@pytest.mark.parametrize(
    "preset, channels, target", [("podcast", 2, -16.0), ("podcast", 1, -19.0), ("ebu", 2, -23.0)]
)
def test_loudness_presets_hit_target_and_ceiling(
    tmp_path: Path, preset: str, channels: int, target: float
) -> None:
    b = episode(tmp_path, channels=channels)
    out, result = exported(b, tmp_path / "mix.wav", preset=preset)
    if target > -20:  # the limiter had work to do: unlimited, the normalised mix would pass the ceiling
        raw = Mixdown(b.project, b.resolver(), gain_db=result.gain_db)
        assert true_peak_db(raw.render(0, raw.length).T) > -1.0
    m = measure_ebur128(out)
    assert abs(m.integrated_lufs - target) <= 0.5
    assert m.true_peak_dbfs <= -1.0
    assert probe(out).channels == channels
    assert abs(result.output_level - target) <= 0.2  # as metered while writing
    assert result.passes >= 1


def test_acx_preset_rms_and_peaks(tmp_path: Path) -> None:
    b = episode(tmp_path, channels=1)
    out, _ = exported(b, tmp_path / "book.wav", preset="acx", bit_depth=16)
    rms, peak = measure_rms_db(out)
    assert ACX_RMS_RANGE[0] <= rms <= ACX_RMS_RANGE[1]
    assert abs(rms - (-20.0)) <= 0.5
    assert peak <= -3.0
    assert measure_ebur128(out).true_peak_dbfs <= -3.0


def test_custom_target_and_mp3_headroom(tmp_path: Path) -> None:
    b = episode(tmp_path)
    out, result = exported(b, tmp_path / "mix.mp3", preset="custom", target_lufs=-14.0, bitrate_kbps=320)
    m = measure_ebur128(out)
    assert abs(m.integrated_lufs - (-14.0)) <= 0.5
    assert result.ceiling_dbtp == pytest.approx(-1.5)  # lossy encoders get extra headroom
    assert m.true_peak_dbfs <= -1.0


FORMATS = [
    ("mix.wav", {"bit_depth": 16}, "pcm_s16le"),
    ("mix.wav", {"bit_depth": 24}, "pcm_s24le"),
    ("mix.wav", {"bit_depth": 32}, "pcm_f32le"),
    ("mix.flac", {"bit_depth": 16}, "flac"),
    ("mix.flac", {"bit_depth": 24}, "flac"),
    ("mix.mp3", {"bitrate_kbps": 128}, "mp3"),
    ("mix.mp3", {"bitrate_kbps": 320}, "mp3"),
    ("mix.ogg", {"bitrate_kbps": 160}, "vorbis"),
    ("mix.opus", {"bitrate_kbps": 96}, "opus"),
]


@pytest.mark.parametrize("name, kw, codec", FORMATS)
def test_every_format_opens(tmp_path: Path, name: str, kw: dict[str, int], codec: str) -> None:
    b = episode(tmp_path, seconds=5.0)
    out, result = exported(b, tmp_path / name, preset="none", **kw)
    info = probe(out)
    assert info.codec == codec
    assert info.channels == 2
    assert info.sample_rate == SR
    assert abs(info.duration - result.duration) < 0.08
    if name.endswith(".mp3"):
        assert info.bitrate_kbps == pytest.approx(kw["bitrate_kbps"], rel=0.05)
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == [name]


def id3_chapters(path: Path) -> list[tuple[int, int]]:
    """(start ms, end ms) of the ID3v2 CHAP frames at the head of an MP3, read byte by byte."""
    data = path.read_bytes()[:65536]
    assert data.startswith(b"ID3")
    out, i = [], 0
    while (i := data.find(b"CHAP", i + 1)) > 0:
        size = struct.unpack(">I", data[i + 4 : i + 8])[0]
        body = data[i + 10 : i + 10 + size]
        eid = body.index(b"\0")
        out.append(struct.unpack(">II", body[eid + 1 : eid + 9]))
    return out


def test_mp3_carries_id3_tags_and_chapters(tmp_path: Path) -> None:
    b = episode(tmp_path)
    out, result = exported(b, tmp_path / "ep.mp3", preset="podcast")
    info = probe(out)
    for key, value in (
        ("title", "Episode 1"),
        ("artist", "Chorus"),
        ("album", "Tests"),
        ("comment", "made; by=tests"),
    ):
        assert info.tags.get(key) == value
    assert [c.title for c in info.chapters] == ["Intro", "Middle", "End"]
    end_ms = round(result.duration * 1000)
    assert id3_chapters(out) == [(0, 4000), (4000, 8000), (8000, end_ms)]
    assert b"CTOC" in out.read_bytes()[:65536]


def test_stems_one_per_track_summing_to_the_mix(tmp_path: Path) -> None:
    b = episode(tmp_path, seconds=9.0)
    b.track("dup", kind=TrackKind.SFX, name="Effects")  # same name as another track
    b.clip("dup", b.media(tone(200.0, 1.0, SR, 0.1), SR), 2.0, duration=1.0)
    b.track("muted", kind=TrackKind.SFX, name="Muted", mute=True)
    b.clip("muted", b.media(tone(300.0, 1.0, SR, 0.1), SR), 2.0, duration=1.0)
    req = ExportRequest(
        output=tmp_path / "mix.wav", bit_depth=32, preset="none", stems_dir=tmp_path / "stems"
    )
    result = run_export(b.project, b.resolver(), req)
    names = sorted(p.name for p in (tmp_path / "stems").iterdir())
    assert names == ["Ava.wav", "Ben.wav", "Effects-2.wav", "Effects.wav", "Music.wav"]
    total = sum(sf.read(tmp_path / "stems" / n, dtype="float32")[0] for n in names)
    mix = sf.read(tmp_path / "mix.wav", dtype="float32")[0]
    assert mix.shape == total.shape
    assert np.abs(mix - total).max() < 1e-5
    assert sorted(p.name for p in result.files) == sorted([*names, "mix.wav"])


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if "media" not in p.parts)


def test_destination_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    b = episode(tmp_path, seconds=4.0)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with pytest.raises(ExportError, match="not a folder"):
        exported(b, tmp_path / "notes.txt" / "out" / "mix.wav")
    assert leftovers(tmp_path) == ["notes.txt"]


def test_full_disk_mid_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = episode(tmp_path, seconds=8.0)
    (tmp_path / "mix.wav").write_bytes(b"the previous export")
    calls = {"n": 0}
    real_write = writers.SoundfileWriter.write

    def write(self: writers.SoundfileWriter, block: np.ndarray) -> None:
        calls["n"] += 1
        if self.path.name.startswith(".Music") and calls["n"] > 1:  # the stems come after the mix
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, block)

    monkeypatch.setattr(writers.SoundfileWriter, "write", write)
    req = ExportRequest(output=tmp_path / "mix.wav", stems_dir=tmp_path / "stems", srt=tmp_path / "mix.srt")
    with pytest.raises(ExportError, match="disk is full"):
        run_export(b.project, b.resolver(), req)
    assert leftovers(tmp_path) == ["mix.wav"]
    assert (tmp_path / "mix.wav").read_bytes() == b"the previous export"


def test_ffmpeg_failure_is_an_export_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = episode(tmp_path, seconds=3.0)
    monkeypatch.setattr(
        writers.FfmpegWriter, "write", lambda self, block: (_ for _ in ()).throw(BrokenPipeError())
    )
    with pytest.raises(ExportError):
        exported(b, tmp_path / "mix.ogg", preset="none")
    assert leftovers(tmp_path) == []
    with pytest.raises(ExportError, match="MP3 bitrate"):
        exported(b, tmp_path / "mix.mp3", bitrate_kbps=100)
    with pytest.raises(ExportError, match="16, 24"):
        exported(b, tmp_path / "mix.flac", bit_depth=32)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("style", ["object", "callable"])
def test_cancel_removes_everything(tmp_path: Path, style: str) -> None:
    b = episode(tmp_path, seconds=10.0)
    seen: list[float] = []

    def cancel() -> bool:
        return bool(seen) and seen[-1] > 0.5

    state: object
    if style == "object":
        state = CallbackState(progress=seen.append, cancel=cancel)
    else:
        state = cancel
        seen.append(0.6)
    req = ExportRequest(
        output=tmp_path / "mix.flac", stems_dir=tmp_path / "stems", lines_dir=tmp_path / "lines"
    )
    with pytest.raises(ExportCancelled):
        run_export(b.project, b.resolver(), req, state)
    assert leftovers(tmp_path) == []


def test_progress_is_monotonic_and_complete(tmp_path: Path) -> None:
    b = episode(tmp_path, seconds=6.0)
    seen: list[float] = []
    status: list[str] = []
    state = CallbackState(progress=seen.append, status=status.append)
    req = ExportRequest(
        output=tmp_path / "mix.wav",
        stems_dir=tmp_path / "stems",
        lines_dir=tmp_path / "lines",
        vtt=tmp_path / "m.vtt",
    )
    run_export(b.project, b.resolver(), req, state)
    assert seen == sorted(seen)
    assert seen[-1] == 1.0 and seen[0] < 0.2
    assert any("loudness" in s.lower() for s in status)


def test_unreadable_clip_media_names_the_clip(tmp_path: Path) -> None:
    b = episode(tmp_path, seconds=4.0)
    (b.folder / "broken.wav").write_bytes(b"not audio at all" * 10)
    b.clip("ben", "broken.wav", 1.0, duration=1.0)
    with pytest.raises(ExportError, match=r"Ben.*broken\.wav"):
        exported(b, tmp_path / "mix.wav")
    assert leftovers(tmp_path) == []


def test_nothing_to_export_is_an_error(tmp_path: Path) -> None:
    b = episode(tmp_path, seconds=3.0)
    with pytest.raises(ExportError, match="Nothing to export"):
        run_export(b.project, b.resolver(), ExportRequest())


def test_silent_project_exports_without_gain(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path / "media")
    b.track("t")
    b.clip("t", b.media(np.zeros((SR, 1), np.float32), SR), 0.0, duration=1.0)
    out, result = exported(b, tmp_path / "mix.wav")
    assert result.gain_db == 0.0 and not math.isfinite(result.measured)
    assert probe(out).duration == pytest.approx(1.0, abs=0.01)


def test_request_from_command_line_options(tmp_path: Path) -> None:
    req = ExportRequest.build(tmp_path / "ep", format="mp3", bitrate=320, bit_depth="float", subtitles="vtt")
    assert req.output == tmp_path / "ep.mp3" and req.format == "mp3" and req.bitrate_kbps == 320
    assert req.bit_depth == 32 and req.vtt == tmp_path / "ep.vtt" and req.srt is None
    req = ExportRequest.build(None, lines_dir=tmp_path / "lines", name_template="{character}/{id}.wav")
    assert req.output is None and req.lines_template == "{character}/{id}.wav"
    with pytest.raises(ValueError, match="nothing to export"):
        ExportRequest.build(None)
    with pytest.raises(ValueError, match="srt or vtt"):
        ExportRequest.build(tmp_path / "a.wav", subtitles="ass")


def test_request_refuses_a_folder_or_a_mismatched_extension(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a folder"):
        ExportRequest.build(tmp_path, format="wav")
    with pytest.raises(ValueError, match="names another format than mp3"):
        ExportRequest.build(tmp_path / "mix.wav", format="mp3")  # MP3 data in a .wav file
    assert ExportRequest.build(tmp_path / "mix.ogg", format="opus").format == "opus"


def test_summary_lines(tmp_path: Path) -> None:
    b = episode(tmp_path, seconds=6.0)
    result = run_export(b.project, b.resolver(), ExportRequest.build(tmp_path / "ep.wav", subtitles="srt"))
    text = "\n".join(result.summary_lines())
    assert "→ -16.0 LUFS" in text and "ep.wav" in text and "ep.srt" in text
