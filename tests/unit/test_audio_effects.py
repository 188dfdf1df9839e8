"""Effect chains: presets load, chunked == whole, bypass == dry, tails exported, clear errors, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from studio.audio.effects import ChainStream, build_board, process_clip, tail_frames
from studio.audio.limiter import LimiterSettings
from studio.audio.mixer import Mixdown
from studio.audio.synthetic import ProjectBuilder, music, speechlike, tone
from studio.core import effects as fxc
from studio.core.model import Ducking, Effect, TrackKind
from studio.core.ops import EditError

SR = 48000


def fx_project(
    tmp_path: Path, track_fx: tuple[Effect, ...] = (), voice_fx: tuple[Effect, ...] = ()
) -> ProjectBuilder:
    """Two voiced speakers (one with a voice chain), a ducked music bed (a track chain), an sfx."""
    b = ProjectBuilder(tmp_path)
    host = b.speaker("s1", "Host")
    b.project.speakers["s1"] = replace(host, voice=replace(host.voice, effects=voice_fx))
    b.speaker("s2", "Guest")
    b.track("host", speaker_id="s1", pan=-0.3, effects=track_fx)
    b.track("guest", speaker_id="s2", pan=0.4, gain_db=-2.0, effects=fxc.PRESETS["radio"])
    b.track(
        "bed",
        kind=TrackKind.MUSIC,
        effects=(fxc.effect("reverb", room_size=0.3),),
        ducking=Ducking(lookahead_ms=50.0, attack_ms=30.0, release_ms=200.0),
    )
    b.track("sfx", kind=TrackKind.SFX)
    a = b.media(speechlike(1.3, 22050, seed=1), 22050)
    g = b.media(speechlike(1.1, 24000, seed=2), 24000)
    b.clip("host", a, 0.40, duration=1.3)
    b.clip("guest", g, 1.95, duration=1.1, fade_out=0.2)
    b.clip("host", a, 3.30, duration=1.0, source_in=0.2, gain_db=3.0)
    b.clip("bed", b.media(music(5.0, 44100), 44100), 0.0, duration=5.0, fade_out=1.0)
    b.clip("sfx", b.media(tone(660.0, 0.3, SR, 0.4, 2), SR), 2.5, duration=0.3)
    return b


def test_every_preset_loads_and_runs() -> None:
    x = speechlike(0.5, SR, seed=3).T
    assert set(fxc.PRESET_LABELS) == set(fxc.PRESETS)
    for name, label in fxc.PRESET_LABELS.items():
        chain = fxc.preset(label)  # by its label, as the UI and CLI name it
        assert chain == fxc.PRESETS[name]
        fxc.check_chain(chain, on_track=True)
        out = process_clip(chain, x, SR)
        assert out.shape == (1, x.shape[1] + tail_frames(chain, SR))
        assert np.isfinite(out).all() and np.abs(out).max() > 0.01, name


def test_every_effect_builds_with_its_defaults() -> None:
    for kind in fxc.EFFECTS:
        board = build_board((fxc.effect(kind),))
        assert board is not None and len(board) == 1


def test_bad_input_is_a_one_line_error() -> None:
    with pytest.raises(EditError, match="unknown effect 'flanger'"):
        fxc.effect("flanger")
    with pytest.raises(EditError, match="ratio must be between 1 and 20"):
        fxc.effect("compressor", ratio=50)
    with pytest.raises(EditError, match="has no parameter 'wetness'"):
        fxc.effect("reverb", wetness=1)
    with pytest.raises(EditError, match="unknown preset 'Disco'"):
        fxc.preset("Disco")
    with pytest.raises(EditError, match="not on a track"):
        fxc.check_chain((fxc.effect("pitch_shift", semitones=2),), on_track=True)


@pytest.mark.parametrize("limited", [False, True])
def test_chunked_mix_through_chains_equals_whole_buffer(tmp_path: Path, limited: bool) -> None:
    b = fx_project(
        tmp_path,
        track_fx=(fxc.effect("compressor", threshold_db=-30, ratio=4), fxc.effect("delay", delay_s=0.1)),
        voice_fx=(fxc.effect("pitch_shift", semitones=-2), fxc.effect("reverb", room_size=0.6)),
    )
    lim = LimiterSettings(ceiling_db=-6.0) if limited else None
    whole = Mixdown(b.project, b.resolver(), limiter=lim)
    ref = whole.render(0, whole.length)
    assert np.abs(ref).max() > 0.05
    for chunk in (131072, 4099, 777):
        mix = Mixdown(b.project, b.resolver(), limiter=lim, sources=whole.sources)
        got = np.concatenate(list(mix.chunks(chunk)))
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() <= 1e-6, chunk


def test_seek_reprimes_the_track_chain(tmp_path: Path) -> None:
    b = fx_project(tmp_path, track_fx=(fxc.effect("compressor", threshold_db=-30, ratio=4),))
    whole = Mixdown(b.project, b.resolver())
    ref = whole.render(0, whole.length)
    mix = Mixdown(b.project, b.resolver(), sources=whole.sources)
    for start in (150_000, 30_000, 0):
        got = mix.render(start, 4000)
        # the radio preset's and the reverb's state over a pre-roll of tail + 0.5 s: decayed to far below audibility
        assert np.abs(got - ref[start : start + 4000]).max() <= 1e-4, start


def test_bypass_is_bit_identical_to_dry(tmp_path: Path) -> None:
    dry = fx_project(tmp_path / "dry")
    dry.project.tracks["guest"] = replace(dry.project.tracks["guest"], effects=())
    dry.project.tracks["bed"] = replace(dry.project.tracks["bed"], effects=())
    bypassed = fx_project(tmp_path / "bypassed", voice_fx=(fxc.effect("reverb", room_size=0.9),))
    for tid in ("guest", "bed"):
        track = bypassed.project.tracks[tid]
        bypassed.project.tracks[tid] = replace(
            track, effects=tuple(replace(f, bypass=True) for f in track.effects)
        )
    voice = bypassed.project.speakers["s1"].voice
    bypassed.project.speakers["s1"] = replace(
        bypassed.project.speakers["s1"],
        voice=replace(voice, effects=(replace(voice.effects[0], bypass=True),)),
    )
    a = Mixdown(dry.project, dry.resolver())
    b = Mixdown(bypassed.project, bypassed.resolver())
    assert a.length == b.length
    assert np.array_equal(a.render(0, a.length), b.render(0, b.length))


def test_reverb_tail_is_exported_not_cut(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    spk = b.speaker("s1", "Ghost")
    chain = (fxc.effect("reverb", room_size=0.8, wet=0.6, dry=0.5),)
    b.project.speakers["s1"] = replace(spk, voice=replace(spk.voice, effects=chain))
    b.track("t", speaker_id="s1")
    b.clip("t", b.media(tone(440.0, 0.5, SR, 0.5), SR), 1.0, duration=0.5)
    mix = Mixdown(b.project, b.resolver())
    tail = fxc.chain_tail(chain)
    assert tail > 2.0
    assert mix.length == round(1.5 * SR) + int(np.ceil(tail * SR))
    out = mix.render(0, mix.length)[:, 0]
    end = round(1.5 * SR)
    assert np.abs(out[end : end + SR // 2]).max() > 0.01  # ringing after the clip ends
    assert np.abs(out[-SR // 10 :]).max() < 10 ** (-60 / 20)  # and decayed by the end of the tail


@pytest.mark.parametrize("room", [0.1, 0.5, 0.9, 1.0])
def test_reverb_tail_formula_bounds_the_measured_decay(room: float) -> None:
    chain = (fxc.effect("reverb", room_size=room, wet=1.0, dry=0.0),)
    x = np.zeros((1, 100), dtype=np.float32)
    x[0, :10] = 0.5
    out = process_clip(chain, x, SR)[0]
    peak = np.abs(out).max()
    assert np.abs(out[-SR // 20 :]).max() < peak * 10 ** (-60 / 20)


def test_stream_equals_one_call_for_any_split() -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, SR * 2)) * 0.2).astype(np.float32)
    chain = fxc.PRESETS["stadium_pa"]
    ref = ChainStream(chain, SR, 2).process(x)
    stream = ChainStream(chain, SR, 2)
    sizes = [1000, 20000, 1, 777, 8192, 30000]
    parts, pos, i = [], 0, 0
    while pos < x.shape[1]:
        n = min(sizes[i % len(sizes)], x.shape[1] - pos)
        parts.append(stream.process(x[:, pos : pos + n]))
        pos, i = pos + n, i + 1
    assert np.array_equal(np.concatenate(parts, axis=1), ref)


def test_threads_equal_serial(tmp_path: Path) -> None:
    b = fx_project(tmp_path, voice_fx=(fxc.effect("reverb", room_size=0.5),))

    def render(_: int) -> np.ndarray:
        mix = Mixdown(b.project, b.resolver())
        return np.concatenate(list(mix.chunks(5000)))

    serial = render(0)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(render, range(3)))
    for got in results:
        assert np.array_equal(got, serial)


def test_chain_edits_are_undoable_ops(tmp_path: Path) -> None:
    b = fx_project(tmp_path)
    project = b.project
    inverse = project.apply(fxc.add_effect(project, "speaker", "s1", fxc.effect("compressor")))
    assert [f.kind for f in project.speakers["s1"].voice.effects] == ["compressor"]
    project.apply(fxc.add_effect(project, "speaker", "s1", fxc.effect("reverb"), index=0))
    project.apply(fxc.move_effect(project, "speaker", "s1", 0, 1))
    assert [f.kind for f in project.speakers["s1"].voice.effects] == ["compressor", "reverb"]
    project.apply(fxc.set_param(project, "speaker", "s1", 1, {"room_size": 0.9}))
    assert fxc.params_of(project.speakers["s1"].voice.effects[1])["room_size"] == 0.9
    project.apply(fxc.set_bypass(project, "speaker", "s1", 0, True))
    assert project.speakers["s1"].voice.effects[0].bypass
    undo = project.apply(fxc.use_preset(project, "track", "host", "Cave"))
    assert project.tracks["host"].effects == fxc.PRESETS["cave"]
    project.apply(undo)
    assert project.tracks["host"].effects == ()
    with pytest.raises(EditError, match="no effect at position 9"):
        fxc.remove_effect(project, "track", "host", 8)
    del inverse


def test_per_line_files_and_stems_carry_the_chains(tmp_path: Path) -> None:
    from studio.audio.export import ExportRequest, run_export

    b = ProjectBuilder(tmp_path / "media", channels=1)
    spk = b.speaker("s1", "Ghost")
    voice_chain = (fxc.effect("reverb", room_size=0.6, wet=0.5, dry=0.6),)
    b.project.speakers["s1"] = replace(spk, voice=replace(spk.voice, effects=voice_chain))
    b.track("t", speaker_id="s1", effects=(fxc.effect("gain", gain_db=-6),))
    media = b.media(speechlike(1.0, SR, seed=4), SR)
    b.line("L1", "s1", "Boo.", media, SR, 1.0)
    b.clip("t", media, 0.5, duration=1.0, line_id="L1")
    out = tmp_path / "out"
    run_export(
        b.project,
        b.resolver(),
        ExportRequest(
            lines_dir=out / "lines", lines_template="{id}.wav", stems_dir=out / "stems", preset="none"
        ),
    )
    import soundfile as sf

    line, _ = sf.read(str(out / "lines" / "L1.wav"), dtype="float32")
    dry, _ = sf.read(str(tmp_path / "media" / media), dtype="float32")
    tail = tail_frames(voice_chain, SR)
    assert len(line) == len(dry) + tail  # the reverb tail is in the line's file
    assert np.abs(line[len(dry) :]).max() > 1e-3
    stems = sorted((out / "stems").iterdir())
    assert len(stems) == 1
    stem, _ = sf.read(str(stems[0]), dtype="float32")
    mix = Mixdown(b.project, b.resolver(), tracks=["t"])
    assert len(stem) == mix.length == round(0.5 * SR) + len(dry) + tail
    assert np.abs(stem - mix.render(0, mix.length)[:, 0]).max() < 1e-4  # 24-bit file of the same chain
