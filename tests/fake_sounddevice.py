"""A stand-in for the ``sounddevice`` module, for :class:`studio.audio.device_streams.DeviceStreams`.

It has the functions the layer calls (``query_devices``, ``query_hostapis``, ``default.device``,
``check_output_settings``/``check_input_settings``, ``OutputStream``/``InputStream``,
``PortAudioError``) and fails the way PortAudio does: error code -9997 for a rate a device does not
take, -9985 for a busy device. Streams do not run by themselves: ``pull(n)`` runs an output
callback for n blocks and returns what it wrote; ``push(block)`` feeds an input callback.

Qt-free; used by the unit tests of the layer and by the widget tests (through ``DeviceStreams``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from fakes import CallbackStream


class PortAudioError(Exception):
    pass


@dataclass
class FakeDevice:
    name: str
    outputs: int = 2
    inputs: int = 0
    default_rate: int = 48000
    rates: tuple[int, ...] = (44100, 48000)
    latency: float = 0.02  # what an opened stream reports (seconds)
    busy: bool = False


@dataclass
class FakeSoundDevice:
    devices: list[FakeDevice] = field(
        default_factory=lambda: [
            FakeDevice("Built-in Output", outputs=2, rates=(44100, 48000), latency=0.0213),
            FakeDevice("Built-in Microphone", outputs=0, inputs=1, rates=(16000, 44100, 48000)),
            FakeDevice(
                "USB Headset", outputs=2, inputs=1, default_rate=44100, rates=(44100,), latency=0.0464
            ),
        ]
    )
    default_output: int = 0
    default_input: int = 1
    streams: list[Any] = field(default_factory=list)

    PortAudioError = PortAudioError

    def __post_init__(self) -> None:
        self.default = SimpleNamespace(device=(self.default_input, self.default_output))

    @property
    def last(self) -> Any:
        return self.streams[-1] if self.streams else None

    def query_hostapis(self) -> list[dict[str, Any]]:
        return [{"name": "Fake API"}]

    def query_devices(self) -> list[dict[str, Any]]:
        self.default.device = (self.default_input, self.default_output)
        return [
            {
                "name": d.name,
                "index": i,
                "hostapi": 0,
                "max_input_channels": d.inputs,
                "max_output_channels": d.outputs,
                "default_samplerate": float(d.default_rate),
                "default_low_output_latency": d.latency if d.outputs else 0.0,
                "default_low_input_latency": d.latency if d.inputs else 0.0,
            }
            for i, d in enumerate(self.devices)
        ]

    def _check(self, device: int, channels: int, samplerate: float, kind: str) -> FakeDevice:
        if not 0 <= device < len(self.devices):
            raise PortAudioError("Invalid device", -9996)
        d = self.devices[device]
        if channels > (d.outputs if kind == "output" else d.inputs):
            raise PortAudioError("Invalid number of channels", -9998)
        if int(samplerate) not in d.rates:
            raise PortAudioError("Invalid sample rate", -9997)
        return d

    def check_output_settings(self, device: int, channels: int, dtype: str, samplerate: float) -> None:
        self._check(device, channels, samplerate, "output")

    def check_input_settings(self, device: int, channels: int, dtype: str, samplerate: float) -> None:
        self._check(device, channels, samplerate, "input")

    def OutputStream(self, **kwargs: Any) -> FakeDeviceStream:  # noqa: N802 — sounddevice's name
        return self._stream(kwargs, "output")

    def InputStream(self, **kwargs: Any) -> FakeDeviceStream:  # noqa: N802
        return self._stream(kwargs, "input")

    def _stream(self, kwargs: dict[str, Any], kind: str) -> FakeDeviceStream:
        d = self._check(kwargs["device"], kwargs["channels"], kwargs["samplerate"], kind)
        if d.busy:
            raise PortAudioError("Error opening OutputStream: Device unavailable", -9985)
        stream = FakeDeviceStream(d, kind=kind, **kwargs)
        self.streams.append(stream)
        return stream


class FakeDeviceStream(CallbackStream):
    def __init__(
        self,
        fake: FakeDevice,
        *,
        kind: str,
        device: int = -1,
        samplerate: int,
        channels: int,
        blocksize: int,
        callback: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(samplerate, channels, blocksize, callback)
        self.fake_device = fake
        self.kind = kind
        self.device = device
        self.latency = fake.latency


class MissingSoundDevice:
    """A backend whose every call fails as sounddevice does without PortAudio."""

    def __getattr__(self, name: str) -> Any:
        from studio.audio.device_streams import AudioUnavailable

        raise AudioUnavailable("No audio devices: PortAudio library not found (test).")
