"""Shared test setup: no real user data is touched; Qt runs offscreen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config):  # noqa: ARG001
    import tempfile

    if "CHORUS_HOME" not in os.environ:
        os.environ["CHORUS_HOME"] = tempfile.mkdtemp(prefix="chorus-home-")
    os.environ.setdefault("CHORUS_VOICE_BANK", os.path.join(os.environ["CHORUS_HOME"], "voices"))


# ------------------------------------------------------------------------------------------------
# Speech recognition: one Whisper model and one set of Piper takes for the whole session
# ------------------------------------------------------------------------------------------------

import pytest  # noqa: E402

QA_SENTENCES: dict[str, str] = {
    "welcome": "Welcome back to the show, where we talk about the little things that make a city work.",
    "bridge": "The old bridge closed in 1998, and the ferry took 42 minutes to cross.",
    "tavern": "Keep your voice down, the innkeeper hears everything in this tavern.",
}


@pytest.fixture(scope="session")
def whisper():
    """The engine's recogniser with the bundled Whisper tiny.en, loaded once per test session."""
    from engine.asr.recognizer import Recognizer

    recognizer = Recognizer(threads=2)
    recognizer.load()
    return recognizer


@pytest.fixture(scope="session")
def piper_takes(tmp_path_factory):
    """Clean Piper takes of :data:`QA_SENTENCES` (name → WAV path), rendered in-process once."""
    from engine.backends.base import render_one
    from engine.backends.piper import PiperBackend
    from engine.protocol import RenderJob
    from engine.takefile import write_take

    folder = tmp_path_factory.mktemp("piper-takes")
    piper = PiperBackend({"workers": 0, "noise_w": 0.0, "noise_scale": 0.0})  # the same audio every run
    piper.load()
    paths = {}
    try:
        for name, text in QA_SENTENCES.items():
            out = folder / f"{name}.wav"
            outcome = render_one(piper, RenderJob(job_id=name, text=text, out_path=str(out)), lambda *a: None, lambda j: False)
            assert outcome.result is not None, outcome.error
            paths[name] = write_take(out, outcome.result.audio, outcome.result.sample_rate)
    finally:
        piper.close()
    return paths
