"""Piper performs inline timing direction: [pause] inserts silence, [rate] changes the pace of a span,
and ``[[ IPA ]]`` from a phonemes lexicon entry is spoken as phonemes."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backends.base import BackendError
from engine.backends.piper_synth import Synthesizer, SynthSettings


@pytest.fixture(scope="module")
def synth() -> Synthesizer:
    return Synthesizer(SynthSettings(model="", threads=1, noise_w=0.0, noise_scale=0.0))


def _seconds(synth: Synthesizer, text: str) -> tuple[float, np.ndarray, int]:
    audio, rate, _note = synth.render(text, "", 0, lambda f: None, lambda: False)
    return len(audio) / rate, audio, rate


def test_pause_inserts_that_much_silence(synth: Synthesizer) -> None:
    plain, _, _ = _seconds(synth, "Hello there. Good friend.")
    paused, audio, rate = _seconds(synth, "Hello there. [pause 1.5s] Good friend.")
    # the pause replaces the usual 0.12 s between sentences
    assert paused - plain == pytest.approx(1.5 - 0.12, abs=0.05)
    window = int(0.05 * rate)
    quiet = [float(np.max(np.abs(audio[i : i + window]))) < 1e-4 for i in range(0, len(audio) - window, window)]
    longest = max(len(run) for run in "".join("q" if q else " " for q in quiet).split(" "))
    assert longest * 0.05 >= 1.4


def test_rate_span_slows_only_the_span(synth: Synthesizer) -> None:
    plain, _, _ = _seconds(synth, "The quick brown fox jumps over the lazy dog.")
    slow, _, _ = _seconds(synth, "[rate 0.5]The quick brown fox jumps over the lazy dog.[/rate]")
    half, _, _ = _seconds(synth, "The quick brown fox [rate 0.5]jumps over the lazy dog.[/rate]")
    assert slow > 1.6 * plain
    assert plain < half < slow


def test_phonemes_from_the_lexicon_are_spoken(synth: Synthesizer) -> None:
    seconds, audio, _ = _seconds(synth, "Say [[ təˈmɑːtoʊ ]] please.")
    assert seconds > 0.8 and float(np.max(np.abs(audio))) > 0.1
    with pytest.raises(BackendError, match="nothing to speak"):
        synth.render("[pause 0.5s]", "", 0, lambda f: None, lambda: False)
