"""Reference-clip import: every format, mono 24 kHz, trimmed, −20 LUFS; warnings; clear refusals."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf

from studio.bank.clips import (
    SAMPLE_RATE,
    TARGET_LUFS,
    loudness,
    prepare_clip,
    prepare_samples,
    trim_clip,
    waveform_peaks,
)
from studio.bank.records import BankError


def voice_signal(seconds: float = 4.0, rate: int = 44100, lead: float = 0.5, tail: float = 0.5) -> np.ndarray:
    """A voice-like test signal: a gliding harmonic tone in syllables and words, silence around it."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 140 + 25 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    harmonics = sum((1.0 / k) * np.sin(k * phase) for k in range(1, 12))
    syllables = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 0.6
    words = (np.sin(2 * np.pi * 0.4 * t + 1) > -0.6).astype(float)
    speech = 0.3 * harmonics * syllables * words + 1e-4 * rng.standard_normal(t.size)
    return np.concatenate([np.zeros(int(lead * rate)), speech, np.zeros(int(tail * rate))]).astype(np.float32)


def ffmpeg_encode(src: Path, dest: Path) -> None:
    codec = {".mp3": ["-c:a", "libmp3lame", "-b:a", "128k"], ".m4a": ["-c:a", "aac", "-b:a", "128k"]}[
        dest.suffix
    ]
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-i", str(src), *codec, str(dest)], check=True
    )


def make_source(tmp_path: Path, suffix: str, rate: int = 44100, stereo: bool = True) -> Path:
    x = voice_signal(rate=rate)
    data = np.stack([x, 0.8 * x], axis=1) if stereo else x
    if suffix in (".wav", ".flac", ".ogg"):
        path = tmp_path / f"voice{suffix}"
        sf.write(path, data, rate)
        return path
    wav = tmp_path / "source.wav"
    sf.write(wav, data, rate)
    path = tmp_path / f"voice{suffix}"
    ffmpeg_encode(wav, path)
    return path


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3", ".m4a"])
def test_each_format_becomes_a_trimmed_normalised_24k_mono_wav(tmp_path: Path, suffix: str) -> None:
    source = make_source(tmp_path, suffix)
    clip = prepare_clip(source, "Hello there.")
    with sf.SoundFile(io.BytesIO(clip.data)) as stored:
        assert (stored.format, stored.subtype, stored.samplerate, stored.channels) == (
            "WAV",
            "PCM_16",
            24000,
            1,
        )
        samples = stored.read(dtype="float32")
    assert clip.stats.duration == pytest.approx(len(samples) / SAMPLE_RATE, abs=1e-3)
    # 0.5 s of silence on each side of 4 s of sound: trimmed to the sound plus a short pad.
    assert 3.5 < clip.stats.duration < 4.3
    assert loudness(samples, SAMPLE_RATE) == pytest.approx(TARGET_LUFS, abs=0.3)
    assert clip.stats.peak_dbfs <= -1.0
    assert clip.warnings == ()
    assert clip.transcript == "Hello there."
    assert clip.original_name == source.name
    assert clip.clip_id == hashlib.sha256(clip.data).hexdigest()


def test_the_same_source_gives_the_same_clip(tmp_path: Path) -> None:
    source = make_source(tmp_path, ".flac")
    assert prepare_clip(source, "a").clip_id == prepare_clip(source, "a").clip_id


def test_transcript_from_the_sidecar_unless_typed(tmp_path: Path) -> None:
    source = make_source(tmp_path, ".wav")
    source.with_suffix(".txt").write_text("  The words\nspoken here.\n", encoding="utf-8")
    assert prepare_clip(source).transcript == "The words spoken here."
    assert prepare_clip(source, "Typed instead").transcript == "Typed instead"
    source.with_suffix(".txt").unlink()
    clip = prepare_clip(source)
    assert clip.transcript == "" and any("no transcript" in m for m in clip.messages)


def test_warnings_for_short_long_noisy_and_clipped_clips() -> None:
    rate = 24000
    short = prepare_samples(voice_signal(1.5, rate, 0, 0), rate, transcript="x")
    assert any(w.startswith("short") for w in short.warnings)
    long = prepare_samples(np.tile(voice_signal(4.0, rate, 0, 0), 9), rate, transcript="x")
    assert long.stats.duration > 30 and any(w.startswith("long") for w in long.warnings)
    x = voice_signal(4.0, rate)
    noise = 0.03 * np.random.default_rng(1).standard_normal(x.size).astype(np.float32)
    noisy = prepare_samples(x + noise, rate, transcript="x")
    assert noisy.stats.snr_db is not None and noisy.stats.snr_db < 25
    assert any(w.startswith("noisy") for w in noisy.warnings)
    clipped = prepare_samples(np.clip(x * 6, -1, 1), rate, transcript="x")
    assert clipped.clipped and any(w.startswith("clipping") for w in clipped.warnings)
    clean = prepare_samples(x, rate, transcript="x")
    assert clean.warnings == () and not clean.clipped


def test_truncated_wav_is_refused(tmp_path: Path) -> None:
    source = make_source(tmp_path, ".wav")
    data = source.read_bytes()
    source.write_bytes(data[: len(data) // 2])
    with pytest.raises(BankError, match="truncated"):
        prepare_clip(source, "x")
    source.write_bytes(data[:30])  # cut inside the header
    with pytest.raises(BankError, match="voice.wav"):
        prepare_clip(source, "x")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("voice.aiff", b"FORM....AIFF", "not a supported clip format"),
        ("voice", b"RIFF", "not a supported clip format"),
        ("voice.wav", b"", "is empty"),
        ("voice.mp3", b"\x00garbage" * 200, "corrupt or not audio"),
        ("voice.m4a", b"not an m4a at all" * 10, "corrupt or not audio"),
    ],
)
def test_corrupt_or_unsupported_files_get_a_clear_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BankError, match=message):
        prepare_clip(path, "x")


def test_missing_and_silent_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="does not exist"):
        prepare_clip(tmp_path / "nope.wav")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(48000, dtype=np.float32), 24000)
    with pytest.raises(BankError, match="silent"):
        prepare_clip(silent, "x")


def test_waveform_peaks_and_trim(tmp_path: Path) -> None:
    clip = prepare_clip(make_source(tmp_path, ".wav"), "Hello")
    path = tmp_path / "clip.wav"
    path.write_bytes(clip.data)
    peaks = waveform_peaks(path, 200)
    assert peaks.shape == (200, 2)
    assert np.all(peaks[:, 0] <= peaks[:, 1]) and peaks.max() <= 1.0 and peaks.min() >= -1.0
    assert peaks[:, 1].max() > 0.3
    trimmed = trim_clip(path, 0.5, 2.0, "Hello")
    assert trimmed.stats.duration == pytest.approx(1.5, abs=0.01)
    assert trimmed.clip_id != clip.clip_id and trimmed.transcript == "Hello"
    with pytest.raises(BankError, match="cannot trim"):
        trim_clip(path, 3.0, 1.0, "x")
