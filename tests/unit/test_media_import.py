"""Importing audio into a project's media folder (studio.audio.media_import), without Qt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.audio import media_import as mi
from studio.core.store import media_name


class State:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.progress: list[float] = []
        self.cancel_after = cancel_after

    def set_progress(self, fraction: float) -> None:
        self.progress.append(fraction)

    def is_cancel_requested(self) -> bool:
        return self.cancel_after is not None and len(self.progress) > self.cancel_after


def wav(path: Path, seconds: float, rate: int = 48000) -> Path:
    rng = np.random.default_rng(len(path.name))
    sf.write(
        path, (rng.standard_normal((int(seconds * rate), 2)) * 0.1).astype(np.float32), rate, subtype="PCM_16"
    )
    return path


def test_files_land_under_their_content_name_with_progress_in_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(mi, "COPY_BLOCK", 64 * 1024)
    a, b = wav(tmp_path / "bed.wav", 3.0), wav(tmp_path / "door.WAV", 0.5)
    media = tmp_path / "proj" / "media"
    state = State()
    result = mi.run(mi.ImportRequest((a, b), media), state)
    assert [i.media for i in result.imported] == [
        media_name(a.read_bytes(), ".wav"),
        media_name(b.read_bytes(), ".wav"),
    ]
    assert [round(i.duration, 3) for i in result.imported] == [3.0, 0.5]
    assert all((media / i.media).read_bytes() == i.path.read_bytes() for i in result.imported)
    assert state.progress == sorted(state.progress) and state.progress[-1] == 1.0 and len(state.progress) > 10
    assert not [p for p in media.iterdir() if p.name.startswith(".")]  # no temporary file left
    again = mi.run(mi.ImportRequest((a,), media), State())  # the same content is stored once
    assert again.imported[0].media == result.imported[0].media and len(list(media.iterdir())) == 2


def test_a_file_that_is_not_audio_is_a_failure_and_the_rest_still_imports(tmp_path):
    junk = tmp_path / "notes.wav"
    junk.write_text("not audio")
    good = wav(tmp_path / "good.wav", 0.2)
    result = mi.run(mi.ImportRequest((junk, tmp_path / "gone.wav", good), tmp_path / "media"), State())
    assert [i.path for i in result.imported] == [good]
    assert len(result.failures) == 2
    assert result.failures[0].startswith("Cannot import notes.wav:")
    assert result.failures[1].startswith("Cannot import gone.wav:")


def test_cancel_stops_between_blocks_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(mi, "COPY_BLOCK", 16 * 1024)
    big = wav(tmp_path / "long.wav", 4.0)
    media = tmp_path / "media"
    result = mi.run(mi.ImportRequest((big,), media), State(cancel_after=5))
    assert result.cancelled and result.imported == ()
    assert list(media.iterdir()) == []


def test_copy_into_media_reports_a_read_error(tmp_path):
    with pytest.raises(OSError):
        mi.copy_into_media(tmp_path / "missing.wav", tmp_path / "media")
    assert list((tmp_path / "media").iterdir()) == []
