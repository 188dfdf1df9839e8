"""Record a reference clip from the microphone: count-in (3-2-1), level meter, then into the bank.

Threads (python-sounddevice ``rec_gui.py``; STYLE.md #20–21):

* the PortAudio *callback* copies each block into a buffer allocated before the stream starts,
  keeps the block's peak and posts the loudest peak since the last post into a ``Queue(maxsize=1)``.
  It allocates no audio buffers, takes no locks, does no I/O and makes no Qt call;
* a GUI ``QTimer`` drains that queue for the level meter and reads the recorded length;
* :func:`studio.bank.clips.prepare_samples` (trim, 24 kHz, loudness) runs on a worker thread
  (:class:`~studio.ui.qt_bank_jobs.QtJobRunner`); the clip is stored with
  :meth:`~studio.bank.store.VoiceBank.add_clip` on the GUI thread.

The input stream comes from an injectable factory (tests pass a fake one); the default opens it
through :class:`studio.audio.device_streams.DeviceStreams`, which picks the input device and, when
the microphone cannot record at 48 kHz, opens it at its own rate — the recorder then records at
the rate the opened stream reports (``samplerate``) and the clip is resampled when it is prepared.
Without PortAudio or an input device, :attr:`QtRecorder.available` is False,
:attr:`QtRecorder.reason` says why, and the dialog shows that and disables Record; the rest of the
studio is unaffected.

Thread contract: public methods and signals are GUI-thread only; the callback is described above.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import queue
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QObject, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.audio.device_streams import AudioDeviceError, AudioUnavailable, DeviceStreams
from studio.bank.clips import LONG_SECONDS, SHORT_SECONDS, PreparedClip, prepare_samples
from studio.bank.records import BankError
from studio.bank.store import VoiceBank
from studio.ui import qt_theme
from studio.ui.qt_bank_jobs import QtJobRunner, describe_failure

RECORD_RATE = 48000
RECORD_BLOCK = 1024
MAX_RECORD_SECONDS = 60.0
COUNT_IN = 3
COUNT_IN_MS = 1000
METER_TICK_MS = 30
METER_FLOOR_DB = -60.0
METER_FALL_DB = 1.5  # per tick, when no louder block arrived
SUGGESTED_TEXT = (
    "The old lighthouse keeper climbed the stairs each evening, counting every step. "
    "Tonight the sea was calm, and far away a ship's bell rang twice."
)

IDLE, COUNTING, RECORDING, PROCESSING = "idle", "counting", "recording", "processing"

# A sounddevice.InputStream-like class: InputStream(samplerate=, channels=, blocksize=, dtype=,
# callback=) with start(), stop(), close(); it calls ``callback(indata, frames, time, status)``.
InputStreamFactory = Callable[..., Any]


# No audio input (PortAudio missing, no microphone): the layer's error, under the recorder's name.
RecorderUnavailable = AudioDeviceError
FILES_HINT = "you can still add clips from audio files"


def sounddevice_input_factory(streams: DeviceStreams | None = None) -> InputStreamFactory:
    """An opener on the chosen microphone (:meth:`DeviceStreams.input_stream_class`), or
    RecorderUnavailable saying why there is none."""
    try:
        return (streams or DeviceStreams()).input_stream_class()
    except AudioUnavailable as exc:
        raise RecorderUnavailable(f"Recording is not available: {exc} — {FILES_HINT}.") from None
    except AudioDeviceError as exc:
        raise RecorderUnavailable(
            f"No microphone: {exc} Connect one and reopen this window, or add clips from audio files."
        ) from None


def to_db(peak: float) -> float:
    return max(METER_FLOOR_DB, 20.0 * math.log10(peak)) if peak > 0 else METER_FLOOR_DB


class QtRecorder(QObject):
    """Microphone capture with a count-in, a level and a length; see the module docstring."""

    stateChanged = Signal(str)  # idle | counting | recording | processing
    countdown = Signal(int)  # 3, 2, 1 … then 0 when recording starts
    levelChanged = Signal(float)  # dBFS peak, METER_FLOOR_DB … 0
    elapsedChanged = Signal(float)  # seconds recorded
    failed = Signal(str)
    recorded = Signal(object)  # a PreparedClip

    def __init__(
        self,
        stream_factory: Callable[[], InputStreamFactory] = sounddevice_input_factory,
        *,
        jobs: QtJobRunner | None = None,
        count_in: int = COUNT_IN,
        count_in_ms: int = COUNT_IN_MS,
        sample_rate: int = RECORD_RATE,
        max_seconds: float = MAX_RECORD_SECONDS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        try:
            self._stream_cls: InputStreamFactory | None = stream_factory()
            self.reason = ""
        except RecorderUnavailable as exc:
            self._stream_cls = None
            self.reason = str(exc)
        self._own_jobs = jobs is None
        self.jobs = jobs or QtJobRunner(parent=self)
        self.count_in = max(0, count_in)
        self.sample_rate = sample_rate  # the rate of the stream now open (see start)
        self.wanted_rate = sample_rate
        self.max_seconds = max_seconds
        self.state = IDLE
        self.level_db = METER_FLOOR_DB
        self.overflows = 0
        self.transcript = ""
        self._capacity = int(max_seconds * sample_rate)
        self._buffer = np.zeros(0, np.float32)
        self._frames = 0
        self._armed = False  # written by the GUI thread, read by the callback
        self._full = False  # written by the callback, read by the GUI timer
        self._hold = 0.0  # callback only
        self._levels: queue.Queue[float] = queue.Queue(maxsize=1)
        self._stream: Any = None
        self._closed = False
        self._count = 0
        self._count_timer = QTimer(self)
        self._count_timer.setInterval(max(1, count_in_ms))
        self._count_timer.timeout.connect(self._count_step)
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(METER_TICK_MS)
        self._meter_timer.timeout.connect(self._tick)

    @property
    def available(self) -> bool:
        return self._stream_cls is not None

    @property
    def seconds(self) -> float:
        return self._frames / self.sample_rate

    # ---- control ---------------------------------------------------------------------------
    def start(self) -> bool:
        """Open the microphone (the meter runs during the count-in), count in, then record."""
        if self.state != IDLE:
            return False
        if self._stream_cls is None:
            self.failed.emit(self.reason)
            return False
        self._frames = 0
        self._armed = False
        self._full = False
        self._hold = 0.0
        self.overflows = 0
        with contextlib.suppress(queue.Empty):
            self._levels.get_nowait()
        stream = None
        try:
            stream = self._stream_cls(
                samplerate=self.wanted_rate,
                channels=1,
                blocksize=RECORD_BLOCK,
                dtype="float32",
                callback=self._callback,
            )
            # the microphone may run at its own rate (the layer says so in ``samplerate``)
            self.sample_rate = int(getattr(stream, "samplerate", None) or self.wanted_rate)
            self._capacity = int(self.max_seconds * self.sample_rate)
            if self._buffer.size != self._capacity:  # before start: the callback never allocates
                self._buffer = np.zeros(self._capacity, np.float32)
            stream.start()
        except Exception as exc:  # busy, unsupported rate …: the layer's message says which
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()
            if isinstance(exc, AudioDeviceError):
                self.failed.emit(str(exc))
            else:  # PortAudioError from a stream class not opened through the layer
                self.failed.emit(f"Cannot open the microphone: {exc}")
            return False
        self._stream = stream
        self._meter_timer.start()
        self.elapsedChanged.emit(0.0)
        if self.count_in:
            self._count = self.count_in
            self._set_state(COUNTING)
            self.countdown.emit(self._count)
            self._count_timer.start()
        else:
            self._begin()
        return True

    def stop(self) -> None:
        """During the count-in: cancel. While recording: stop and prepare the clip (on a worker)."""
        if self.state == COUNTING:
            self.cancel()
            return
        if self.state != RECORDING:
            return
        self._armed = False
        self._close_stream()
        samples = self._buffer[: self._frames].copy()
        self._set_state(PROCESSING)
        name = f"recording-{datetime.now():%Y%m%d-%H%M%S}.wav"
        self.jobs.submit(
            _prepare,
            samples,
            self.sample_rate,
            self.transcript,
            name,
            done=self._prepared,
            failed=self._not_prepared,
            label="Preparing the recording",
        )

    def cancel(self) -> None:
        """Stop without keeping anything."""
        self._count_timer.stop()
        self._armed = False
        self._close_stream()
        if self.state in (COUNTING, RECORDING):
            self._set_state(IDLE)

    def close(self) -> None:
        self._closed = True
        self.cancel()
        if self._own_jobs:
            self.jobs.shutdown(wait=True)

    # ---- internals -------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)

    def _count_step(self) -> None:
        self._count -= 1
        if self._count > 0:
            self.countdown.emit(self._count)
            return
        self._count_timer.stop()
        self._begin()

    def _begin(self) -> None:
        self._frames = 0
        self._armed = True
        self._set_state(RECORDING)
        self.countdown.emit(0)

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        self._meter_timer.stop()
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.stop()
            with contextlib.suppress(Exception):
                stream.close()
        self.level_db = METER_FLOOR_DB
        self.levelChanged.emit(METER_FLOOR_DB)

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio thread: copy the block into the pre-allocated buffer; post the peak level."""
        if status:
            self.overflows += 1
        hi = float(indata.max())
        lo = float(indata.min())
        peak = hi if hi > -lo else -lo
        if peak > self._hold:
            self._hold = peak
        if not self._levels.full():
            with contextlib.suppress(queue.Full):
                self._levels.put_nowait(self._hold)
                self._hold = 0.0
        if not self._armed:
            return
        pos = self._frames
        n = min(frames, self._capacity - pos)
        if n > 0:
            self._buffer[pos : pos + n] = indata[:n, 0]
            self._frames = pos + n
        if n < frames:
            self._full = True

    def _tick(self) -> None:
        """GUI timer: meter and length; stop at the longest allowed recording."""
        try:
            peak = self._levels.get_nowait()
        except queue.Empty:
            peak = None
        level = to_db(peak) if peak is not None else METER_FLOOR_DB
        self.level_db = max(level, self.level_db - METER_FALL_DB)
        self.levelChanged.emit(self.level_db)
        if self.state == RECORDING:
            self.elapsedChanged.emit(self.seconds)
            if self._full:
                self.stop()

    def _prepared(self, prepared: PreparedClip) -> None:
        if self._closed or not shiboken6.isValid(self):
            return  # the dialog was closed while the clip was prepared: nobody wants it
        self._set_state(IDLE)
        self.recorded.emit(prepared)

    def _not_prepared(self, exc: BaseException) -> None:
        if self._closed or not shiboken6.isValid(self):
            return
        self._set_state(IDLE)
        self.failed.emit(f"The recording cannot be used: {describe_failure('Preparing it', exc)}")


def _prepare(samples: np.ndarray, rate: int, transcript: str, name: str) -> PreparedClip:
    """Worker thread: the recording as a bank clip (trimmed, 24 kHz, normalised)."""
    if samples.size == 0:
        raise BankError("nothing was recorded")
    return prepare_samples(samples, rate, transcript=transcript, name=name)


class QtLevelMeter(QWidget):
    """A horizontal peak meter, METER_FLOOR_DB … 0 dBFS, green / yellow (−12) / red (−3)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value = METER_FLOOR_DB
        self.peak = METER_FLOOR_DB
        self.setMinimumHeight(14)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Input level (peak, dBFS). Aim for the loud parts around −12 dBFS, never red.")

    def sizeHint(self) -> QSize:
        return QSize(240, 16)

    def set_level(self, db: float) -> None:
        self.value = db
        self.peak = max(db, self.peak - 0.5)
        self.update()

    def _x(self, db: float, width: float) -> float:
        return width * (min(0.0, max(METER_FLOOR_DB, db)) - METER_FLOOR_DB) / -METER_FLOOR_DB

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        rect = QRectF(self.rect())
        p.fillRect(rect, QColor(qt_theme.BASE))
        w = rect.width()
        for lo, hi, colour in (
            (METER_FLOOR_DB, -12.0, qt_theme.METER_GREEN),
            (-12.0, -3.0, qt_theme.METER_YELLOW),
            (-3.0, 0.0, qt_theme.METER_RED),
        ):
            if self.value <= lo:
                break
            x0, x1 = self._x(lo, w), self._x(min(hi, self.value), w)
            p.fillRect(QRectF(x0, 1, x1 - x0, rect.height() - 2), QColor(colour))
        p.setPen(QColor(qt_theme.BORDER))
        for db in (-48, -36, -24, -12, -6, -3):
            x = self._x(db, w)
            p.drawLine(int(x), int(rect.bottom()) - 3, int(x), int(rect.bottom()))
        if self.peak > METER_FLOOR_DB:
            p.setPen(QColor(qt_theme.TEXT))
            x = self._x(self.peak, w)
            p.drawLine(int(x), 0, int(x), int(rect.bottom()))
        p.end()


class QtVoiceRecorderDialog(QDialog):
    """Record a reference clip for one bank voice and add it (see the module docstring)."""

    clipAdded = Signal(object)  # the BankVoice with its new clip

    def __init__(
        self,
        bank: VoiceBank,
        voice_id: str,
        stream_factory: Callable[[], InputStreamFactory] = sounddevice_input_factory,
        *,
        jobs: QtJobRunner | None = None,
        count_in_ms: int = COUNT_IN_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.bank = bank
        self.voice_id = voice_id
        voice = bank.get(voice_id)
        self.setWindowTitle(f"Record a reference clip — {voice.name}")
        self.setMinimumWidth(460)
        self.recorder = QtRecorder(stream_factory, jobs=jobs, count_in_ms=count_in_ms, parent=self)
        self.prepared: PreparedClip | None = None

        intro = QLabel(
            f"Read the text below aloud in {voice.name}'s voice: {SHORT_SECONDS:g}–{LONG_SECONDS:g} s "
            "(10 s is ideal), in a quiet room, about a hand's width from the microphone. "
            "The text becomes the clip's transcript: change it to what you actually say."
        )
        intro.setWordWrap(True)
        self.text = QPlainTextEdit(SUGGESTED_TEXT)
        self.text.setFixedHeight(76)
        self.count_label = QLabel("")
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.count_label.font()
        font.setPointSize(font.pointSize() * 2)
        font.setBold(True)
        self.count_label.setFont(font)
        self.meter = QtLevelMeter()
        self.time_label = QLabel("0.0 s")
        self.time_label.setObjectName("lufsValue")
        self.time_label.setMinimumWidth(60)
        self.status = QLabel("")
        self.status.setObjectName("transportWarning")
        self.status.setWordWrap(True)
        self.record_button = QPushButton("● Record")
        self.record_button.setToolTip("Count in 3-2-1, then record")
        self.stop_button = QPushButton("■ Stop")
        self.add_button = QPushButton(f"Add to {voice.name}")
        self.add_button.setDefault(True)
        self.discard_button = QPushButton("Discard")
        self.close_button = QPushButton("Close")
        self.record_button.clicked.connect(self.record)
        self.stop_button.clicked.connect(self.stop)
        self.add_button.clicked.connect(self.add)
        self.discard_button.clicked.connect(self.discard)
        self.close_button.clicked.connect(self.reject)

        self.recorder.stateChanged.connect(self._state)
        self.recorder.countdown.connect(self._countdown)
        self.recorder.levelChanged.connect(self.meter.set_level)
        self.recorder.elapsedChanged.connect(lambda s: self.time_label.setText(f"{s:.1f} s"))
        self.recorder.failed.connect(self.show_error)
        self.recorder.recorded.connect(self._recorded)

        meter_row = QHBoxLayout()
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.time_label)
        buttons = QHBoxLayout()
        for button in (self.record_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.discard_button, self.add_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text)
        layout.addWidget(self.count_label)
        layout.addLayout(meter_row)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        if not self.recorder.available:
            self.show_error(self.recorder.reason)
        self._state(IDLE)

    # ---- actions ---------------------------------------------------------------------------
    def record(self) -> None:
        self.discard()
        self.set_status("")
        self.recorder.transcript = self.text.toPlainText()
        self.recorder.start()

    def stop(self) -> None:
        self.recorder.transcript = self.text.toPlainText()
        self.recorder.stop()

    def add(self) -> None:
        """Store the recording in the voice (with the text as its transcript)."""
        if self.prepared is None:
            return
        prepared = dataclasses.replace(self.prepared, transcript=" ".join(self.text.toPlainText().split()))
        try:
            voice, _clip = self.bank.add_clip(self.voice_id, prepared)
        except BankError as exc:
            self.show_error(f"Cannot add the recording: {exc}")
            return
        self.prepared = None
        self.set_status(f"Added a {prepared.stats.duration:.1f} s clip to {voice.name}.")
        self._state(self.recorder.state)
        self.clipAdded.emit(voice)

    def discard(self) -> None:
        self.prepared = None
        self._state(self.recorder.state)

    def show_error(self, text: str) -> None:
        self.set_status(text, warning=True)

    def set_status(self, text: str, warning: bool = False) -> None:
        name = "transportWarning" if warning else "engineStatus"
        if self.status.objectName() != name:
            self.status.setObjectName(name)
            self.status.style().unpolish(self.status)
            self.status.style().polish(self.status)
        self.status.setText(text)

    # ---- view ------------------------------------------------------------------------------
    def _state(self, state: str) -> None:
        available = self.recorder.available
        self.record_button.setEnabled(available and state == IDLE)
        self.stop_button.setEnabled(state in (COUNTING, RECORDING))
        self.stop_button.setText("Cancel" if state == COUNTING else "■ Stop")
        self.add_button.setEnabled(state == IDLE and self.prepared is not None)
        self.discard_button.setEnabled(state == IDLE and self.prepared is not None)
        self.text.setReadOnly(state in (COUNTING, RECORDING))
        self.count_label.setStyleSheet(f"color: {qt_theme.METER_RED};" if state == RECORDING else "")
        if state == RECORDING:
            self.count_label.setText("● recording")
        elif state == PROCESSING:
            self.count_label.setText("preparing…")
        elif state == IDLE and self.prepared is None:
            self.count_label.setText("")

    def _countdown(self, n: int) -> None:
        if n > 0:
            self.count_label.setText(str(n))

    def _recorded(self, prepared: PreparedClip) -> None:
        self.prepared = prepared
        stats = prepared.stats
        self.count_label.setText(f"{stats.duration:.1f} s recorded")
        notes = "\n".join(f"⚠ {m}" for m in prepared.warnings)
        if self.recorder.overflows:
            notes += f"\n⚠ {self.recorder.overflows} input overflow(s): some audio may be missing"
        self.set_status(
            notes.strip() or f"{stats.loudness_lufs:.1f} LUFS — ready to add.", warning=bool(notes.strip())
        )
        self._state(self.recorder.state)

    def done(self, result: int) -> None:
        self.recorder.close()
        super().done(result)

    def closeEvent(self, event: Any) -> None:
        self.recorder.close()
        super().closeEvent(event)
