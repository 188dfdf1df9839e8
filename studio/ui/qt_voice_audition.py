"""Hearing voices from the bank: audition requests, the auditioner, a clip player.

* :func:`audition_request` turns a bank voice and a test sentence into an :class:`AuditionRequest`
  (the engine's VoiceSpec + generation parameters). The Piper backend can only speak Piper voices,
  so for it the request uses the voice's preferred Piper voice/variant (its CPU draft).
* :class:`QtAuditioner` renders requests through the studio's one engine
  (:class:`~studio.render.shared_engine.SharedEngine`, shared with the render queue: a Higgs
  audition never loads the model a second time) on a *priority* lane — an audition asked for during
  a long render waits for at most the engine's window of render jobs, not the whole render — into a
  temporary folder, and plays each result in turn (A then B for an A/B comparison). On a streaming
  backend (``capabilities["streaming"]``) it starts playing from the first partial audio (``chunk``
  events into a :class:`~studio.render.partial_audio.PartialTake`) instead of waiting for the take.
  ``cancel`` cancels the auditions only, never the render.
* :class:`QtClipPlayer` plays one audio file, or a take still rendering, through an output stream
  (the reference clips in the bank panel, auditions). Without PortAudio or an output device it
  reports why and plays nothing; everything else still works.

Threads: the shared engine starts on a short-lived worker thread and a GUI QTimer polls the lane.
Chunks arrive on the engine client's reader thread and are only appended to a PartialTake there.
The player's PortAudio callback only copies slices of a pre-loaded array (or of the PartialTake)
into the output buffer and posts the position into a ``Queue(maxsize=1)``; it never allocates audio
buffers, does no I/O and emits no Qt signal; a GUI timer drains the queue.

Thread contract: everything public is GUI-thread only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Mapping
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
from studio.render.partial_audio import PartialTake
from studio.render.shared_engine import STOPPED, SharedEngine
from studio.ui.qt_playback import PlaybackUnavailable, StreamFactory, sounddevice_stream_factory
from studio.ui.qt_render_controller import ClientFactory, default_client_factory, shared_engine

DEFAULT_SENTENCE = "Hello! This is how I sound reading a line from your script."
MAX_SENTENCE = 500
PLAYER_BLOCK = 1024
PLAYER_TICK_MS = 30
AUDITION_POLL_MS = 50
IDLE_POLL_MS = 500  # nothing to hear: keep an eye on the engine (its idle stop), gently
PREROLL_S = 0.25  # partial audio buffered before a streamed audition starts playing


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
    """The render job for a request; the take will appear at ``out_dir/<job id>.wav``. It asks for
    partial audio (``stream``): a streaming backend sends it, the others ignore the flag."""
    job_id = new_id("audition")
    return RenderJob(
        job_id=job_id,
        text=request.text,
        out_path=str(out_dir / f"{job_id}.wav"),
        speakers=(request.spec,),
        params=request.params,
        stream=True,
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
        self.live: PartialTake | None = None  # the take being played while it renders
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
        return self._open(self._data.shape[1], self._callback, key)

    def play_live(self, take: PartialTake, key: str = "") -> bool:
        """Play ``take`` while it renders (mono, at its rate, from its start): silence while it waits for
        more, stop at its end. False (and ``error``) if it cannot."""
        self.stop()
        if self._stream_cls is None:
            self.error.emit(self.reason)
            return False
        if take.sample_rate <= 0:
            self.error.emit("Cannot play the audition yet: no audio has arrived")
            return False
        self.live = take
        self._rate = take.sample_rate
        self._pos = 0
        return self._open(1, self._live_callback, key)

    def _open(self, channels: int, callback: Callable[..., None], key: str) -> bool:
        self._ended = False
        with contextlib.suppress(queue.Empty):
            self._positions.get_nowait()
        try:
            assert self._stream_cls is not None
            stream = self._stream_cls(
                samplerate=self._rate,
                channels=channels,
                blocksize=PLAYER_BLOCK,
                dtype="float32",
                callback=callback,
            )
            stream.start()
        except Exception as exc:  # PortAudioError and friends: no traceback for the user
            self.live = None
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
        self.live = None
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

    def _live_callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio thread: copy what has arrived of the rendering take; silence while starved."""
        take = self.live
        if take is None:
            outdata.fill(0)
            return
        pos = self._pos
        n = take.read(pos, outdata)
        if n < frames:
            outdata[n:].fill(0)
        self._pos = pos + n
        if take.ended(self._pos):
            self._ended = True
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


@dataclass
class _Audition:
    """One request on its way: rendering (``live`` fills), rendered (``path``), or gone (``failed``)."""

    request: AuditionRequest
    job_id: str
    asked: float  # time.monotonic() when it was asked for
    live: PartialTake | None = None
    path: str = ""
    failed: bool = False
    playing: bool = False


class QtAuditioner(QObject):
    """Renders :class:`AuditionRequest` s through the shared engine and plays each in order."""

    message = Signal(str)
    busyChanged = Signal(bool)
    rendered = Signal(object, str)  # the request, the take file
    playing = Signal(object, float, bool)  # the request, seconds from asking to sound, streamed?

    def __init__(
        self,
        engine: SharedEngine | ClientFactory = default_client_factory,
        player: QtClipPlayer | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``engine``: the studio's SharedEngine, or a client factory for an engine of its own."""
        super().__init__(parent)
        self.engine, self._owns_engine = shared_engine(engine)
        self.lane = self.engine.lane("audition", priority=True)
        self.lane.set_chunk_listener(self._on_chunk)
        self.player = player
        self.backend = "piper"
        self.options: dict[str, Any] = {}
        self._auditions: dict[str, _Audition] = {}  # job id -> audition, until it has played
        self._order: deque[_Audition] = deque()  # what plays next, in the order asked
        self._live: dict[str, PartialTake] = {}  # job id -> its partial audio (read on the reader thread)
        self._dir: Path | None = None
        self._closed = False
        self.waits: list[tuple[float, bool]] = []  # (seconds from asking to sound, streamed) per audition
        self._timer = QTimer(self)
        self._timer.setInterval(AUDITION_POLL_MS)
        self._timer.timeout.connect(self.poll)

    @property
    def client(self) -> Any:
        """The shared engine's client (None while none runs)."""
        return self.engine.client

    @property
    def busy(self) -> bool:
        return bool(self._auditions) or bool(self.player and self.player.playing)

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
        item = _Audition(request, job.job_id, time.monotonic(), live=PartialTake())
        self._auditions[job.job_id] = item
        self._order.append(item)
        assert item.live is not None
        self._live[job.job_id] = item.live
        running = self.engine.client is not None
        self.lane.submit([job], self.backend, self.options)
        if running:
            self.message.emit(f"Auditioning {request.label}…")
        else:
            self.message.emit(f"Starting the {self.backend} engine to audition {request.label}…")
        self._timer.setInterval(AUDITION_POLL_MS)
        self._timer.start()
        if not was_busy:
            self.busyChanged.emit(True)

    def cancel(self) -> None:
        """Stop hearing: cancel the auditions still rendering (the render queue's jobs are untouched)
        and stop the one playing."""
        was_busy = self.busy
        self.lane.cancel()
        for event in self.lane.poll(0):
            self._apply(event)
        self._auditions.clear()
        self._order.clear()
        self._live.clear()
        if self.player is not None and self.player.key.startswith("audition:"):
            self.player.stop()
        if was_busy:
            self.message.emit("Audition stopped")
            self.busyChanged.emit(False)

    def _on_chunk(self, job_id: str, samples: np.ndarray, sample_rate: int) -> None:
        """Engine client reader thread: keep the partial audio (nothing else happens here)."""
        take = self._live.get(job_id)
        if take is not None:
            with contextlib.suppress(ValueError):
                take.append(samples, sample_rate)

    def poll(self) -> None:
        """GUI timer: engine events, then the next audition to play."""
        was_busy = self.busy
        for event in self.lane.poll(0):
            self._apply(event)
        self._play_next()
        if not self.busy:
            if self.engine.state == STOPPED:
                self._timer.stop()
            else:
                self._timer.setInterval(IDLE_POLL_MS)  # the engine's idle stop needs a pump
        if was_busy and not self.busy:
            self.busyChanged.emit(False)

    def _play_next(self) -> None:
        player = self.player
        while self._order and not (player is not None and player.playing):
            item = self._order[0]
            if item.failed:
                self._order.popleft()
                continue
            live = item.live
            streamed = (
                live is not None
                and not item.path
                and live.sample_rate > 0
                and (live.seconds() >= PREROLL_S or live.finished)
            )
            if not item.path and not streamed:
                return  # the next one in order is not ready: wait for it (A plays before B)
            self._order.popleft()
            if player is None or not player.available:
                if item.path:
                    reason = player.reason if player is not None else "no player"
                    self.message.emit(
                        f"{item.request.label}: rendered to {item.path}; cannot play it ({reason})"
                    )
                continue
            tag = f"{item.request.slot}: " if item.request.slot else ""
            key = f"audition:{item.request.voice_id}"
            ok = (
                player.play_live(live, key=key)
                if streamed and live is not None
                else player.play(item.path, key=key)
            )
            if ok:
                wait = time.monotonic() - item.asked
                item.playing = True
                self.waits.append((wait, streamed))
                self.playing.emit(item.request, wait, streamed)
                self.message.emit(f"Playing {tag}{item.request.label}")
            elif streamed:
                item.live = None  # play the take file when it comes instead
                self._order.appendleft(item)
                return
            else:
                self.message.emit(f"{tag}{item.request.label} rendered to {item.path} ({player.reason})")
            return

    def _apply(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "engine_gave_up":
            self.message.emit(f"The engine stopped: {event.get('reason', '')}")
            return
        if kind == "engine_failed":
            self.message.emit(f"Cannot audition: {event.get('reason', '')}")
            return
        if kind == "engine_restarted":
            for job_id in event.get("resubmitted", []):
                item = self._auditions.get(str(job_id))
                if item is not None:  # it renders again from its start: drop what was streamed
                    self._live.pop(item.job_id, None)
                    item.live = None  # and play its take file once it comes, still in its turn
                    if item.playing:
                        item.playing = False
                        if self.player is not None:
                            self.player.stop()
                        self._order.appendleft(item)
            return
        job_id = str(event.get("job_id", ""))
        item = self._auditions.get(job_id)
        if item is None:
            return
        request = item.request
        if kind == "finished":
            self._auditions.pop(job_id)
            self._live.pop(job_id, None)
            path = str(event.get("path", ""))
            item.path = "" if item.playing else path
            if item.live is not None:
                item.live.finish()
            self.rendered.emit(request, path)
            if item.playing:
                return
            if self.player is None or not self.player.available:
                reason = self.player.reason if self.player is not None else "no player"
                if item in self._order:
                    self._order.remove(item)
                self.message.emit(f"{request.label}: rendered to {path}; cannot play it ({reason})")
        elif kind in ("failed", "cancelled"):
            self._auditions.pop(job_id)
            self._live.pop(job_id, None)
            item.failed = True
            if item.live is not None:
                item.live.finish()
            if kind == "failed":
                self.message.emit(f"Audition of {request.label} failed: {event.get('reason', '')}")

    def shutdown(self, wait: bool = True) -> None:
        """Stop the auditions and the player (the shared engine stays, unless it is the auditioner's
        own); delete the rendered auditions."""
        self._closed = True
        self._timer.stop()
        if self.player is not None:
            self.player.stop()
        self.lane.close()
        self._auditions.clear()
        self._order.clear()
        self._live.clear()
        if self._owns_engine:
            self.engine.shutdown(wait=wait)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
