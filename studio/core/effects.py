"""Effect chains as data: what a chain holds, the parameters each effect takes, presets, and the edits.

A chain is a tuple of :class:`~studio.core.model.Effect` records. It lives on a voice
(``Speaker.voice.effects``: applied to each of that speaker's clips, with its tail) and on a track
(``Track.effects``: an insert on the track's sum, before track gain and pan). The DSP is in
:mod:`studio.audio.effects` (pedalboard); this module knows no audio library, so the UI, the CLI and
the bank can validate and edit chains without one.

The edit helpers (:func:`add_effect`, :func:`remove_effect`, :func:`move_effect`, :func:`set_bypass`,
:func:`set_param`, :func:`use_preset`) return one :class:`~studio.core.ops.Update` each — one undo step.
They are built on pure chain edits (:func:`chain_added`, :func:`chain_removed`, :func:`chain_moved`,
:func:`chain_bypassed`, :func:`chain_params`, :func:`preset_chain`: ``chain -> (new chain, label)``),
which the voice bank uses for chains that live outside a project.

Thread contract: pure functions and frozen records, usable from any thread.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.core.model import LATEST_VARIANT_STYLE, Clip, Effect, VoiceKind
from studio.core.ops import Batch, EditError, Update
from studio.core.project import Project

# Longest tail any chain is given (seconds): a reverb near room size 1.0 decays for longer than that
# only below -90 dB.
MAX_TAIL_S = 20.0


@dataclass(frozen=True)
class Param:
    name: str
    default: float
    low: float
    high: float
    unit: str = ""
    label: str = ""


@dataclass(frozen=True)
class EffectSpec:
    kind: str
    label: str
    params: tuple[Param, ...]
    voice_only: bool = False  # needs a whole line at once (a track insert streams)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        names = ", ".join(p.name for p in self.params) or "none"
        raise EditError(f"{self.kind} has no parameter {name!r} (it takes: {names})")


def _p(name: str, default: float, low: float, high: float, unit: str = "", label: str = "") -> Param:
    return Param(name, default, low, high, unit, label or name.replace("_", " "))


EFFECTS: dict[str, EffectSpec] = {
    spec.kind: spec
    for spec in (
        EffectSpec("highpass", "High-pass", (_p("cutoff_hz", 80, 20, 4000, "Hz", "cutoff"),)),
        EffectSpec("lowpass", "Low-pass", (_p("cutoff_hz", 8000, 200, 20000, "Hz", "cutoff"),)),
        EffectSpec(
            "low_shelf",
            "Low shelf",
            (
                _p("cutoff_hz", 200, 20, 2000, "Hz", "frequency"),
                _p("gain_db", 0, -24, 24, "dB"),
                _p("q", 0.707, 0.1, 4),
            ),
        ),
        EffectSpec(
            "high_shelf",
            "High shelf",
            (
                _p("cutoff_hz", 5000, 500, 20000, "Hz", "frequency"),
                _p("gain_db", 0, -24, 24, "dB"),
                _p("q", 0.707, 0.1, 4),
            ),
        ),
        EffectSpec(
            "peak",
            "Peak EQ",
            (
                _p("cutoff_hz", 1000, 20, 20000, "Hz", "frequency"),
                _p("gain_db", 0, -24, 24, "dB"),
                _p("q", 1.0, 0.1, 10),
            ),
        ),
        EffectSpec(
            "compressor",
            "Compressor",
            (
                _p("threshold_db", -18, -60, 0, "dB", "threshold"),
                _p("ratio", 3, 1, 20, ":1"),
                _p("attack_ms", 5, 0.1, 200, "ms", "attack"),
                _p("release_ms", 120, 5, 2000, "ms", "release"),
                _p("makeup_db", 0, -12, 24, "dB", "make-up"),
            ),
        ),
        EffectSpec(
            "noise_gate",
            "Noise gate",
            (
                _p("threshold_db", -50, -90, 0, "dB", "threshold"),
                _p("ratio", 10, 1, 100, ":1"),
                _p("attack_ms", 1, 0.1, 100, "ms", "attack"),
                _p("release_ms", 100, 5, 2000, "ms", "release"),
            ),
        ),
        EffectSpec(
            "limiter",
            "Limiter",
            (
                _p("threshold_db", -1, -30, 0, "dB", "threshold"),
                _p("release_ms", 100, 1, 1000, "ms", "release"),
            ),
        ),
        EffectSpec(
            "deesser",
            "De-esser",
            (
                _p("frequency_hz", 6000, 2000, 12000, "Hz", "frequency"),
                _p("threshold_db", -30, -60, 0, "dB", "threshold"),
                _p("ratio", 4, 1, 20, ":1"),
            ),
        ),
        EffectSpec(
            "reverb",
            "Reverb",
            (
                _p("room_size", 0.5, 0, 1, "", "room"),
                _p("damping", 0.5, 0, 1),
                _p("wet", 0.33, 0, 1),
                _p("dry", 0.4, 0, 1),
                _p("width", 1.0, 0, 1),
            ),
        ),
        EffectSpec(
            "delay",
            "Delay",
            (
                _p("delay_s", 0.25, 0.001, 2.0, "s", "time"),
                _p("feedback", 0.3, 0, 0.95),
                _p("mix", 0.3, 0, 1),
            ),
        ),
        EffectSpec("distortion", "Distortion", (_p("drive_db", 15, 0, 60, "dB", "drive"),)),
        EffectSpec(
            "chorus",
            "Chorus",
            (
                _p("rate_hz", 1.0, 0.01, 20, "Hz", "rate"),
                _p("depth", 0.25, 0, 1),
                _p("centre_delay_ms", 7, 1, 50, "ms", "delay"),
                _p("feedback", 0, -0.95, 0.95),
                _p("mix", 0.5, 0, 1),
            ),
        ),
        EffectSpec("bitcrush", "Bitcrush", (_p("bit_depth", 8, 1, 24, "bits", "bits"),)),
        EffectSpec("pitch_shift", "Pitch shift", (_p("semitones", 0, -12, 12, "st"),), voice_only=True),
        EffectSpec("gain", "Gain", (_p("gain_db", 0, -60, 24, "dB", "gain"),)),
    )
}


def effect(kind: str, **params: float) -> Effect:
    """A checked :class:`Effect`: unknown kinds/parameters and out-of-range values raise :class:`EditError`.

    Parameters not given take their defaults (stored explicitly, so a later change of a default does not
    change how a saved project sounds).
    """
    spec = spec_of(kind)
    values = {p.name: p.default for p in spec.params}
    for name, value in params.items():
        values[name] = check_value(spec.param(name), value)
    return Effect(kind=kind, params=tuple((p.name, float(values[p.name])) for p in spec.params))


def spec_of(kind: str) -> EffectSpec:
    spec = EFFECTS.get(kind)
    if spec is None:
        raise EditError(f"unknown effect {kind!r}; known effects: {', '.join(EFFECTS)}")
    return spec


def check_value(param: Param, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EditError(f"{param.name} must be a number, not {value!r}") from None
    if not math.isfinite(number) or not param.low <= number <= param.high:
        raise EditError(
            f"{param.name} must be between {param.low:g} and {param.high:g}{param.unit and ' ' + param.unit}, not {value}"
        )
    return number


def params_of(fx: Effect) -> dict[str, float]:
    """Every parameter of ``fx`` (defaults filled in for any the record lacks)."""
    spec = spec_of(fx.kind)
    values = {p.name: float(p.default) for p in spec.params}
    values.update({name: float(value) for name, value in fx.params if name in values})
    return values


def check_chain(chain: tuple[Effect, ...], *, on_track: bool) -> None:
    """Raise :class:`EditError` if any effect is unknown, out of range, or cannot stream on a track."""
    for fx in chain:
        spec = spec_of(fx.kind)
        for name, value in fx.params:
            check_value(spec.param(name), value)
        if on_track and spec.voice_only:
            raise EditError(
                f"{spec.label} works on a voice's chain (it needs the whole line), not on a track"
            )


def describe(fx: Effect) -> str:
    """``Compressor (threshold -18 dB, ratio 3:1 …)``, marked when bypassed."""
    spec = spec_of(fx.kind)
    values = params_of(fx)
    parts = ", ".join(
        f"{p.label} {values[p.name]:g}{(' ' + p.unit) if p.unit and p.unit != ':1' else p.unit if p.unit else ''}"
        for p in spec.params
    )
    return f"{spec.label} ({parts}){' [bypassed]' if fx.bypass else ''}"


# ---- tails --------------------------------------------------------------------------------------


def effect_tail(fx: Effect) -> float:
    """Seconds of sound ``fx`` adds after its input ends (to below about -90 dB); 0 when bypassed.

    Reverb (JUCE's Freeverb): each pass through its comb filters (≤ 36.5 ms) multiplies by
    ``0.7 + 0.28·room``, so the tail is 4.5 decades of that; the formula bounds the measured
    decay of an impulse (tests/unit/test_audio_effects.py).
    """
    if fx.bypass:
        return 0.0
    v = params_of(fx)
    if fx.kind == "reverb":
        feedback = 0.7 + 0.28 * v["room_size"]
        return min(MAX_TAIL_S, 4.5 * 0.0365 / -math.log10(feedback) + 0.1)
    if fx.kind == "delay":
        fb = v["feedback"]
        repeats = 1 if fb <= 1e-3 else 1 + math.ceil(-4.5 / math.log10(fb))
        return min(MAX_TAIL_S, v["delay_s"] * repeats + 0.01)
    if fx.kind == "chorus":
        return 0.06 + (0.5 if abs(v["feedback"]) > 0.5 else 0.0)
    if fx.kind in ("highpass", "lowpass", "low_shelf", "high_shelf", "peak", "deesser", "pitch_shift"):
        return 0.02
    return 0.0


def chain_tail(chain: tuple[Effect, ...]) -> float:
    """Seconds a chain rings on after its input ends (the tails of its effects add up)."""
    return min(MAX_TAIL_S, sum(effect_tail(fx) for fx in chain))


def active(chain: tuple[Effect, ...]) -> tuple[Effect, ...]:
    """The effects that are not bypassed."""
    return tuple(fx for fx in chain if not fx.bypass)


@dataclass(frozen=True)
class ClipTails:
    """How long each clip of a project rings on after its end: its voice's chain tail (the speaker of
    its line, else of its track) plus its track insert's tail — where the mixer lets it sound.

    Built once per project state (:meth:`of`); :meth:`tail` is a dictionary look-up per clip.
    """

    speaker: Mapping[str, float]
    track: Mapping[str, float]

    @classmethod
    def of(cls, project: Project) -> ClipTails:
        speaker = {sid: chain_tail(active(s.voice.effects)) for sid, s in project.speakers.items()}
        track = {tid: chain_tail(active(t.effects)) for tid, t in project.tracks.items()}
        return cls({k: v for k, v in speaker.items() if v > 0}, {k: v for k, v in track.items() if v > 0})

    @property
    def longest(self) -> float:
        """An upper bound of any clip's tail (to widen a search for clips whose tail is in view)."""
        return max(self.speaker.values(), default=0.0) + max(self.track.values(), default=0.0)

    def tail(self, project: Project, clip: Clip) -> float:
        if not self.speaker and not self.track:
            return 0.0
        line = project.lines.get(clip.line_id) if clip.line_id else None
        track = project.tracks.get(clip.track_id)
        speaker_id = line.speaker_id if line is not None and line.speaker_id else ""
        if not speaker_id and track is not None:
            speaker_id = track.speaker_id
        return min(MAX_TAIL_S * 2, self.speaker.get(speaker_id, 0.0) + self.track.get(clip.track_id, 0.0))

    def span(self, project: Project, clip: Clip) -> tuple[float, float] | None:
        """``(clip end, where its tail has died away)`` in seconds; None when it has no tail worth
        drawing (under 10 ms)."""
        tail = self.tail(project, clip)
        return (clip.end, clip.end + tail) if tail >= 0.01 else None


def end_with_tails(project: Project) -> float:
    """Where the project falls silent: the latest clip end plus its tail (what playback and the mix
    run to; :meth:`Project.duration` is the end of the last clip)."""
    tails = ClipTails.of(project)
    return max((c.end + tails.tail(project, c) for c in project.clips.values()), default=0.0)


# ---- presets ------------------------------------------------------------------------------------

PRESETS: dict[str, tuple[Effect, ...]] = {
    "phone": (
        effect("highpass", cutoff_hz=350),
        effect("lowpass", cutoff_hz=3200),
        effect("peak", cutoff_hz=1500, gain_db=6, q=1.2),
        effect("compressor", threshold_db=-26, ratio=6, attack_ms=2, release_ms=80, makeup_db=6),
        effect("distortion", drive_db=8),
        effect("bitcrush", bit_depth=10),
        effect("gain", gain_db=-6),
    ),
    "radio": (
        effect("highpass", cutoff_hz=180),
        effect("lowpass", cutoff_hz=5500),
        effect("peak", cutoff_hz=2500, gain_db=5, q=0.9),
        effect("compressor", threshold_db=-24, ratio=8, attack_ms=3, release_ms=150, makeup_db=8),
        effect("distortion", drive_db=4),
        effect("limiter", threshold_db=-3),
    ),
    "cave": (
        effect("low_shelf", cutoff_hz=250, gain_db=3),
        effect("delay", delay_s=0.32, feedback=0.25, mix=0.15),
        effect("reverb", room_size=0.92, damping=0.25, wet=0.45, dry=0.6, width=1.0),
    ),
    "stadium_pa": (
        effect("highpass", cutoff_hz=220),
        effect("lowpass", cutoff_hz=7000),
        effect("compressor", threshold_db=-22, ratio=5, attack_ms=5, release_ms=200, makeup_db=6),
        effect("distortion", drive_db=6),
        effect("delay", delay_s=0.19, feedback=0.35, mix=0.25),
        effect("reverb", room_size=0.85, damping=0.4, wet=0.35, dry=0.7, width=1.0),
        effect("gain", gain_db=-4),
    ),
    "whisper_room": (
        effect("highpass", cutoff_hz=120),
        effect("high_shelf", cutoff_hz=6000, gain_db=3),
        effect("compressor", threshold_db=-30, ratio=2.5, attack_ms=10, release_ms=200, makeup_db=3),
        effect("reverb", room_size=0.2, damping=0.7, wet=0.12, dry=0.8, width=0.6),
    ),
    "broadcast_voice": (
        effect("highpass", cutoff_hz=80),
        effect("low_shelf", cutoff_hz=150, gain_db=2),
        effect("peak", cutoff_hz=3000, gain_db=2.5, q=1.0),
        effect("deesser", frequency_hz=6500, threshold_db=-32, ratio=4),
        effect("compressor", threshold_db=-20, ratio=3, attack_ms=5, release_ms=120, makeup_db=4),
        effect("limiter", threshold_db=-1),
    ),
}

PRESET_LABELS: dict[str, str] = {
    "phone": "Phone",
    "radio": "Radio",
    "cave": "Cave",
    "stadium_pa": "Stadium PA",
    "whisper_room": "Whisper room",
    "broadcast_voice": "Broadcast voice",
}


def preset(name: str) -> tuple[Effect, ...]:
    """A preset chain by name (``"Stadium PA"`` and ``stadium_pa`` both work)."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in PRESETS:
        raise EditError(f"unknown preset {name!r}; presets: {', '.join(PRESET_LABELS.values())}")
    return PRESETS[key]


# ---- edits (each one undo step) -----------------------------------------------------------------


def chain_of(project: Project, target: str, target_id: str) -> tuple[Effect, ...]:
    """The chain of a ``"track"`` or ``"speaker"`` (its voice)."""
    if target == "track":
        track = project.tracks.get(target_id)
        if track is None:
            raise EditError(f"no track with id {target_id!r}")
        return track.effects
    if target == "speaker":
        speaker = project.speakers.get(target_id)
        if speaker is None:
            raise EditError(f"no speaker with id {target_id!r}")
        return speaker.voice.effects
    raise EditError(f"effects live on a track or a speaker, not a {target!r}")


def set_chain(
    project: Project, target: str, target_id: str, chain: tuple[Effect, ...], label: str = "Effects"
) -> Update:
    """Replace the chain of a track or a speaker's voice (checked first)."""
    chain_of(project, target, target_id)
    check_chain(chain, on_track=target == "track")
    if target == "track":
        return Update("track", target_id, (("effects", tuple(chain)),), label)
    voice = project.speakers[target_id].voice
    return Update("speaker", target_id, (("voice", dataclasses.replace(voice, effects=tuple(chain))),), label)


def _index(chain: tuple[Effect, ...], index: int) -> int:
    if not -len(chain) <= index < len(chain):
        raise EditError(
            f"no effect at position {index + 1 if index >= 0 else index} (the chain has {len(chain)})"
        )
    return index % len(chain)


Chain = tuple[Effect, ...]


def chain_added(chain: Chain, fx: Effect, index: int | None = None) -> tuple[Chain, str]:
    """``fx`` inserted at ``index`` (clamped; None appends)."""
    out = list(chain)
    out.insert(len(out) if index is None else max(0, min(index, len(out))), fx)
    return tuple(out), f"Add {spec_of(fx.kind).label}"


def chain_removed(chain: Chain, index: int) -> tuple[Chain, str]:
    out = list(chain)
    fx = out.pop(_index(chain, index))
    return tuple(out), f"Remove {spec_of(fx.kind).label}"


def chain_moved(chain: Chain, index: int, to: int) -> tuple[Chain, str]:
    out = list(chain)
    fx = out.pop(_index(chain, index))
    out.insert(max(0, min(to, len(out))), fx)
    return tuple(out), "Reorder effects"


def chain_bypassed(chain: Chain, index: int, bypass: bool) -> tuple[Chain, str]:
    out = list(chain)
    i = _index(chain, index)
    out[i] = dataclasses.replace(out[i], bypass=bypass)
    return tuple(out), "Bypass effect" if bypass else "Enable effect"


def chain_params(chain: Chain, index: int, values: Mapping[str, float]) -> tuple[Chain, str]:
    """The effect at ``index`` with ``values`` set (each checked against its range)."""
    out = list(chain)
    i = _index(chain, index)
    spec = spec_of(out[i].kind)
    merged = params_of(out[i])
    for name, value in values.items():
        merged[name] = check_value(spec.param(name), value)
    out[i] = dataclasses.replace(out[i], params=tuple((p.name, merged[p.name]) for p in spec.params))
    return tuple(out), f"{spec.label} settings"


def preset_chain(name: str) -> tuple[Chain, str]:
    """A preset's chain and its label; ``none`` (or ``clear``) is the empty chain."""
    if name.strip().casefold() in ("none", "clear"):
        return (), "Clear effects"
    return preset(name), f"Preset {PRESET_LABELS.get(name, name)}"


def add_effect(project: Project, target: str, target_id: str, fx: Effect, index: int | None = None) -> Update:
    return set_chain(project, target, target_id, *chain_added(chain_of(project, target, target_id), fx, index))


def remove_effect(project: Project, target: str, target_id: str, index: int) -> Update:
    return set_chain(project, target, target_id, *chain_removed(chain_of(project, target, target_id), index))


def move_effect(project: Project, target: str, target_id: str, index: int, to: int) -> Update:
    return set_chain(project, target, target_id, *chain_moved(chain_of(project, target, target_id), index, to))


def set_bypass(project: Project, target: str, target_id: str, index: int, bypass: bool) -> Update:
    chain = chain_of(project, target, target_id)
    return set_chain(project, target, target_id, *chain_bypassed(chain, index, bypass))


def set_param(
    project: Project, target: str, target_id: str, index: int, values: Mapping[str, float]
) -> Update:
    chain = chain_of(project, target, target_id)
    return set_chain(project, target, target_id, *chain_params(chain, index, values))


def use_preset(project: Project, target: str, target_id: str, name: str) -> Update:
    """Replace the chain with a preset."""
    return set_chain(project, target, target_id, preset(name), f"Preset {PRESET_LABELS.get(name, name)}")


def upgrade_variants(project: Project) -> Batch:
    """Move every Piper voice made with an older variant style to the latest (one undo step).

    Their lines' recipes change, so they show as stale and the next render makes them with the new
    variants; nothing changes until the user asks for this.
    """
    ops_: list[Update] = []
    for speaker in project.speakers.values():
        voice = speaker.voice
        if voice.kind == VoiceKind.PIPER and voice.variant_style < LATEST_VARIANT_STYLE:
            new = dataclasses.replace(voice, variant_style=LATEST_VARIANT_STYLE)
            ops_.append(Update("speaker", speaker.id, (("voice", new),), "New voice variants"))
    return Batch(tuple(ops_), "New voice variants")
