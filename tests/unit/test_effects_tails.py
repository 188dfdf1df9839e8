"""Where clips ring on: the tail the timeline draws after a clip (voice chain + track insert) and
the end playback runs to, which is the mix's length."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from studio.audio.mixer import Mixdown
from studio.audio.synthetic import ProjectBuilder, tone
from studio.core import effects as fxc

SR = 48000


def test_tail_spans_and_the_end_with_tails_match_the_mix(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    ghost = b.speaker("s1", "Ghost")
    b.speaker("s2", "Plain")
    cave = fxc.preset("cave")
    b.project.speakers["s1"] = replace(ghost, voice=replace(ghost.voice, effects=cave))
    delay = (fxc.effect("delay", delay_s=0.5, feedback=0.0, mix=0.5),)
    b.track("ghost", speaker_id="s1", effects=delay)
    b.track("plain", speaker_id="s2")
    media = b.media(tone(440.0, 0.5, SR, 0.5), SR)
    first = b.clip("ghost", media, 0.0, duration=0.5)
    dry = b.clip("plain", media, 1.0, duration=0.5)
    project = b.project
    tails = fxc.ClipTails.of(project)
    voice_tail, track_tail = fxc.chain_tail(cave), fxc.chain_tail(delay)
    assert voice_tail > 2.0 and track_tail == pytest.approx(0.51)
    assert tails.span(project, first) == pytest.approx((0.5, 0.5 + voice_tail + track_tail))
    assert tails.span(project, dry) is None
    assert tails.longest == pytest.approx(voice_tail + track_tail)
    assert project.duration() == 1.5
    end = fxc.end_with_tails(project)
    assert end == pytest.approx(0.5 + voice_tail + track_tail)
    assert Mixdown(project, b.resolver()).length == pytest.approx(end * SR, abs=2)

    # Bypassed effects have no tail; a dry project ends where its last clip does.
    project.speakers["s1"] = replace(ghost, voice=replace(ghost.voice, effects=()))
    project.tracks["ghost"] = replace(project.tracks["ghost"], effects=(replace(delay[0], bypass=True),))
    assert fxc.ClipTails.of(project).span(project, first) is None
    assert fxc.end_with_tails(project) == project.duration() == 1.5
