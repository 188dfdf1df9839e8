"""One Whisper model, loaded once, turning audio files into words with timings (faster-whisper).

Decoding (any format ffmpeg reads, resampled to 16 kHz mono) is faster-whisper's own
``decode_audio``. Transcription runs greedy (beam 1) without conditioning on earlier text and with
word timestamps: a take is short, and a checker must not "correct" what it hears from context.
Whisper's own voice-activity filter stays off, so silence and noise are reported as they are.

Thread contract: ``load`` and ``transcribe`` are called from one thread (the transcribe worker);
``cancelled`` is polled between segments.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.asr.models import BUNDLED, BUNDLED_NAME, english_only, resolve_model
from engine.backends.base import BackendError, Cancelled
from engine.higgs.loading import ProgressCallback

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Transcript:
    text: str
    words: tuple[Word, ...] = ()
    language: str = "en"
    duration: float = 0.0
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["words"] = [
            [w.word, round(w.start, 3), round(w.end, 3), round(w.probability, 3)] for w in self.words
        ]
        return data


@dataclass
class Recognizer:
    """faster-whisper on the CPU (int8) or a GPU. Options: ``model`` (see :mod:`engine.asr.models`),
    ``device`` (cpu | cuda | auto), ``compute_type`` (default int8 on CPU), ``threads`` (0 = up to 4
    cores), ``local_files_only``."""

    model: str = ""
    device: str = "cpu"
    compute_type: str = ""
    threads: int = 0
    local_files_only: bool = False
    _model: Any = field(default=None, repr=False)
    _english_only: bool = True

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def name(self) -> str:
        return BUNDLED_NAME if self.model.strip() in ("", BUNDLED) else self.model.strip()

    def load(self, progress: ProgressCallback | None = None) -> None:
        """Load the model once (download it first if it is a repo not yet in the cache)."""
        if self._model is not None:
            return
        folder = resolve_model(self.model, local_files_only=self.local_files_only, progress=progress)
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise BackendError(
                f"speech recognition is not installed (faster-whisper: {exc}); reinstall Chorus"
            ) from None
        device = self.device if self.device in ("cpu", "cuda") else "auto"
        compute = self.compute_type or ("int8" if device == "cpu" else "default")
        threads = self.threads or min(4, os.cpu_count() or 1)
        try:
            self._model = WhisperModel(str(folder), device=device, compute_type=compute, cpu_threads=threads)
        except (RuntimeError, ValueError, OSError) as exc:
            raise BackendError(
                f"the speech recognition model at {folder} could not be loaded: {exc}"
            ) from None
        self._english_only = english_only(self.model.strip(), folder)
        if progress:
            progress(1.0, f"speech recogniser {self.name} loaded")

    def transcribe(
        self,
        audio_path: str | os.PathLike[str],
        language: str = "",
        cancelled: Callable[[], bool] = lambda: False,
        progress: Callable[[float], None] = lambda fraction: None,
    ) -> Transcript:
        """Words of ``audio_path`` with start/end seconds. Raises BackendError / Cancelled."""
        self.load()
        path = Path(audio_path)
        if not path.is_file():
            raise BackendError(f"no audio file at {path}")
        from faster_whisper import decode_audio

        try:
            audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
        except Exception as exc:  # PyAV raises its own error types for unreadable files
            raise BackendError(f"cannot read {path.name} as audio: {exc}") from None
        duration = len(audio) / SAMPLE_RATE
        if self._english_only:
            if language not in ("", "en"):
                raise BackendError(
                    f"the speech recogniser {self.name} knows English only; this line is {language!r} — "
                    "set a multilingual Whisper model (e.g. small) in the settings"
                )
            language = "en"
        if duration < 0.05:
            return Transcript("", (), language or "en", duration, self.name)
        segments, info = self._model.transcribe(
            audio,
            language=language or None,
            beam_size=1,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        words: list[Word] = []
        texts: list[str] = []
        for segment in segments:  # a lazy generator: decoding happens here, segment by segment
            if cancelled():
                raise Cancelled()
            texts.append(segment.text)
            words.extend(
                Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                for w in (segment.words or ())
                if w.word.strip()
            )
            progress(min(1.0, float(segment.end) / max(duration, 1e-6)))
        text = " ".join(" ".join(texts).split())
        return Transcript(
            text, tuple(words), str(info.language or language or "en"), round(duration, 4), self.name
        )
