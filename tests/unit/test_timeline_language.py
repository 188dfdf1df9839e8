"""The timeline speaks one language: layout per language, one undoable switch, and the mix follows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.audio.export import ExportRequest, run_export
from studio.audio.subtitles import build_cues
from studio.audio.synthetic import ProjectBuilder, tone
from studio.core import ops
from studio.core.codec import settings_from_json, settings_to_json
from studio.core.layout import layout_ops, lines_without_take, set_timeline_language, timeline_language
from studio.core.model import Take
from studio.core.project import ProjectSettings
from studio.core.settings_schema import SettingError, parse_change, setting_rows

RATE = 24000
EN_HZ, FR_HZ = 220.0, 880.0


def two_languages(tmp_path: Path, french: int = 3) -> ProjectBuilder:
    """Three English lines (220 Hz takes); the first ``french`` have French takes (880 Hz, longer)."""
    b = ProjectBuilder(tmp_path / "media", sample_rate=RATE, channels=1, target_languages=("fr",))
    b.speaker("s1", "Bram")
    for i in range(3):
        lid = f"VO_{i + 1}"
        media = b.media(tone(EN_HZ, 0.5, RATE), RATE, f"en_{lid}.wav")
        line = b.line(lid, "s1", f"Line {i + 1}", media, RATE, 0.5)
        if i < french:
            fr_media = b.media(tone(FR_HZ, 0.8, RATE), RATE, f"fr_{lid}.wav")
            key = f"take_{lid}_fr"
            b.project.takes[key] = Take(key, lid, fr_media, 0.8, RATE, language="fr")
            b.project.lines[lid] = replace(
                line, language_takes=(("fr", key),), takes=(*line.takes, key), translations=(("fr", f"Ligne {i + 1}"),)
            )
    b.project.apply(layout_ops(b.project))
    return b


def _media(project) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c.line_id: c.media for c in project.clips.values()}


def test_layout_places_the_takes_of_the_timeline_language(tmp_path: Path) -> None:
    p = two_languages(tmp_path, french=2).project
    assert _media(p) == {f"VO_{i}": f"en_VO_{i}.wav" for i in (1, 2, 3)}
    assert lines_without_take(p) == [] and lines_without_take(p, "fr") == ["VO_3"]

    inverse = p.apply(set_timeline_language(p, "fr"))
    assert p.settings.timeline_language == "fr" and timeline_language(p) == "fr"
    assert _media(p) == {"VO_1": "fr_VO_1.wav", "VO_2": "fr_VO_2.wav"}  # VO_3 has no fr take: no clip
    starts = sorted(c.start for c in p.clips.values())
    assert starts == [0.0, pytest.approx(0.8 + p.settings.gap_same_speaker)]  # laid out by fr durations
    assert lines_without_take(p) == ["VO_3"]
    assert layout_ops(p).ops == ()  # stable

    p.apply(inverse)  # undo restores the source layout, clip ids included
    assert p.settings.timeline_language == ""
    assert _media(p) == {f"VO_{i}": f"en_VO_{i}.wav" for i in (1, 2, 3)}
    assert layout_ops(p).ops == ()


def test_switch_back_by_name_and_refusals(tmp_path: Path) -> None:
    p = two_languages(tmp_path).project
    ids = set(p.clips)
    p.apply(set_timeline_language(p, "FR"))
    assert set(p.clips) == ids  # the same clips, now speaking French (gain, fades and effects stay)
    batch = set_timeline_language(p, "en")  # the source's code = the source
    assert batch.label == "Timeline in en"
    p.apply(batch)
    assert p.settings.timeline_language == "" and set(_media(p).values()) == {f"en_VO_{i}.wav" for i in (1, 2, 3)}
    assert set_timeline_language(p, "").ops == ()  # already there: nothing to undo
    with pytest.raises(ops.EditError, match="no language 'de'"):
        set_timeline_language(p, "de")
    # a timeline language the project no longer has falls back to the source
    p.settings = replace(p.settings, timeline_language="de")
    assert timeline_language(p) == ""


def test_the_setting_is_stored_listed_and_checked() -> None:
    settings = ProjectSettings(target_languages=("fr",), timeline_language="fr")
    assert settings_from_json(settings_to_json(settings)).timeline_language == "fr"
    assert settings_from_json('{"title": "old project"}').timeline_language == ""  # written before the field
    rows = {r.key: r for r in setting_rows(settings)}
    assert rows["timeline_language"].value == "fr" and rows["timeline_language"].default == ""
    assert parse_change(settings, "timeline_language", "FR") == {"timeline_language": "fr"}
    assert parse_change(settings, "timeline_language", "en") == {"timeline_language": ""}
    with pytest.raises(SettingError, match="no language 'de'"):
        parse_change(settings, "timeline_language", "de")


def _dominant_hz(data: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(data))
    return float(np.fft.rfftfreq(len(data), 1 / rate)[int(np.argmax(spectrum))])


def test_the_mix_speaks_the_timeline_language(tmp_path: Path) -> None:
    b = two_languages(tmp_path)
    p = b.project
    p.apply(set_timeline_language(p, "fr"))
    assert {c.media for c in p.clips.values()} == {f"fr_VO_{i}.wav" for i in (1, 2, 3)}
    out = tmp_path / "fr.wav"
    result = run_export(p, b.resolver(), ExportRequest.build(out, preset="none", channels=1))
    data, rate = sf.read(out)
    gap = p.settings.gap_same_speaker
    assert result.duration == pytest.approx(3 * 0.8 + 2 * gap, abs=0.02)
    assert len(data) / rate == pytest.approx(3 * 0.8 + 2 * gap, abs=0.02)
    assert _dominant_hz(data[: int(0.8 * rate)], rate) == pytest.approx(FR_HZ, abs=5)
    assert [c.text for c in build_cues(p)] == ["Ligne 1", "Ligne 2", "Ligne 3"]  # subtitles in French too
