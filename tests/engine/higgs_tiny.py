"""A tiny random Higgs Audio v2 checkpoint for the Higgs tests, built once per test session.

Not a conftest: the Higgs test modules import what they need from here. The checkpoint is written like
a real one (see :func:`engine.higgs.random_model.save_tiny`) and loaded through ``HiggsBackend`` — the
same code path as a downloaded model.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
from fakes import never, no_progress  # noqa: F401 - the tiny-model tests import them from here

from engine.backends.higgs import HiggsBackend
from engine.protocol import GenerationParams, RenderJob, VoiceSpec

FRAMES = 20  # content frames of a fixed-length test take (0.8 s)
# The template transformers' conversion script writes into real checkpoints (see data/README.md).
CONVERSION_TEMPLATE = (Path(__file__).parent / "data" / "higgs_audio_v2_conversion.jinja").read_text()


@functools.cache
def tiny_model_dir() -> Path:
    """The tiny checkpoint folder (built on first use, reused for the session).

    Also puts torch on one thread: the tiny model's ops are far too small to share out, and on a busy
    two-core machine two threads made these tests three times slower.
    """
    import torch

    from engine.higgs.random_model import save_tiny

    torch.set_num_threads(1)

    return save_tiny(Path(tempfile.mkdtemp(prefix="higgs-tiny-")) / "model", chat_template=CONVERSION_TEMPLATE)


def backend(**options: object) -> HiggsBackend:
    """A loaded backend on the tiny checkpoint (the model itself is loaded once per process)."""
    backend = HiggsBackend(options={"model": str(tiny_model_dir()), "device": "cpu", **options})
    backend.load()
    return backend


def write_clip(path: Path, seconds: float = 1.0, rate: int = 24000, freq: float = 220.0) -> str:
    """A short tone clip (a stand-in reference or context take)."""
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)
    return str(path)


def job(
    text: str = "Hello there, how are you?", *, job_id: str = "j1", seed: int = 0, **fields: object
) -> RenderJob:
    params = fields.pop("params", GenerationParams(seed=seed))
    speakers = fields.pop("speakers", (VoiceSpec(kind="smart"),))
    return RenderJob(
        job_id=job_id,
        text=text,
        out_path=f"/tmp/{job_id}.wav",
        speakers=speakers,  # type: ignore[arg-type]
        params=params,  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )
