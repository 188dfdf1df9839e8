"""Playback: the shared mixer (:class:`studio.audio.mixer.Mixdown`, the same one export uses) played
through sounddevice, with a playhead and a loudness meter for the GUI.

Threads (python-sounddevice ``play_long_file.py`` / ``rec_gui.py``; STYLE.md #20–21):

* the GUI thread calls :meth:`play`/:meth:`pause`/:meth:`stop`/:meth:`seek`; after every edit it hands
  the feeder a new project snapshot (an attribute swap, no lock);
* the *feeder* thread owns the Mixdown: it renders fixed-size blocks ahead into a bounded deque
  (resampled to the device's rate by a :class:`~studio.audio.device_streams.RateAdapter` when the
  device cannot play the project rate), measures loudness, and starts the stream once the deque is
  pre-filled. The decoded sources (:class:`~studio.audio.sources.SourceCache`) outlive a feeder: a
  seek starts a new feeder on the same cache, so nothing is decoded again (only one feeder runs at a
  time; a feeder that does not stop in time takes the cache with it);
* the PortAudio *callback* pops one pre-rendered block (``deque.popleft`` is atomic), copies it into
  the output buffer and posts the block's source frame into a ``Queue(maxsize=1)`` — no mixing, no
  I/O, no allocation of audio buffers, no Qt signals; an empty deque plays silence, counts an underrun;
* a GUI ``QTimer`` drains the position queue and the meter readings and emits Qt signals; the
  playhead is the frame written minus the stream's output latency
  (:func:`studio.audio.device_streams.heard_frame`), so it shows what is heard, not what is queued.

Streams come from :class:`studio.audio.device_streams.DeviceStreams` (device choice, rate
negotiation, latency, clear errors). Without PortAudio or an output device,
:attr:`QtPlayback.available` is False and :attr:`QtPlayback.reason` says why; the studio still works.

Thread contract: public methods and signals are GUI-thread only; see above for the other threads.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from studio.audio.device_streams import (
    AudioDeviceError,
    DeviceStreams,
    RateAdapter,
    StreamOpener,
    StreamPlan,
    heard_frame,
)
from studio.core.effects import end_with_tails
from studio.core.project import Project

BLOCK_FRAMES = 1024
QUEUE_BLOCKS = 12  # ≈ 0.25 s ahead at 48 kHz
GUI_TICK_MS = 30
END_GRACE_S = 0.3  # keep playing this long past the last clip (and its effect tails) before stopping


# No audio output (PortAudio missing, no device …): the layer's error, under the name players catch.
PlaybackUnavailable = AudioDeviceError

# Called like ``sounddevice.OutputStream(samplerate=, channels=, blocksize=, dtype=, callback=)``; the
# result has start(), stop(), close() and calls ``callback(outdata, frames, time, status)``.
StreamFactory = StreamOpener
MixerFactory = Callable[[Project, Callable[[str], Path], Any], Any]


def sounddevice_stream_factory() -> StreamFactory:
    """An opener on the system default output (see :meth:`DeviceStreams.output_stream_class`), or
    PlaybackUnavailable saying why there is no audio output. Kept for the clip players; new code
    takes a :class:`DeviceStreams`."""
    return DeviceStreams().output_stream_class()


def default_mixer_factory(project: Project, resolve: Callable[[str], Path], sources: Any) -> Any:
    from studio.audio.mixer import Mixdown

    return Mixdown(project, resolve, sources=sources, on_missing="silence")


def default_source_cache(resolve: Callable[[str], Path], sample_rate: int) -> Any:
    from studio.audio.sources import SourceCache

    return SourceCache(resolve, sample_rate)


@dataclass(frozen=True)
class MeterReading:
    frame: int  # first frame after the measured block
    momentary: float  # LUFS over the last 400 ms
    short_term: float  # LUFS over the last 3 s
    integrated: float  # gated LUFS since play started
    peak_db: float  # sample peak of the block


class QtPlayback(QObject):
    positionChanged = Signal(float)  # seconds
    stateChanged = Signal(bool)  # playing
    meterChanged = Signal(object)  # MeterReading
    error = Signal(str)
    notice = Signal(str)  # not an error: e.g. "the chosen output is gone; playing on the default"

    def __init__(
        self,
        resolve: Callable[[str], Path],
        *,
        streams: DeviceStreams | None = None,
        mixer_factory: MixerFactory = default_mixer_factory,
        block_frames: int = BLOCK_FRAMES,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._resolve = resolve
        self._mixer_factory = mixer_factory
        self.block_frames = block_frames
        self.streams = streams if streams is not None else DeviceStreams()
        self.reason = self.streams.reason
        self.plan: StreamPlan | None = None  # the device and rate of the last play
        self.latency = 0.0  # output latency of the open stream, seconds
        self._noticed = ""
        self._sources: Any = None  # the SourceCache that outlives feeders (see the module docstring)
        self._sources_rate = 0
        self.position = 0.0
        self.loop_range: tuple[float, float] | None = None
        self.loop = False
        self.underruns = 0
        self._project: Project | None = None
        self._sample_rate = 48000
        self._channels = 2
        self._playing = False
        self._play_start = 0.0
        self._play_frame = 0
        self._blocks: deque[tuple[int, np.ndarray]] = deque()
        self._pos_queue: queue.Queue[int] = queue.Queue(maxsize=1)
        self._meters: deque[MeterReading] = deque(maxlen=256)
        self._snapshot: Project | None = None  # swapped in by the GUI, taken by the feeder
        self._feeder: threading.Thread | None = None
        self._stop = threading.Event()
        self._stream: Any = None
        self._failure = ""
        self._ended = False
        self._duration = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(GUI_TICK_MS)
        self._timer.timeout.connect(self._tick)

    # ---- state ---------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return not self.reason

    def set_streams(self, streams: DeviceStreams) -> None:
        """Play through ``streams`` from the next play on (e.g. another output device was chosen)."""
        playing = self._playing
        self._halt()
        self.streams = streams
        self.reason = streams.reason
        self._noticed = ""
        if playing:
            self.play()

    @property
    def playing(self) -> bool:
        return self._playing

    def set_project(self, snapshot: Project) -> None:
        """A detached project copy to play from now on (call after every edit)."""
        self._project = snapshot
        self._sample_rate = snapshot.settings.sample_rate
        self._channels = snapshot.settings.channels
        self._duration = end_with_tails(snapshot)
        if self._playing:
            self._snapshot = snapshot  # the feeder builds a new mixer at its next block

    # ---- transport -----------------------------------------------------------------------
    def toggle(self) -> bool:
        return self.pause() if self._playing else self.play()

    def play(self) -> bool:
        if self._playing:
            return True
        if self.reason:
            self.error.emit(self.reason)
            return False
        if self._project is None:
            return False
        try:
            self.plan = self.streams.plan_output(self._sample_rate, self._channels)
        except AudioDeviceError as exc:
            self.error.emit(str(exc))
            return False
        if self.plan.message and self.plan.message != self._noticed:
            self._noticed = self.plan.message
            self.notice.emit(self.plan.message)
        start = self.position
        if self.loop and self.loop_range and not self.loop_range[0] <= start < self.loop_range[1]:
            start = self.loop_range[0]
        self._play_start = start
        self._start_feeder(start)
        self._playing = True
        self._timer.start()
        self.stateChanged.emit(True)
        return True

    def pause(self) -> bool:
        if not self._playing:
            return False
        self._halt()
        self.stateChanged.emit(False)
        return True

    def stop(self) -> None:
        """Stop and return the playhead to where playback started."""
        was = self._playing
        self._halt()
        self.seek(self._play_start)
        if was:
            self.stateChanged.emit(False)

    def seek(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if self._playing:
            self._halt()
            self.position = seconds
            self.play()
        else:
            self.position = seconds
        self.positionChanged.emit(seconds)

    def set_loop(self, enabled: bool, loop_range: tuple[float, float] | None = None) -> None:
        self.loop = enabled
        if loop_range is not None or not enabled:
            self.loop_range = loop_range
        if self._playing:  # restart so the feeder picks the new range
            self.seek(self.position)

    def close(self) -> None:
        self._halt()
        sources, self._sources = self._sources, None
        if sources is not None:
            with contextlib.suppress(Exception):
                sources.close()

    # ---- rendering (the path the feeder runs; tests call it directly) ----------------------
    def render_block(self, mixer: Any, start_frame: int, frames: int) -> np.ndarray:
        """``frames`` of the mix from ``start_frame``: float32 ``(frames, channels)``, C-contiguous."""
        block = np.asarray(mixer.render(start_frame, frames), dtype=np.float32)
        if block.shape[0] != frames and block.shape[-1] == frames:
            block = block.T
        out = np.zeros((frames, self._channels), np.float32)
        n = min(frames, block.shape[0])
        out[:n, : min(self._channels, block.shape[1])] = block[:n, : self._channels]
        return out

    def make_mixer(self, snapshot: Project, sources: Any = None) -> Any:
        return self._mixer_factory(snapshot, self._resolve, sources)

    # ---- threads -------------------------------------------------------------------------
    def _start_feeder(self, start: float) -> None:
        assert self._project is not None
        self._stop.clear()
        self._blocks.clear()
        self._meters.clear()
        with contextlib.suppress(queue.Empty):
            self._pos_queue.get_nowait()
        self._failure = ""
        self._ended = False
        self._snapshot = None
        project = self._project
        self._play_frame = int(round(start * self._sample_rate))
        self._feeder = threading.Thread(
            target=self._feed,
            args=(project, self._play_frame),
            name="chorus-playback",
            daemon=True,
        )
        self._feeder.start()

    def _halt(self) -> None:
        self._stop.set()
        feeder, self._feeder = self._feeder, None
        if feeder is not None:
            feeder.join(2.0)
            if feeder.is_alive():  # still decoding: it keeps its cache; the next feeder makes a new one
                self._sources = None
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.stop()
            with contextlib.suppress(Exception):
                stream.close()
        self._drain_position()
        self._blocks.clear()
        self._playing = False
        self._timer.stop()

    def _feed(self, project: Project, frame: int) -> None:
        """Feeder thread: mix ahead into the deque; start the stream once it is pre-filled."""
        rate, channels, n = self._sample_rate, self._channels, self.block_frames
        plan = self.plan
        adapter = None
        if plan is not None and plan.resamples:
            adapter = RateAdapter(rate, plan.rate, channels, n)
        sources = self._sources
        if sources is None or self._sources_rate != rate:
            if sources is not None:
                with contextlib.suppress(Exception):
                    sources.close()
            try:
                sources = default_source_cache(self._resolve, rate)
            except Exception:
                sources = None
            self._sources, self._sources_rate = sources, rate
        try:
            mixer = self.make_mixer(project, sources)
            from studio.audio.loudness import LiveLoudness  # scipy: imported here, off the GUI thread

            meter = LiveLoudness(rate, channels)
            loop = self.loop_range if self.loop and self.loop_range else None
            end_frame = int((max(end_with_tails(project), frame / rate) + END_GRACE_S) * rate)
            while not self._stop.is_set():
                fresh = self._snapshot
                if fresh is not None:
                    self._snapshot = None
                    mixer.close()  # with a shared source cache this keeps the decoded media
                    mixer = self.make_mixer(fresh, sources)
                    end_frame = int((max(end_with_tails(fresh), frame / rate) + END_GRACE_S) * rate)
                if len(self._blocks) >= QUEUE_BLOCKS:
                    if self._stream is None:
                        self._open_stream()
                    self._stop.wait(n / rate / 2)
                    continue
                if loop is not None and frame >= int(loop[1] * rate):
                    frame = int(loop[0] * rate)
                    if adapter is not None:
                        adapter.reset(frame)
                elif loop is None and frame >= end_frame:
                    if self._stream is None:
                        self._open_stream()
                    self._blocks.append((-1, np.zeros((n, channels), np.float32)))  # end marker
                    return
                block = self.render_block(mixer, frame, n)
                m, s, i = meter.add(block)
                peak = float(np.abs(block).max()) if block.size else 0.0
                self._meters.append(
                    MeterReading(frame + n, m, s, i, 20 * math.log10(peak) if peak > 0 else -math.inf)
                )
                if adapter is None:
                    self._blocks.append((frame, block))
                else:
                    self._blocks.extend(adapter.push(block, frame))
                frame += n
        except Exception as exc:  # a feeder failure stops playback with a message, never a hang
            self._failure = f"Playback stopped: {exc}"

    def _open_stream(self) -> None:
        assert self.plan is not None
        try:
            stream = self.streams.open_output(self.plan, self.block_frames, self._callback)
            stream.start()
            self.latency = stream.latency
            self._stream = stream
        except AudioDeviceError as exc:
            self._failure = str(exc)
            self._stop.set()
        except Exception as exc:
            self._failure = f"Cannot open the audio output: {exc}"
            self._stop.set()

    def _callback(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        """PortAudio thread: copy one pre-rendered block; never mix, lock on audio data or allocate it."""
        try:
            start, block = self._blocks.popleft()
        except IndexError:
            outdata.fill(0)
            self.underruns += 1
            return
        outdata[:] = block
        if start < 0:
            self._ended = True  # the end marker: a plain attribute write, read by the GUI timer
            return
        if not self._pos_queue.full():
            with contextlib.suppress(queue.Full):
                self._pos_queue.put_nowait(start)

    # ---- GUI side ------------------------------------------------------------------------
    def _drain_position(self) -> int | None:
        try:
            return self._pos_queue.get_nowait()
        except queue.Empty:
            return None

    def _tick(self) -> None:
        if self._failure:
            message, self._failure = self._failure, ""
            self._halt()
            self.stateChanged.emit(False)
            self.error.emit(message)
            return
        frame = self._drain_position()
        if self._ended:  # the end marker was played
            self._halt()
            self.stateChanged.emit(False)
            return
        if frame is None:
            return
        frame = heard_frame(frame, self.latency, self._sample_rate, self._play_frame)
        self.position = frame / self._sample_rate
        self.positionChanged.emit(self.position)
        reading = None
        while self._meters and self._meters[0].frame <= frame:
            reading = self._meters.popleft()
        if reading is not None:
            self.meterChanged.emit(reading)
