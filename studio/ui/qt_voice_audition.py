"""Hearing voices from the bank: audition requests, a small engine runner for them, a clip player.

* :func:`audition_request` turns a bank voice and a test sentence into an :class:`AuditionRequest`
  (the engine's VoiceSpec + generation parameters). The Piper backend can only speak Piper voices,
  so for it the request uses the voice's preferred Piper voice/variant (its CPU draft).
* :class:`QtAuditioner` renders requests with its own engine process (started on demand through
  the same client factory as the render controller, stopped after a while idle) into a temporary
  folder and plays each result in turn — A then B for an A/B comparison.
* :class:`QtClipPlayer` plays one audio file through a sounddevice OutputStream (the reference
  clips in the bank panel, auditions). Without PortAudio or an output device it reports why and
  plays nothing; everything else still works.

Threads: the engine starts on a short-lived worker thread and a GUI QTimer polls it (as in
:mod:`studio.ui.qt_render_controller`). The player's PortAudio callback only copies slices of a
pre-loaded array into the output buffer and posts the position into a ``Queue(maxsize=1)``; it
never allocates audio buffers, does no I/O and emits no Qt signal; a GUI timer drains the queue.

Thread contract: everything public is GUI-thread only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from PySide6.QtCore import QObject, QTimer, Signal

from engine.protocol import GenerationParams, RenderJob, VoiceSpec
from studio.bank.embed import audition_spec
from studio.bank.records import BankError
from studio.bank.store import VoiceBank
from studio.core.model import new_id
from studio.ui.qt_playback import PlaybackUnavailable, StreamFactory, sounddevice_stream_factory
from studio.ui.qt_render_controller import ClientFactory, default_client_factory

DEFAULT_SENTENCE = "Hello! This is how I sound reading a line from your script."
MAX_SENTENCE = 500
PLAYER_BLOCK = 1024
PLAYER_TICK_MS = 30
AUDITION_POLL_MS = 50
ENGINE_IDLE_S = 120.0  # stop the audition engine after this long without work


@dataclass(frozen=True)
class AuditionRequest:
    """One sentence to speak in one bank voice. ``slot`` is "A"/"B" in an A/B comparison."""

    voice_id: str
    label: str  # the voice's name, for messages
    spec: VoiceSpec
    text: str
    params: GenerationParams = dataclasses.field(default_factory=GenerationParams)
    slot: str = ""


# An audition sink: the panel calls it with each request (default: a QtAuditioner's ``audition``).
Auditioner = Callable[[AuditionRequest], None]


def audition_request(
    bank: VoiceBank,
    voice_id: str,
    text: str,
    *,
    backend: str = "piper",
    defaults: Mapping[str, Any] | None = None,
    slot: str = "",
) -> AuditionRequest:
    """The request to speak ``text`` in ``voice_id`` with ``backend`` (raises BankError with a reason).

    Generation parameters: ``defaults`` (the project's backend options), overridden by the voice's own.
    """
    sentence = " ".join(text.split())
    if not sentence:
        raise BankError("type a sentence to audition the voice with")
    if len(sentence) > MAX_SENTENCE:
        raise BankError(f"the test sentence is {len(sentence)} characters; keep it under {MAX_SENTENCE}")
    voice = bank.get(voice_id)
    spec = audition_spec(bank, voice_id)
    if backend == "piper" and spec.kind != "piper":
        # Piper cannot clone or follow a profile: audition the voice's CPU draft instead.
        spec = dataclasses.replace(spec, kind="piper", ref_audio="", transcript="", profile="")
    known = set(GenerationParams.__dataclass_fields__)
    values: dict[str, Any] = {k: v for k, v in (defaults or {}).items() if k in known}
    values.update({k: v for k, v in voice.settings_dict().items() if k in known})
    try:
        params = GenerationParams(**values)
    except TypeError as exc:
        raise BankError(f"the voice's generation settings do not fit the engine: {exc}") from None
    return AuditionRequest(voice.id, voice.name, spec, sentence, params, slot)


def audition_job(request: AuditionRequest, out_dir: Path) -> RenderJob:
    """The render job for a request; the take will appear at ``out_dir/<job id>.wav``."""
    job_id = new_id("audition")
    return RenderJob(
        job_id=job_id,
        text=request.text,
        out_path=str(out_dir / f"{job_id}.wav"),
        speakers=(request.spec,),
        params=request.params,
    )


# ---- playing a file ------------------------------------------------------------------------------


class QtClipPlayer(QObject):
    """Plays one audio file (or a range of it) through an output stream; see the module docstring."""

    positionChanged = Signal(float)  # seconds into the file
    stateChanged = Signal(bool)  # playing
    error = Signal(str)

    def __init__(
        self,
        stream_factory: Callable[[], StreamFactory] = sounddevice_stream_factory,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        try:
            self._stream_cls: StreamFactory | None = stream_factory()
            self.reason = ""
        except PlaybackUnavailable as exc:
            self._stream_cls = None
            self.reason = str(exc)
        self.key = ""  # what is playing (the caller's name for it), "" when idle
        self._stream: Any = None
        self._data = np.zeros((0, 1), np.float32)
        self._rate = 24000
        self._pos = 0
        self._end = 0
        self._ended = False
        self._positions: queue.Queue[int] = queue.Queue(maxsize=1)
        self._timer = QTimer(self)
        self._timer.setInterval(PLAYER_TICK_MS)
        self._timer.timeout.connect(self._tick)

    @property
    def available(self) -> bool:
        return self._stream_cls is not None

    @property
    def playing(self) -> bool:
        return self._stream is not None

    def play(self, path: str | Path, key: str = "", start: float = 0.0, end: float | None = None) -> bool:
        """Play ``path`` from ``start`` to ``end`` seconds; False (and ``error``) if it cannot."""
        self.stop()
        if self._stream_cls is None:
            self.error.emit(self.reason)
            return False
        try:
            data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            self.error.emit(f"Cannot play {Path(path).name}: {exc}")
            return False
        self._data = np.ascontiguousarray(data)
        self._rate = int(rate)
        self._pos = max(0, min(len(data), int(start * rate)))
        self._end = len(data) if end is None else max(self._pos, min(len(data), int(end * rate)))
        self._ended = False
        with contextlib.suppress(queue.Empty):
            self._positions.get_nowait()
        try:
            stream = self._stream_cls(
                samplerate=self._rate,
                channels=self._data.shape[1],
                blocksize=PLAYER_BLOCK,
                dtype="float32",
                callback=self._callback,
            )
            stream.start()
        except Exception as exc:  # PortAudioError and friends: no traceback for the user
            self.error.emit(f"Cannot open the audio output: {exc}")
            return False
        self._stream = stream
        self.key = key
        self._timer.start()
        self.stateChanged.emit(True)
        return True

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        self._timer.stop()
        if stream is None:
            return
        with contextlib.suppress(Exception):
            stream.stop()
        with contextlib.suppress(Exception):
            stream.close()
        self.key = ""
        self.stateChanged.emit(False)

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio thread: copy the next slice of the pre-loaded clip; silence after its end."""
        pos = self._pos
        n = max(0, min(frames, self._end - pos))
        if n:
            outdata[:n] = self._data[pos : pos + n]
        if n < frames:
            outdata[n:].fill(0)
            self._ended = True
        self._pos = pos + n
        if not self._positions.full():
            with contextlib.suppress(queue.Full):
                self._positions.put_nowait(self._pos)

    def _tick(self) -> None:
        try:
            frame = self._positions.get_nowait()
        except queue.Empty:
            frame = None
        if frame is not None:
            self.positionChanged.emit(frame / self._rate)
        if self._ended:
            self.stop()


# ---- rendering auditions -------------------------------------------------------------------------


class QtAuditioner(QObject):
    """Renders :class:`AuditionRequest` s with its own engine and plays each result in order."""

    message = Signal(str)
    busyChanged = Signal(bool)
    rendered = Signal(object, str)  # the request, the take file

    def __init__(
        self,
        client_factory: ClientFactory = default_client_factory,
        player: QtClipPlayer | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.client_factory = client_factory
        self.player = player
        self.backend = "piper"
        self.options: dict[str, Any] = {}
        self.client: Any = None
        self._client_key: tuple[str, str] | None = None
        self._start: Future[tuple[Any, str]] | None = None
        self._waiting: list[RenderJob] = []  # jobs waiting for the engine to start
        self._requests: dict[str, AuditionRequest] = {}  # job id -> request, until final
        self._to_play: deque[tuple[AuditionRequest, str]] = deque()
        self._dir: Path | None = None
        self._idle_since = time.monotonic()
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setInterval(AUDITION_POLL_MS)
        self._timer.timeout.connect(self.poll)

    @property
    def busy(self) -> bool:
        return bool(self._requests) or bool(self._to_play) or bool(self.player and self.player.playing)

    def set_backend(self, backend: str, options: Mapping[str, Any] | None = None) -> None:
        """The backend (and its options) later auditions use: the open project's."""
        self.backend = backend or "piper"
        self.options = dict(options or {})

    def out_dir(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="chorus-audition-"))
        return self._dir

    def audition(self, request: AuditionRequest) -> None:
        """Render ``request`` (starting the engine if needed) and play it when it is ready."""
        if self._closed:
            return
        job = audition_job(request, self.out_dir())
        was_busy = self.busy
        self._requests[job.job_id] = request
        key = (self.backend, repr(sorted(self.options.items())))
        if self.client is not None and (self._client_key != key or not self.client.running):
            self._retire()
        if self.client is not None:
            try:
                self.client.submit([job])
            except Exception as exc:  # EngineNotRunning: start a fresh one
                self.message.emit(f"Restarting the audition engine: {exc}")
                self._retire()
        if self.client is None:
            self._waiting.append(job)
            if self._start is None:
                self._client_key = key
                self._start = Future()
                self.message.emit(f"Starting the {self.backend} engine to audition {request.label}…")
                threading.Thread(
                    target=_start_client,
                    args=(self.client_factory, self.backend, dict(self.options), self._start),
                    name="chorus-audition-start",
                    daemon=True,
                ).start()
        else:
            self.message.emit(f"Auditioning {request.label}…")
        self._timer.start()
        if not was_busy:
            self.busyChanged.emit(True)

    def poll(self) -> None:
        """GUI timer: engine start, engine events, then the next take to play."""
        was_busy = self.busy
        start = self._start
        if start is not None and start.done():
            self._start = None
            self._on_started(*start.result())
        client = self.client
        if client is not None:
            for event in client.poll(0):
                self._apply(event)
        if self.player is not None and not self.player.playing and self._to_play:
            request, path = self._to_play.popleft()
            tag = f"{request.slot}: " if request.slot else ""
            if self.player.play(path, key=f"audition:{request.voice_id}"):
                self.message.emit(f"Playing {tag}{request.label}")
            else:
                self.message.emit(f"{tag}{request.label} rendered to {path} ({self.player.reason})")
        if self.busy or self._start is not None:
            self._idle_since = time.monotonic()
        elif client is not None and time.monotonic() - self._idle_since > ENGINE_IDLE_S:
            self._retire()
        if not self.busy and self._start is None and self.client is None:
            self._timer.stop()
        if was_busy and not self.busy:
            self.busyChanged.emit(False)

    def _on_started(self, client: Any, error: str) -> None:
        jobs, self._waiting = self._waiting, []
        if self._closed:
            if client is not None:
                threading.Thread(target=client.shutdown, daemon=True).start()
            return
        if client is None:
            for job in jobs:
                self._requests.pop(job.job_id, None)
            self.message.emit(f"Cannot audition: the {self.backend} engine did not start: {error}")
            return
        self.client = client
        if jobs:
            try:
                client.submit(jobs)
            except Exception as exc:
                for job in jobs:
                    self._requests.pop(job.job_id, None)
                self.message.emit(f"Cannot audition: {exc}")

    def _apply(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "engine_gave_up":
            self.message.emit(f"The audition engine stopped: {event.get('reason', '')}")
            for job_id in list(self._requests):
                self._requests.pop(job_id)
            return
        job_id = str(event.get("job_id", ""))
        request = self._requests.get(job_id)
        if request is None:
            return
        if kind == "finished":
            self._requests.pop(job_id)
            path = str(event.get("path", ""))
            self.rendered.emit(request, path)
            if self.player is not None and self.player.available:
                self._to_play.append((request, path))
            else:
                reason = self.player.reason if self.player is not None else "no player"
                self.message.emit(f"{request.label}: rendered to {path}; cannot play it ({reason})")
        elif kind == "failed":
            self._requests.pop(job_id)
            self.message.emit(f"Audition of {request.label} failed: {event.get('reason', '')}")
        elif kind == "cancelled":
            self._requests.pop(job_id)

    def _retire(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            threading.Thread(target=client.shutdown, name="chorus-audition-stop", daemon=True).start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the engine and the player; delete the rendered auditions."""
        self._closed = True
        self._timer.stop()
        if self.player is not None:
            self.player.stop()
        self._requests.clear()
        self._to_play.clear()
        start, self._start = self._start, None
        if start is not None:
            start.add_done_callback(_shutdown_started)
        client, self.client = self.client, None
        if client is not None:
            if wait:
                with contextlib.suppress(Exception):
                    client.shutdown(timeout=5.0)
            else:
                threading.Thread(target=client.shutdown, daemon=True).start()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _start_client(
    factory: ClientFactory, backend: str, options: dict[str, Any], result: Future[tuple[Any, str]]
) -> None:
    """Worker thread: build and start a client (waits for its handshake); the GUI polls ``result``."""
    client = None
    try:
        client = factory(backend, options)
        client.start()
        error = ""
    except Exception as exc:
        error = str(exc) or type(exc).__name__
        if client is not None:
            with contextlib.suppress(Exception):
                client.shutdown(timeout=2.0)
        client = None
    result.set_result((client, error))


def _shutdown_started(future: Future[tuple[Any, str]]) -> None:
    client, _error = future.result()
    if client is not None:
        with contextlib.suppress(Exception):
            client.shutdown(timeout=2.0)
