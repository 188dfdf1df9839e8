"""The one ffmpeg lookup: the binary imageio-ffmpeg bundles (no system ffmpeg is assumed).

In the engine so both processes can use it (the studio imports engine modules; the engine never
imports the studio). Safe from any thread.
"""

from __future__ import annotations

import functools


class FfmpegMissing(RuntimeError):
    """imageio-ffmpeg or its bundled binary is not there."""


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg executable bundled with imageio-ffmpeg; FfmpegMissing if there is none."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise FfmpegMissing("imageio-ffmpeg is not installed, so ffmpeg is unavailable") from exc
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:  # pragma: no cover
        raise FfmpegMissing(f"the bundled ffmpeg could not be found: {exc}") from exc
