"""The bundled ffmpeg binary (imageio-ffmpeg) and what Chorus asks of it: decode, probe, measure.

No system ffmpeg is assumed. imageio-ffmpeg ships ``ffmpeg`` only (no ``ffprobe``), so probing parses
``ffmpeg -i`` output, and tags/chapters are read back with ``-f ffmetadata``.

Thread contract: every function starts its own subprocess and may be called from any thread.
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from studio.audio.errors import AudioError


class FfmpegError(AudioError):
    """ffmpeg is missing or failed; the message carries ffmpeg's own last words."""


def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg (the one lookup lives in :mod:`engine.ffmpeg`)."""
    from engine.ffmpeg import FfmpegMissing
    from engine.ffmpeg import ffmpeg_exe as lookup

    try:
        return lookup()
    except FfmpegMissing as exc:
        raise FfmpegError(str(exc)) from exc


def tail(text: str, lines: int = 3) -> str:
    """The last few non-empty lines of ffmpeg's stderr (what went wrong)."""
    kept = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " / ".join(kept[-lines:])


def run_ffmpeg(args: list[str], *, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``ffmpeg -hide_banner -nostdin ARGS``; returns the finished process (text output)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)


def decode_to_wav(src: Path, dest: Path) -> None:
    """Decode any audio ffmpeg understands into a 32-bit float WAV at the source rate/channels."""
    proc = run_ffmpeg(
        [
            "-y",
            "-v",
            "error",
            "-i",
            str(src),
            "-vn",
            "-map",
            "0:a:0",
            "-c:a",
            "pcm_f32le",
            "-f",
            "wav",
            str(dest),
        ]
    )
    if proc.returncode != 0:
        dest.unlink(missing_ok=True)
        raise FfmpegError(tail(proc.stderr) or f"ffmpeg exited with status {proc.returncode}")


@dataclass(frozen=True)
class Chapter:
    start: float
    end: float
    title: str


@dataclass(frozen=True)
class ProbeInfo:
    """What ``ffmpeg -i`` says about a file's first audio stream."""

    duration: float
    sample_rate: int
    channels: int
    codec: str
    bitrate_kbps: int
    tags: dict[str, str] = field(default_factory=dict)
    chapters: tuple[Chapter, ...] = ()


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_AUDIO = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+).*?, (\d+) Hz, ([^,]+)")
_BITRATE = re.compile(r"Duration:.*?bitrate:\s*(\d+)\s*kb/s")
_LAYOUTS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


def _channels(layout: str) -> int:
    layout = layout.strip()
    if layout in _LAYOUTS:
        return _LAYOUTS[layout.split("(")[0]]
    m = re.match(r"(\d+) channels", layout)
    if m:
        return int(m.group(1))
    return _LAYOUTS.get(layout.split("(")[0], 0)


def probe(path: Path) -> ProbeInfo:
    """Duration, rate, channels, codec, tags and chapters of ``path`` (raises FfmpegError if unreadable)."""
    proc = run_ffmpeg(["-i", str(path), "-f", "ffmetadata", "-"])
    err = proc.stderr
    dm = _DURATION.search(err)
    am = _AUDIO.search(err)
    if proc.returncode != 0 or dm is None or am is None:
        raise FfmpegError(f"{path.name}: not a readable audio file ({tail(err) or 'no audio stream'})")
    duration = int(dm.group(1)) * 3600 + int(dm.group(2)) * 60 + float(dm.group(3))
    bm = _BITRATE.search(err)
    tags, chapters = parse_ffmetadata(proc.stdout)
    return ProbeInfo(
        duration=duration,
        sample_rate=int(am.group(2)),
        channels=_channels(am.group(3)),
        codec=am.group(1),
        bitrate_kbps=int(bm.group(1)) if bm else 0,
        tags=tags,
        chapters=tuple(chapters),
    )


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_ffmetadata(text: str) -> tuple[dict[str, str], list[Chapter]]:
    """Global tags and chapters from an ffmetadata document."""
    tags: dict[str, str] = {}
    chapters: list[Chapter] = []
    section: dict[str, str] | None = None
    sections: list[dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("["):
            section = {"__name__": line.strip("[]").upper()}
            sections.append(section)
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        target = tags if section is None else section
        target[key.strip().lower()] = _unescape(value)
    for sec in sections:
        if sec.get("__name__") != "CHAPTER":
            continue
        num, _, den = sec.get("timebase", "1/1000").partition("/")
        tb = float(num) / float(den or 1)
        chapters.append(
            Chapter(
                start=float(sec.get("start", 0)) * tb,
                end=float(sec.get("end", 0)) * tb,
                title=sec.get("title", ""),
            )
        )
    return tags, chapters


def escape_ffmetadata(value: str) -> str:
    """Escape a value for an ffmetadata file (``=``, ``;``, ``#``, ``\\`` and newlines)."""
    return re.sub(r"([=;#\\\n])", r"\\\1", value)


def format_ffmetadata(tags: dict[str, str], chapters: list[Chapter]) -> str:
    """An ffmetadata document with global ``tags`` and ``[CHAPTER]`` sections (millisecond timebase)."""
    out = [";FFMETADATA1"]
    for key, value in tags.items():
        if value:
            out.append(f"{key}={escape_ffmetadata(value)}")
    for ch in chapters:
        out += [
            "",
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(ch.start * 1000)}",
            f"END={round(ch.end * 1000)}",
            f"title={escape_ffmetadata(ch.title)}",
        ]
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Ebur128:
    integrated_lufs: float
    true_peak_dbfs: float
    lra: float


_NUM = r"(-?(?:\d+(?:\.\d+)?|inf))"


def measure_ebur128(path: Path) -> Ebur128:
    """Integrated loudness and true peak of a file, measured by ffmpeg's ``ebur128`` filter."""
    proc = run_ffmpeg(["-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"])
    if proc.returncode != 0:
        raise FfmpegError(f"{path.name}: ebur128 measurement failed ({tail(proc.stderr)})")
    summary = proc.stderr[proc.stderr.rfind("Summary:") :]
    im = re.search(r"I:\s*" + _NUM + r" LUFS", summary)
    pm = re.search(r"Peak:\s*" + _NUM + r" dBFS", summary)
    lm = re.search(r"LRA:\s*" + _NUM + r" LU", summary)
    if im is None or pm is None:
        raise FfmpegError(f"{path.name}: could not parse the ebur128 summary")
    return Ebur128(float(im.group(1)), float(pm.group(1)), float(lm.group(1)) if lm else math.nan)


def measure_rms_db(path: Path) -> tuple[float, float]:
    """Overall RMS level and sample peak (dBFS) of a file, by ffmpeg's ``astats`` filter."""
    proc = run_ffmpeg(["-i", str(path), "-af", "astats=measure_perchannel=none", "-f", "null", "-"])
    if proc.returncode != 0:
        raise FfmpegError(f"{path.name}: astats measurement failed ({tail(proc.stderr)})")
    overall = proc.stderr[proc.stderr.rfind("Overall") :]
    rm = re.search(r"RMS level dB:\s*" + _NUM, overall)
    pm = re.search(r"Peak level dB:\s*" + _NUM, overall)
    if rm is None or pm is None:
        raise FfmpegError(f"{path.name}: could not parse the astats summary")
    return float(rm.group(1)), float(pm.group(1))
