"""Subtitles from placed line clips: SRT and WebVTT."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from studio.audio.export import ExportRequest, run_export
from studio.audio.subtitles import MAX_LINE_CHARS, build_cues, format_srt, format_vtt
from studio.audio.synthetic import ProjectBuilder


def scene(tmp_path: Path) -> ProjectBuilder:
    b = ProjectBuilder(tmp_path / "media")
    b.speaker("s1", "Ava")
    b.speaker("s2", "Ben")
    b.track("a", speaker_id="s1")
    b.track("b", speaker_id="s2")
    m = b.media(np.zeros((48000 * 3, 1), np.float32), 48000)
    b.line("L1", "s1", "Hello & welcome.")
    b.line("L2", "s2", "Thanks <for> having me.")
    b.clip("a", m, 0.5, duration=1.25, line_id="L1")
    b.clip("b", m, 3661.0, duration=2.0005, line_id="L2")
    return b


def test_srt(tmp_path: Path) -> None:
    b = scene(tmp_path)
    assert format_srt(build_cues(b.project)) == (
        "1\n00:00:00,500 --> 00:00:01,750\nAva: Hello & welcome.\n\n"
        "2\n01:01:01,000 --> 01:01:03,000\nBen: Thanks <for> having me.\n"
    )
    assert "Ava:" not in format_srt(build_cues(b.project, speakers=False))


def test_vtt(tmp_path: Path) -> None:
    b = scene(tmp_path)
    assert format_vtt(build_cues(b.project)) == (
        "WEBVTT\n\n"
        "00:00:00.500 --> 00:00:01.750\n<v Ava>Hello &amp; welcome.\n\n"
        "01:01:01.000 --> 01:01:03.000\n<v Ben>Thanks &lt;for&gt; having me.\n"
    )


def test_muted_tracks_and_unplaced_lines_have_no_cues(tmp_path: Path) -> None:
    b = scene(tmp_path)
    b.line("L3", "s1", "Never placed.")
    b.project.tracks["b"] = replace(b.project.tracks["b"], mute=True)
    assert [c.line_id for c in build_cues(b.project)] == ["L1"]


def test_long_lines_are_wrapped_and_split(tmp_path: Path) -> None:
    b = scene(tmp_path)
    text = " ".join(["word"] * 60)
    b.project.lines["L1"] = replace(b.project.lines["L1"], text=text)
    cues = [c for c in build_cues(b.project) if c.line_id == "L1"]
    assert len(cues) > 1
    assert cues[0].start == 0.5 and abs(cues[-1].end - 1.75) < 1e-9
    for a, c in zip(cues, cues[1:], strict=False):
        assert a.end == c.start
    for c in cues:
        rows = c.text.split("\n")
        assert len(rows) <= 2 and all(len(r) <= MAX_LINE_CHARS for r in rows)
    assert " ".join(" ".join(c.text.split("\n")) for c in cues) == text


def test_export_writes_both(tmp_path: Path) -> None:
    b = scene(tmp_path)
    req = ExportRequest(
        srt=tmp_path / "out" / "ep.srt", vtt=tmp_path / "out" / "ep.vtt", subtitle_speakers=False
    )
    result = run_export(b.project, b.resolver(), req)
    assert sorted(p.name for p in result.files) == ["ep.srt", "ep.vtt"]
    assert (tmp_path / "out" / "ep.vtt").read_text(encoding="utf-8").startswith("WEBVTT\n\n00:00:00.500")
