"""``chorus export --language``: mix a project's timeline in one language, or one mix per language."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.audio.synthetic import ProjectBuilder, tone
from studio.cli import main
from studio.core import ops
from studio.core.layout import layout_ops
from studio.core.model import Take
from studio.core.store import ProjectFile

RATE = 24000


def _project(tmp_path: Path) -> Path:
    """Two English lines (220 Hz, 0.5 s); French takes (880 Hz, 0.8 s) for the first only."""
    root = tmp_path / "vo.chorus"
    with ProjectFile.create(root) as pf:
        b = ProjectBuilder(pf.media_dir, sample_rate=RATE, channels=1)
        b.speaker("s1", "Bram")
        for i in (1, 2):
            line = b.line(f"VO_{i}", "s1", f"Line {i}", b.media(tone(220, 0.5, RATE), RATE, f"en_{i}.wav"), RATE, 0.5)
            if i == 1:
                fr = Take("fr_take", line.id, b.media(tone(880, 0.8, RATE), RATE, "fr_1.wav"), 0.8, RATE, language="fr")
                b.project.takes[fr.key] = fr
                b.project.lines[line.id] = replace(line, language_takes=(("fr", fr.key),))
        p = b.project
        pf.project.apply(ops.set_settings(sample_rate=RATE, channels=1, target_languages=("fr",)))
        pf.project.apply(
            ops.Batch(
                (
                    *(ops.Insert(r) for r in [*p.speakers.values(), *p.takes.values()]),
                    *(ops.add_line(p.lines[i]) for i in p.line_order),
                )
            )
        )
        pf.project.apply(layout_ops(pf.project))
    return root


def _hz(path: Path) -> tuple[float, float]:
    data, rate = sf.read(path)
    peak = np.fft.rfftfreq(len(data), 1 / rate)[int(np.argmax(np.abs(np.fft.rfft(data))))]
    return float(peak), len(data) / rate


def test_export_one_language_and_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path)
    assert main(["export", str(project), str(tmp_path / "fr.wav"), "--language", "fr", "--preset", "none"]) == 0
    assert "1 line(s) have no fr take" in capsys.readouterr().err
    hz, seconds = _hz(tmp_path / "fr.wav")
    assert hz == pytest.approx(880, abs=5) and seconds == pytest.approx(0.8, abs=0.02)  # VO_1's fr take only
    with ProjectFile.open(project, read_only=True) as pf:
        assert pf.project.settings.timeline_language == ""  # the project's own timeline is untouched

    mix = str(tmp_path / "mix.wav")
    assert main(["export", str(project), mix, "--language", "all", "--preset", "none", "--subtitles", "srt"]) == 0
    assert (tmp_path / "mix.en.srt").is_file() and (tmp_path / "mix.fr.srt").is_file()
    out = capsys.readouterr().out
    assert "Language en:" in out and "Language fr:" in out
    assert _hz(tmp_path / "mix.en.wav")[0] == pytest.approx(220, abs=5)
    assert _hz(tmp_path / "mix.fr.wav")[0] == pytest.approx(880, abs=5)

    assert main(["export", str(project), str(tmp_path / "de.wav"), "--language", "de"]) == 2
    assert "no language 'de'" in capsys.readouterr().err and not (tmp_path / "de.wav").exists()

    assert main(["settings", str(project), "timeline_language", "fr"]) == 0  # the studio's setting, headless
    with ProjectFile.open(project, read_only=True) as pf:
        assert [c.media for c in pf.project.clips.values()] == ["fr_1.wav"]
    assert main(["languages", str(project), "--target", "de"]) == 0  # fr dropped: the timeline goes back to en
    with ProjectFile.open(project, read_only=True) as pf:
        assert pf.project.settings.timeline_language == ""
        assert sorted(c.media for c in pf.project.clips.values()) == ["en_1.wav", "en_2.wav"]
