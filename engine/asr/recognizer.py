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
WINDOW_S = 28.0  # Whisper hears 30 s windows; short takes are packed into one, up to this long
GAP_S = 1.0  # silence between packed takes


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

    def transcribe_packed(
        self,
        paths: list[str],
        language: str = "en",
        cancelled: Callable[[], bool] = lambda: False,
    ) -> list[Transcript | BackendError]:
        """Transcribe several short files at once: Whisper pads every input to a 30 s window, so takes
        of a few seconds are laid end to end (``GAP_S`` of silence between them) into windows of up to
        ``WINDOW_S`` and each window is transcribed once; words go back to the take whose span holds
        their midpoint. Files that fail to read come back as their BackendError. Raises Cancelled."""
        self.load()
        from faster_whisper import decode_audio

        audios: list[Any] = []
        results: list[Transcript | BackendError] = []
        for path in paths:
            try:
                if not Path(path).is_file():
                    raise BackendError(f"no audio file at {path}")
                try:
                    audios.append(decode_audio(str(path), sampling_rate=SAMPLE_RATE))
                except Exception as exc:
                    raise BackendError(f"cannot read {Path(path).name} as audio: {exc}") from None
                results.append(Transcript("", (), language, 0.0, self.name))
            except BackendError as exc:
                audios.append(None)
                results.append(exc)
        import numpy as np

        gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
        limit = int(WINDOW_S * SAMPLE_RATE)
        windows: list[list[int]] = []
        size = 0
        for index, audio in enumerate(audios):
            if audio is None:
                continue
            if windows and size + len(audio) <= limit:
                windows[-1].append(index)
                size += len(audio) + len(gap)
            else:
                windows.append([index])
                size = len(audio) + len(gap)
        for window in windows:
            if cancelled():
                raise Cancelled()
            spans: list[tuple[int, float, float]] = []
            parts = []
            at = 0
            for index in window:
                parts += [audios[index], gap]
                spans.append((index, at / SAMPLE_RATE, (at + len(audios[index])) / SAMPLE_RATE))
                at += len(audios[index]) + len(gap)
            words = self._words(np.concatenate(parts), language, cancelled)
            for index, start, end in spans:
                mine = [w for w in words if start - GAP_S / 2 <= (w.start + w.end) / 2 < end + GAP_S / 2]
                local = tuple(
                    Word(
                        w.word,
                        round(max(0.0, w.start - start), 3),
                        round(max(0.0, w.end - start), 3),
                        w.probability,
                    )
                    for w in mine
                )
                text = " ".join(w.word for w in local)
                results[index] = Transcript(text, local, language, round(end - start, 4), self.name)
        return results

    def _words(self, audio: Any, language: str, cancelled: Callable[[], bool]) -> list[Word]:
        segments, _info = self._model.transcribe(
            audio,
            language=language or None,
            beam_size=1,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        words: list[Word] = []
        for segment in segments:
            if cancelled():
                raise Cancelled()
            words.extend(
                Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                for w in (segment.words or ())
                if w.word.strip()
            )
        return words

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
