"""The one way the studio opens sound-card streams (sounddevice / PortAudio): output and input.

Playback (:mod:`studio.ui.qt_playback`), recording (:mod:`studio.ui.qt_voice_recorder`), the takes
view and the voice audition player all open their streams here. A :class:`DeviceStreams` knows
which output device the user chose (by name or index; a saved device that is gone falls back to
the system default with a message), lists the devices for a chooser, negotiates the sample rate,
reports the latency PortAudio gives the stream, and turns every PortAudio failure into an
:class:`AudioDeviceError` whose message a user can act on:

* :class:`AudioUnavailable` — no PortAudio library / no sounddevice package;
* :class:`NoDevice` — no output (or input) device at all;
* :class:`DeviceNotFound` — the chosen device is not connected (only when asked for strictly);
* :class:`DeviceBusy` — another program holds the device;
* :class:`UnsupportedRate` — the device plays neither the source rate nor its own default.

Sample rate negotiation (:meth:`DeviceStreams.plan_output`): play at the source rate when the
device accepts it (no resampling), else at the device's default rate, resampling with soxr
(:mod:`studio.audio.resample`): whole clips with :func:`resample_for_plan`, a running mix block by
block with :class:`RateAdapter` (the resampling happens on the feeder thread, never in the callback).

How to use it (what playback does)::

    streams = DeviceStreams(output_device="USB Audio")   # or None = the system default
    plan = streams.plan_output(source_rate=48000, channels=2)  # AudioDeviceError if impossible
    stream = streams.open_output(plan, blocksize=1024, callback=cb)   # not started
    stream.start(); ...; stream.latency   # seconds from the callback's buffer to the speaker

and what a clip player written for ``sounddevice.OutputStream`` does, unchanged:
``opener = streams.output_stream_class()`` then
``opener(samplerate=, channels=, blocksize=, dtype=, callback=)`` opens on the chosen device (an
:class:`UnsupportedRate` if the device cannot play that rate: resample with
:func:`resample_for_plan` first).

``backend`` is the ``sounddevice`` module (imported lazily on first use) or a stand-in with the same
functions (``query_devices``, ``query_hostapis``, ``default``, ``check_output_settings``,
``check_input_settings``, ``OutputStream``, ``InputStream``, ``PortAudioError``) — tests pass a fake.

Thread contract: a DeviceStreams is used from one thread (the GUI thread, or the feeder thread that
opens the stream); the callbacks the streams run are the caller's; :class:`RateAdapter` belongs to
one thread at a time. Qt-free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.audio.resample import StreamResampler, resample

# The callback PortAudio runs: (buffer, frames, time_info, status) -> None.
Callback = Callable[[np.ndarray, int, Any, Any], None]
# Something called like ``sounddevice.OutputStream(samplerate=, channels=, blocksize=, dtype=, callback=)``.
StreamOpener = Callable[..., Any]

PA_INVALID_SAMPLE_RATE = -9997
PA_DEVICE_UNAVAILABLE = -9985
PA_INVALID_DEVICE = -9996
INSTALL_HINT = "Install PortAudio (e.g. `apt install libportaudio2`)"


class AudioDeviceError(RuntimeError):
    """A stream cannot be opened; the message says why and what to do."""


class AudioUnavailable(AudioDeviceError):
    """No PortAudio library or no sounddevice package."""


class NoDevice(AudioDeviceError):
    """No output (or input) device at all."""


class DeviceNotFound(AudioDeviceError):
    """The device asked for by name or index is not connected."""


class DeviceBusy(AudioDeviceError):
    """Another program holds the device."""


class UnsupportedRate(AudioDeviceError):
    """The device does not play (or record) at the rate asked for."""


@dataclass(frozen=True)
class AudioDevice:
    index: int
    name: str
    hostapi: str
    inputs: int  # max input channels
    outputs: int  # max output channels
    default_rate: int
    output_latency: float  # PortAudio's default low output latency, seconds
    input_latency: float  # default low input latency, seconds
    is_default_output: bool = False
    is_default_input: bool = False

    @property
    def label(self) -> str:
        """What a chooser shows: "name (host API)" and "— default" for the system default."""
        text = f"{self.name} ({self.hostapi})" if self.hostapi else self.name
        return text + (" — system default" if self.is_default_output else "")


@dataclass(frozen=True)
class DeviceChoice:
    """The device a choice resolves to; ``message`` says so when a saved device fell back."""

    device: AudioDevice
    fell_back: bool = False
    message: str = ""


@dataclass(frozen=True)
class StreamPlan:
    """How a source will be played: on ``device`` at ``rate`` (resampled from ``source_rate`` if different)."""

    device: AudioDevice
    rate: int
    source_rate: int
    channels: int
    message: str = ""  # a fallback note (the saved device is gone), "" when none

    @property
    def resamples(self) -> bool:
        return self.rate != self.source_rate


class OpenStream:
    """A stream opened by :class:`DeviceStreams`: start/stop/close, and what PortAudio reports."""

    def __init__(self, stream: Any, plan: StreamPlan, kind: str) -> None:
        self.stream = stream
        self.plan = plan
        self.kind = kind  # "output" | "input"

    @property
    def samplerate(self) -> int:
        return self.plan.rate

    @property
    def latency(self) -> float:
        """Seconds between the callback's buffer and the speaker (or microphone → buffer); 0 if unknown."""
        value = getattr(self.stream, "latency", None)
        if isinstance(value, (tuple, list)):  # duplex streams report (input, output)
            value = value[1] if self.kind == "output" else value[0]
        try:
            seconds = float(value) if value is not None else 0.0
        except (TypeError, ValueError):
            return 0.0
        return seconds if seconds > 0 and np.isfinite(seconds) else 0.0

    def start(self) -> None:
        try:
            self.stream.start()
        except Exception as exc:
            raise classify(exc, self.plan.device.name, self.plan.rate, self.kind) from None

    def stop(self) -> None:
        self.stream.stop()

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> OpenStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_sounddevice() -> Any:
    """The ``sounddevice`` module, or AudioUnavailable saying what to install."""
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library is missing
        raise AudioUnavailable(f"No audio devices: {exc}. {INSTALL_HINT} to play and record.") from None
    except ImportError as exc:
        raise AudioUnavailable(f"No audio devices: the sounddevice package is missing ({exc}).") from None
    return sounddevice


def classify(exc: BaseException, device: str, rate: int, kind: str) -> AudioDeviceError:
    """A PortAudio (or sounddevice) failure as the AudioDeviceError a user can act on."""
    if isinstance(exc, AudioDeviceError):
        return exc
    code = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
    text = str(exc.args[0] if exc.args else exc)
    lowered = text.lower()
    what = "audio output" if kind == "output" else "microphone"
    if code == PA_INVALID_SAMPLE_RATE or "sample rate" in lowered or "samplerate" in lowered:
        return UnsupportedRate(f"The {what} {device!r} cannot run at {rate} Hz ({text}).")
    if code == PA_DEVICE_UNAVAILABLE or "unavailable" in lowered or "busy" in lowered:
        return DeviceBusy(
            f"The {what} {device!r} is busy — another program is using it. Close that program "
            f"or choose another device ({text})."
        )
    if code == PA_INVALID_DEVICE or "invalid device" in lowered or "no device" in lowered:
        return DeviceNotFound(f"The {what} {device!r} is not available ({text}).")
    return AudioDeviceError(f"Cannot open the {what} {device!r}: {text}")


class DeviceStreams:
    """Lists devices and opens streams on the chosen one; see the module docstring."""

    def __init__(
        self,
        backend: Any = None,
        *,
        output_device: str | int | None = None,
        input_device: str | int | None = None,
    ) -> None:
        self._backend = backend
        self.output_device = output_device
        self.input_device = input_device
        self._reason = ""

    # ---- the backend -------------------------------------------------------------------------
    @property
    def backend(self) -> Any:
        """sounddevice (loaded on first use); AudioUnavailable if it cannot be."""
        if self._backend is None:
            self._backend = load_sounddevice()
        return self._backend

    @property
    def available(self) -> bool:
        """True when PortAudio is there and has at least one output device."""
        try:
            return bool(self.outputs())
        except AudioDeviceError as exc:
            self._reason = str(exc)
            return False

    @property
    def reason(self) -> str:
        """Why :attr:`available` is False ("" when it is True)."""
        if self.available:
            return ""
        return self._reason or f"No audio output device was found. {INSTALL_HINT} or connect one."

    # ---- devices ----------------------------------------------------------------------------
    def devices(self) -> list[AudioDevice]:
        """Every device PortAudio reports; AudioUnavailable without PortAudio."""
        sd = self.backend
        try:
            raw = list(sd.query_devices())
            default_in, default_out = _pair(getattr(sd.default, "device", (-1, -1)))
        except AudioDeviceError:
            raise
        except Exception as exc:
            raise AudioUnavailable(f"Cannot list the audio devices: {exc}") from None
        apis = _hostapi_names(sd)
        out = []
        for i, d in enumerate(raw):
            index = int(d.get("index", i))
            out.append(
                AudioDevice(
                    index=index,
                    name=str(d.get("name", f"device {index}")),
                    hostapi=apis.get(int(d.get("hostapi", -1)), ""),
                    inputs=int(d.get("max_input_channels", 0)),
                    outputs=int(d.get("max_output_channels", 0)),
                    default_rate=int(round(float(d.get("default_samplerate", 0) or 0))),
                    output_latency=float(d.get("default_low_output_latency", 0.0) or 0.0),
                    input_latency=float(d.get("default_low_input_latency", 0.0) or 0.0),
                    is_default_output=index == default_out,
                    is_default_input=index == default_in,
                )
            )
        return out

    def outputs(self) -> list[AudioDevice]:
        return [d for d in self.devices() if d.outputs > 0]

    def inputs(self) -> list[AudioDevice]:
        return [d for d in self.devices() if d.inputs > 0]

    def choose_output(self, choice: str | int | None = None, *, strict: bool = False) -> DeviceChoice:
        """The output device for ``choice`` (default: :attr:`output_device`); see :meth:`_choose`."""
        return self._choose(
            self.outputs(), self.output_device if choice is None else choice, "output", strict
        )

    def choose_input(self, choice: str | int | None = None, *, strict: bool = False) -> DeviceChoice:
        return self._choose(self.inputs(), self.input_device if choice is None else choice, "input", strict)

    def _choose(
        self, devices: list[AudioDevice], choice: str | int | None, kind: str, strict: bool
    ) -> DeviceChoice:
        """By index, exact name, then a unique case-insensitive part of the name; "" / None = default.

        A choice that matches nothing falls back to the system default with a message (or raises
        DeviceNotFound when ``strict``); no devices at all raise NoDevice.
        """
        if not devices:
            what = "audio output" if kind == "output" else "audio input (microphone)"
            raise NoDevice(f"No {what} device was found. Connect one, or check that it is switched on.")
        flag = "is_default_output" if kind == "output" else "is_default_input"
        default = next((d for d in devices if getattr(d, flag)), devices[0])
        if choice is None or choice == "":
            return DeviceChoice(default)
        found = _match(devices, choice)
        if found is not None:
            return DeviceChoice(found)
        if strict:
            raise DeviceNotFound(f"The audio {kind} {choice!r} is not connected.")
        return DeviceChoice(
            default,
            fell_back=True,
            message=f"The audio {kind} {choice!r} is not connected; using {default.name!r} (the system default).",
        )

    # ---- rates ------------------------------------------------------------------------------
    def plan_output(self, source_rate: int, channels: int, device: str | int | None = None) -> StreamPlan:
        """Where and at what rate to play ``source_rate`` audio (see the module docstring)."""
        choice = self.choose_output(device)
        rate = self._negotiate(choice.device, source_rate, channels, "output")
        return StreamPlan(choice.device, rate, source_rate, channels, choice.message)

    def plan_input(self, wanted_rate: int, channels: int = 1, device: str | int | None = None) -> StreamPlan:
        """Where and at what rate to record (the wanted rate, else the device's default)."""
        choice = self.choose_input(device)
        rate = self._negotiate(choice.device, wanted_rate, channels, "input")
        return StreamPlan(choice.device, rate, wanted_rate, channels, choice.message)

    def _negotiate(self, device: AudioDevice, rate: int, channels: int, kind: str) -> int:
        limit = device.outputs if kind == "output" else device.inputs
        if channels > limit:
            raise AudioDeviceError(
                f"The audio {kind} {device.name!r} has {limit} channel(s), not {channels}."
            )
        candidates = [rate] + (
            [device.default_rate] if device.default_rate and device.default_rate != rate else []
        )
        errors = []
        for candidate in candidates:
            try:
                self._check(device, candidate, channels, kind)
                return candidate
            except UnsupportedRate as exc:
                errors.append(str(exc))
        raise UnsupportedRate(
            f"The audio {kind} {device.name!r} cannot run at {rate} Hz"
            + (f" nor at its default {device.default_rate} Hz" if len(candidates) > 1 else "")
            + "."
        )

    def _check(self, device: AudioDevice, rate: int, channels: int, kind: str) -> None:
        sd = self.backend
        check = sd.check_output_settings if kind == "output" else sd.check_input_settings
        try:
            check(device=device.index, channels=channels, dtype="float32", samplerate=rate)
        except Exception as exc:
            raise classify(exc, device.name, rate, kind) from None

    # ---- streams ----------------------------------------------------------------------------
    def open_output(
        self, plan: StreamPlan, blocksize: int, callback: Callback, latency: str = "low"
    ) -> OpenStream:
        """An output stream (not started) for ``plan``; the callback gets ``plan.rate`` audio."""
        return self._open(self.backend.OutputStream, plan, blocksize, callback, latency, "output")

    def open_input(
        self, plan: StreamPlan, blocksize: int, callback: Callback, latency: str = "low"
    ) -> OpenStream:
        """An input stream (not started) for ``plan``."""
        return self._open(self.backend.InputStream, plan, blocksize, callback, latency, "input")

    def _open(
        self, cls: Any, plan: StreamPlan, blocksize: int, callback: Callback, latency: str, kind: str
    ) -> OpenStream:
        try:
            stream = cls(
                device=plan.device.index,
                samplerate=plan.rate,
                channels=plan.channels,
                blocksize=blocksize,
                dtype="float32",
                latency=latency,
                callback=callback,
            )
        except Exception as exc:
            raise classify(exc, plan.device.name, plan.rate, kind) from None
        return OpenStream(stream, plan, kind)

    def output_stream_class(self) -> StreamOpener:
        """An opener called like ``sounddevice.OutputStream`` that opens on the chosen device.

        For players written against ``Callable[[], StreamFactory]`` (the clip player): raises
        AudioDeviceError now if there is no output at all; the opener raises UnsupportedRate when the
        device cannot play the clip's rate at all (the rate is never silently changed under a
        callback that fills buffers at the clip's rate).
        """
        self.choose_output()  # fail now (AudioUnavailable / NoDevice) rather than at the first play

        def opener(
            *, samplerate: int, channels: int, blocksize: int, callback: Callback, **_: Any
        ) -> OpenStream:
            plan = self.plan_output(int(samplerate), int(channels))
            if plan.resamples:
                raise UnsupportedRate(
                    f"The audio output {plan.device.name!r} cannot play {int(samplerate)} Hz; "
                    f"it plays {plan.rate} Hz (resample first)."
                )
            return self.open_output(plan, blocksize, callback)

        return opener

    def input_stream_class(self) -> StreamOpener:
        """The input twin of :meth:`output_stream_class` (raises now without a microphone).

        A microphone that cannot record at the rate asked for is opened at its own rate instead
        (a callback that only copies input is rate-blind): read the opened stream's ``samplerate``.
        """
        self.choose_input()

        def opener(
            *, samplerate: int, channels: int, blocksize: int, callback: Callback, **_: Any
        ) -> OpenStream:
            return self.open_input(self.plan_input(int(samplerate), int(channels)), blocksize, callback)

        return opener


def default_output_opener() -> StreamOpener:
    """The system's chosen-device-less opener: ``DeviceStreams().output_stream_class()``."""
    return DeviceStreams().output_stream_class()


def default_input_opener() -> StreamOpener:
    return DeviceStreams().input_stream_class()


def heard_frame(written_frame: int, latency_s: float, rate: int, floor: int = 0) -> int:
    """The source frame the listener hears now, while the callback writes ``written_frame``.

    What a callback writes reaches the speaker ``latency_s`` later (the stream's output latency),
    so the playhead sits that far behind the written frame — never before ``floor`` (where play
    started: the silence before the first block is not the project's past).
    """
    return max(floor, written_frame - int(round(max(0.0, latency_s) * rate)))


def resample_for_plan(data: np.ndarray, plan: StreamPlan) -> np.ndarray:
    """Whole-clip ``(frames, channels)`` float32 audio at the plan's device rate (soxr, no-op if equal)."""
    return resample(data, plan.source_rate, plan.rate)


class RateAdapter:
    """Source-rate blocks in, device-rate blocks of exactly ``blocksize`` frames out (soxr, streaming).

    ``push(block, start_frame)`` takes ``(frames, channels)`` float32 at the source rate starting at
    source frame ``start_frame`` (consecutive pushes must be contiguous; :meth:`reset` after a jump)
    and returns the finished device blocks as ``(source_frame, block)`` pairs, where
    ``source_frame`` is the source frame the block's first sample comes from — what a playhead shows.
    With equal rates it only re-blocks. Runs on the feeder thread, never in a callback.
    """

    def __init__(self, source_rate: int, device_rate: int, channels: int, blocksize: int) -> None:
        self.source_rate = source_rate
        self.device_rate = device_rate
        self.channels = channels
        self.blocksize = blocksize
        self._resampler = StreamResampler(source_rate, device_rate, channels)
        self.reset(0)

    def reset(self, start_frame: int) -> None:
        self._resampler.reset()
        self._origin = start_frame  # source frame of device frame 0 since the reset
        self._emitted = 0  # device frames handed out since the reset
        self._pending = np.zeros((0, self.channels), np.float32)
        self._fresh = True  # the next push's start_frame sets the origin

    def source_frame(self, device_frames: int) -> int:
        """The source frame that device frame ``device_frames`` (since the reset) comes from."""
        return self._origin + (device_frames * self.source_rate) // self.device_rate

    def push(self, block: np.ndarray, start_frame: int | None = None) -> list[tuple[int, np.ndarray]]:
        if self._fresh:
            self._fresh = False
            if start_frame is not None:
                self._origin = start_frame
        out = self._resampler.process(np.ascontiguousarray(block, dtype=np.float32), last=False)
        pending = np.concatenate([self._pending, out]) if self._pending.shape[0] else out
        blocks = []
        n = self.blocksize
        whole = pending.shape[0] // n
        for k in range(whole):
            blocks.append(
                (self.source_frame(self._emitted), np.ascontiguousarray(pending[k * n : (k + 1) * n]))
            )
            self._emitted += n
        self._pending = pending[whole * n :].copy()
        return blocks


def _pair(value: Any) -> tuple[int, int]:
    try:
        a, b = value
        return int(a if a is not None else -1), int(b if b is not None else -1)
    except (TypeError, ValueError):
        v = int(value) if isinstance(value, int) else -1
        return v, v


def _hostapi_names(sd: Any) -> dict[int, str]:
    try:
        return {i: str(api.get("name", "")) for i, api in enumerate(sd.query_hostapis())}
    except Exception:
        return {}


def _match(devices: list[AudioDevice], choice: str | int) -> AudioDevice | None:
    if isinstance(choice, int) or (isinstance(choice, str) and choice.strip().isdigit()):
        index = int(choice)
        return next((d for d in devices if d.index == index), None)
    wanted = str(choice).strip()
    exact = [d for d in devices if d.name == wanted or d.label == wanted]
    if exact:
        return exact[0]
    lowered = wanted.lower()
    partial = [d for d in devices if lowered in d.name.lower()]
    return partial[0] if len(partial) == 1 else None
