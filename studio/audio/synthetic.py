"""Synthetic audio and projects for tests and benchmarks (no TTS needed).

Signals are deterministic (seeded). :func:`build_long_project` lays out a podcast-shaped project —
dialogue tracks of speech-like takes at TTS rates, a sound-effects track and a looped music bed —
and writes its media into a folder.

Thread contract: pure functions plus file writes into the folder given; callable from any thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from studio.core.model import Clip, Marker, ScriptLine, Speaker, Take, Track, TrackKind
from studio.core.project import Project, ProjectSettings


def tone(freq: float, seconds: float, rate: int, amp: float = 0.5, channels: int = 1) -> np.ndarray:
    """A sine, float32 ``(frames, channels)``."""
    t = np.arange(round(seconds * rate)) / rate
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


def speechlike(seconds: float, rate: int, seed: int = 0, level: float = 0.25) -> np.ndarray:
    """Noise shaped like speech: a few formant-ish tones and noise under a 4 Hz syllable envelope."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    f0 = 110.0 + 60.0 * rng.random()
    voice = sum(np.sin(2 * np.pi * f0 * k * t + rng.random() * 6.28) / k for k in (1, 2, 3, 5))
    noise = rng.standard_normal(n) * 0.3
    syll = 0.5 - 0.5 * np.cos(2 * np.pi * (3.0 + rng.random() * 2.0) * t)
    x = (voice + noise) * syll
    x *= level / max(1e-9, float(np.sqrt(np.mean(x**2))))
    return np.clip(x, -0.99, 0.99).astype(np.float32)[:, None]


def music(seconds: float, rate: int, seed: int = 1, level: float = 0.1) -> np.ndarray:
    """A soft stereo chord with slow movement, float32 ``(frames, 2)``."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    left = sum(np.sin(2 * np.pi * f * t + rng.random() * 6.28) for f in (220.0, 277.2, 329.6))
    right = sum(np.sin(2 * np.pi * f * t + rng.random() * 6.28) for f in (164.8, 220.0, 440.0))
    lfo = 0.8 + 0.2 * np.sin(2 * np.pi * 0.1 * t)
    x = np.stack([left * lfo, right * lfo], axis=1)
    x *= level / float(np.abs(x).max())
    return x.astype(np.float32)


def write(path: Path, data: np.ndarray, rate: int) -> Path:
    sf.write(str(path), data, rate, subtype="FLOAT" if data.dtype == np.float32 else "PCM_24")
    return path


@dataclass
class SyntheticProject:
    project: Project
    media_dir: Path

    def resolver(self) -> Callable[[str], Path]:
        media_dir = self.media_dir

        def resolve(name: str) -> Path:
            return media_dir / name

        return resolve


def build_long_project(
    folder: Path,
    minutes: float = 60.0,
    clips: int = 600,
    distinct_takes: int = 120,
    bed_seconds: float = 240.0,
) -> SyntheticProject:
    """A ``minutes``-long project: 2 dialogue tracks (22.05/24 kHz mono takes), sfx, a looped bed.

    ``clips`` counts every clip (dialogue lines, a few effects and the bed loops); the takes are
    ``distinct_takes`` different files reused round-robin, so the media folder stays small.
    """
    folder.mkdir(parents=True, exist_ok=True)
    total = minutes * 60.0
    settings = ProjectSettings(
        title="Synthetic episode", artist="Chorus bench", sample_rate=48000, channels=2
    )
    p = Project(settings=settings)
    p.speakers = {"spk_a": Speaker("spk_a", "Ava"), "spk_b": Speaker("spk_b", "Ben")}
    p.tracks = {
        "trk_a": Track("trk_a", "Ava", TrackKind.DIALOGUE, pan=-0.2, speaker_id="spk_a"),
        "trk_b": Track("trk_b", "Ben", TrackKind.DIALOGUE, pan=0.2, speaker_id="spk_b"),
        "trk_fx": Track("trk_fx", "Effects", TrackKind.SFX, gain_db=0.0),
        "trk_bed": Track("trk_bed", "Music", TrackKind.MUSIC, gain_db=-4.0),
    }
    bed = write(folder / "bed.wav", music(bed_seconds, 44100), 44100)
    fx = write(folder / "fx.wav", tone(880.0, 0.4, 48000, 0.9, 2), 48000)  # hot: the limiter must act
    takes: list[tuple[str, float, int]] = []
    for i in range(distinct_takes):
        rate = 22050 if i % 2 == 0 else 24000
        seconds = 3.0 + (i * 7919 % 50) / 10.0  # 3 … 8 s
        name = f"take_{i:04d}.wav"
        write(folder / name, speechlike(seconds, rate, seed=i), rate)
        takes.append((name, seconds, rate))
    bed_clips = int(np.ceil(total / bed_seconds))
    fx_clips = max(0, min(clips // 20, clips - bed_clips - 1))
    line_clips = max(1, clips - bed_clips - fx_clips)
    slot = total / line_clips
    for i in range(line_clips):
        name, seconds, rate = takes[i % len(takes)]
        spk = "spk_a" if i % 2 == 0 else "spk_b"
        line_id = f"L{i + 1:04d}"
        p.lines[line_id] = ScriptLine(line_id, spk, f"Line {i + 1} of the synthetic episode.")
        p.line_order.append(line_id)
        take_key = f"key_{name}"
        p.takes[take_key] = Take(take_key, line_id, name, seconds, rate)
        p.lines[line_id] = ScriptLine(
            line_id, spk, f"Line {i + 1}.", selected_take=take_key, takes=(take_key,)
        )
        dur = min(seconds, slot * 0.95)
        cid = f"clip_l{i:04d}"
        p.clips[cid] = Clip(
            cid, "trk_a" if spk == "spk_a" else "trk_b", name, start=i * slot, duration=dur, line_id=line_id
        )
    for i in range(fx_clips):
        cid = f"clip_fx{i:03d}"
        p.clips[cid] = Clip(cid, "trk_fx", fx.name, start=(i + 0.5) * total / max(1, fx_clips), duration=0.4)
    for i in range(bed_clips):
        cid = f"clip_bed{i:03d}"
        start = i * bed_seconds
        p.clips[cid] = Clip(
            cid,
            "trk_bed",
            bed.name,
            start=start,
            duration=min(bed_seconds, total - start),
            fade_in=0.5,
            fade_out=0.5,
        )
    for i in range(max(1, int(minutes // 10))):
        mid = f"mk_{i}"
        p.markers[mid] = Marker(mid, i * 600.0, f"Part {i + 1}")
    return SyntheticProject(p, folder)


class ProjectBuilder:
    """Builds a small in-memory project whose media are files written into ``folder``."""

    def __init__(self, folder: Path, sample_rate: int = 48000, channels: int = 2, **settings: object) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        base = ProjectSettings(sample_rate=sample_rate, channels=channels)
        self.project = Project(settings=replace(base, **settings))  # type: ignore[arg-type]
        self._n = 0

    def resolver(self) -> Callable[[str], Path]:
        folder = self.folder

        def resolve(name: str) -> Path:
            return folder / name

        return resolve

    def media(self, data: np.ndarray, rate: int, name: str = "") -> str:
        self._n += 1
        name = name or f"media_{self._n:03d}.wav"
        data = np.asarray(data, dtype=np.float32)
        write(self.folder / name, data if data.ndim == 2 else data[:, None], rate)
        return name

    def speaker(self, sid: str, name: str) -> Speaker:
        spk = Speaker(sid, name)
        self.project.speakers[sid] = spk
        return spk

    def track(self, tid: str, kind: TrackKind = TrackKind.DIALOGUE, **kw: object) -> Track:
        kw.setdefault("name", tid)
        track = Track(tid, kind=kind, **kw)  # type: ignore[arg-type]
        self.project.tracks[tid] = track
        return track

    def clip(self, track_id: str, media: str, start: float, **kw: object) -> Clip:
        self._n += 1
        cid = str(kw.pop("id", f"clip_{self._n:04d}"))
        clip = Clip(cid, track_id, media, start=start, **kw)  # type: ignore[arg-type]
        self.project.clips[cid] = clip
        return clip

    def line(
        self, lid: str, speaker_id: str, text: str, media: str = "", rate: int = 48000, seconds: float = 0.0
    ) -> ScriptLine:
        takes: tuple[str, ...] = ()
        key = ""
        if media:
            key = f"take_{lid}"
            self.project.takes[key] = Take(key, lid, media, seconds, rate)
            takes = (key,)
        line = ScriptLine(lid, speaker_id, text, selected_take=key, takes=takes)
        self.project.lines[lid] = line
        self.project.line_order.append(lid)
        return line

    def marker(self, mid: str, time: float, title: str) -> Marker:
        marker = Marker(mid, time, title)
        self.project.markers[mid] = marker
        return marker
