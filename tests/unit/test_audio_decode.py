"""Decoding (soundfile, ffmpeg fallback), resampling (stream == whole) and clip sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.audio.decode import AudioReader, audio_info, read_audio
from studio.audio.errors import DecodeError
from studio.audio.ffmpeg_tool import run_ffmpeg
from studio.audio.resample import StreamResampler, resample, resampled_length
from studio.audio.sources import SourceCache
from studio.audio.synthetic import music, tone


def test_reads_wav_flac_and_mp3(tmp_path: Path) -> None:
    x = tone(440.0, 1.0, 22050, 0.5)
    sf.write(tmp_path / "a.wav", x, 22050, subtype="PCM_16")
    sf.write(tmp_path / "a.flac", x, 22050)
    for name in ("a.wav", "a.flac"):
        data, rate = read_audio(tmp_path / name)
        assert rate == 22050 and data.shape == (22050, 1) and data.dtype == np.float32
        assert np.abs(data - x).max() < 1e-4
    proc = run_ffmpeg(
        ["-y", "-v", "error", "-i", str(tmp_path / "a.wav"), "-b:a", "64k", str(tmp_path / "a.mp3")]
    )
    assert proc.returncode == 0
    info = audio_info(tmp_path / "a.mp3")
    assert info.sample_rate == 22050 and info.channels == 1 and abs(info.duration - 1.0) < 0.1


def test_m4a_falls_back_to_ffmpeg(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", music(1.0, 44100), 44100)
    proc = run_ffmpeg(
        ["-y", "-v", "error", "-i", str(tmp_path / "a.wav"), "-c:a", "aac", str(tmp_path / "a.m4a")]
    )
    assert proc.returncode == 0
    data, rate = read_audio(tmp_path / "a.m4a")
    assert rate == 44100 and data.shape[1] == 2 and abs(data.shape[0] - 44100) < 3000
    assert np.abs(data).max() > 0.05


@pytest.mark.parametrize(
    "content, match",
    [
        (None, "does not exist"),
        (b"", "corrupt or not audio"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\xff" * 40, "corrupt or not audio"),
        (b"this is a text file, not audio\n" * 20, "corrupt or not audio"),
    ],
)
def test_unreadable_files_give_a_clear_error(tmp_path: Path, content: bytes | None, match: str) -> None:
    path = tmp_path / "x.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DecodeError, match=match) as err:
        read_audio(path)
    assert "x.wav" in str(err.value)


def test_folder_is_not_audio(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="folder"):
        AudioReader(tmp_path)


@pytest.mark.parametrize("rates", [(22050, 48000), (24000, 48000), (44100, 48000), (48000, 44100)])
def test_stream_resampler_equals_whole_buffer(rates: tuple[int, int]) -> None:
    fi, fo = rates
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((fi * 2 + 17, 2))).astype(np.float32)
    whole = resample(x, fi, fo)
    assert whole.shape[0] == resampled_length(x.shape[0], fi, fo)
    rs = StreamResampler(fi, fo, 2)
    parts, pos = [], 0
    for n in [1, 7, 1000, 333, 4096] * 100:
        if pos >= len(x):
            break
        parts.append(rs.process(x[pos : pos + n], last=pos + n >= len(x)))
        pos += n
    assert np.array_equal(np.concatenate(parts), whole)


def test_streamed_source_matches_the_in_memory_one(tmp_path: Path) -> None:
    x = music(12.0, 44100)
    sf.write(tmp_path / "bed.wav", x, 44100, subtype="FLOAT")
    memory = SourceCache(lambda n: tmp_path / n, 48000)
    streamed = SourceCache(lambda n: tmp_path / n, 48000, stream_over_bytes=1000)
    assert not memory.streams("bed.wav") and streamed.streams("bed.wav")
    ref = memory.get("bed.wav").read(0, memory.info("bed.wav").frames)
    src = streamed.get("bed.wav", "clip")
    # forward reads in odd sizes: bit-exact
    got = np.concatenate([src.read(s, 7001) for s in range(0, ref.shape[1], 7001)], axis=1)[:, : ref.shape[1]]
    assert np.array_equal(got, ref)
    # a jump back and a jump forward restart the stream on the common grid: equal to float rounding
    for start in (100_000, 10, 400_000):
        assert np.abs(src.read(start, 5000) - ref[:, start : start + 5000]).max() < 1e-6
    # reads outside the file are silence
    assert not src.read(ref.shape[1] + 10, 100).any() and not src.read(-200, 100).any()
    memory.close()
    streamed.close()
