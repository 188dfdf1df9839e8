"""The sound-card stream layer (studio.audio.device_streams), against a fake sounddevice (no PortAudio here)."""

from __future__ import annotations

import numpy as np
import pytest
from fake_sounddevice import FakeDevice, FakeSoundDevice, MissingSoundDevice

from studio.audio.device_streams import (
    AudioUnavailable,
    DeviceBusy,
    DeviceNotFound,
    DeviceStreams,
    NoDevice,
    RateAdapter,
    UnsupportedRate,
    load_sounddevice,
    resample_for_plan,
)
from studio.audio.synthetic import tone


def test_lists_outputs_and_inputs_with_the_system_defaults():
    streams = DeviceStreams(FakeSoundDevice())
    outs = streams.outputs()
    assert [d.name for d in outs] == ["Built-in Output", "USB Headset"]
    assert outs[0].is_default_output and not outs[1].is_default_output
    assert "system default" in outs[0].label
    assert [d.name for d in streams.inputs()] == ["Built-in Microphone", "USB Headset"]
    assert streams.available and streams.reason == ""


def test_choose_output_by_name_part_or_index_and_a_missing_one_falls_back_with_a_message():
    streams = DeviceStreams(FakeSoundDevice())
    assert streams.choose_output("USB Headset").device.index == 2
    assert streams.choose_output("usb").device.name == "USB Headset"
    assert streams.choose_output(2).device.name == "USB Headset"
    assert streams.choose_output("").device.name == "Built-in Output"
    gone = streams.choose_output("Studio Monitor 8")
    assert gone.fell_back and gone.device.name == "Built-in Output"
    assert "'Studio Monitor 8' is not connected" in gone.message and "Built-in Output" in gone.message
    with pytest.raises(DeviceNotFound, match="Studio Monitor 8"):
        streams.choose_output("Studio Monitor 8", strict=True)


def test_rate_negotiation_keeps_the_source_rate_when_the_device_takes_it_else_uses_the_device_default():
    streams = DeviceStreams(FakeSoundDevice())
    plan = streams.plan_output(48000, 2)
    assert plan.rate == 48000 and not plan.resamples
    plan = streams.plan_output(24000, 1)  # Piper's rate: not on the built-in output
    assert plan.rate == 48000 and plan.resamples
    plan = streams.plan_output(48000, 2, device="USB Headset")  # 44.1 kHz only
    assert plan.rate == 44100 and plan.device.name == "USB Headset"


def test_a_device_that_takes_neither_rate_is_a_clear_error():
    fake = FakeSoundDevice([FakeDevice("Odd DAC", default_rate=96000, rates=(88200,))])
    with pytest.raises(
        UnsupportedRate, match=r"'Odd DAC' cannot run at 48000 Hz nor at its default 96000 Hz"
    ):
        DeviceStreams(fake).plan_output(48000, 2)


def test_open_output_reports_latency_and_runs_the_callback_at_the_device_rate():
    fake = FakeSoundDevice()
    streams = DeviceStreams(fake, output_device="USB Headset")
    plan = streams.plan_output(48000, 2)
    seen = []
    stream = streams.open_output(plan, 512, lambda out, frames, t, s: seen.append(frames))
    stream.start()
    assert fake.last.samplerate == 44100 and fake.last.device == 2 and fake.last.blocksize == 512
    assert stream.latency == pytest.approx(0.0464)
    fake.last.pull(3)
    assert seen == [512, 512, 512]
    stream.stop()
    stream.close()
    assert fake.last.closed


def test_busy_device_and_missing_device_and_missing_portaudio_are_clear_errors():
    fake = FakeSoundDevice()
    fake.devices[0].busy = True
    streams = DeviceStreams(fake)
    with pytest.raises(DeviceBusy, match="busy — another program is using it"):
        streams.open_output(streams.plan_output(48000, 2), 1024, lambda *a: None)
    no_outputs = DeviceStreams(FakeSoundDevice([FakeDevice("Mic", outputs=0, inputs=1)]))
    with pytest.raises(NoDevice, match="No audio output device"):
        no_outputs.plan_output(48000, 2)
    assert not no_outputs.available and "No audio output device" in no_outputs.reason
    missing = DeviceStreams(MissingSoundDevice())
    assert not missing.available and "PortAudio" in missing.reason
    with pytest.raises(AudioUnavailable):
        missing.output_stream_class()


def test_this_machine_without_portaudio_says_what_to_install():
    try:
        load_sounddevice()
        pytest.skip("this machine has PortAudio")
    except AudioUnavailable as exc:
        assert "PortAudio" in str(exc) or "sounddevice" in str(exc)
    streams = DeviceStreams()
    assert not streams.available and "PortAudio" in streams.reason


def test_output_stream_class_opens_like_sounddevice_on_the_chosen_device_and_refuses_other_rates():
    fake = FakeSoundDevice()
    opener = DeviceStreams(fake, output_device="USB Headset").output_stream_class()
    stream = opener(samplerate=44100, channels=1, blocksize=256, dtype="float32", callback=lambda *a: None)
    assert fake.last.device == 2 and stream.samplerate == 44100
    with pytest.raises(UnsupportedRate, match="cannot play 24000 Hz; it plays 44100 Hz"):
        opener(samplerate=24000, channels=1, blocksize=256, dtype="float32", callback=lambda *a: None)


def test_input_plan_records_at_the_device_rate_when_the_wanted_one_is_missing():
    streams = DeviceStreams(FakeSoundDevice(), input_device="USB Headset")
    plan = streams.plan_input(48000, 1)
    assert plan.rate == 44100 and plan.device.name == "USB Headset"
    stream = streams.open_input(plan, 1024, lambda *a: None)
    assert stream.kind == "input" and stream.latency == pytest.approx(0.0464)


def _pitch(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def test_resampling_for_the_device_keeps_pitch_and_length():
    streams = DeviceStreams(FakeSoundDevice())
    plan = streams.plan_output(24000, 1)
    clip = tone(1000.0, 1.0, 24000).reshape(-1, 1)
    out = resample_for_plan(clip, plan)
    assert out.shape == (48000, 1)
    assert _pitch(out[:, 0], 48000) == pytest.approx(1000.0, abs=2.0)


def test_rate_adapter_reblocks_and_maps_device_blocks_back_to_source_frames():
    adapter = RateAdapter(24000, 48000, 1, 1024)
    clip = tone(440.0, 2.0, 24000).reshape(-1, 1)
    got = []
    for k in range(0, clip.shape[0], 700):  # odd source block size
        got += adapter.push(clip[k : k + 700], 10_000 + k)
    assert all(b.shape == (1024, 1) for _, b in got)
    starts = [s for s, _ in got]
    assert starts[0] == 10_000 and starts[1] == 10_512 and starts[5] == 10_000 + 5 * 512
    audio = np.concatenate([b for _, b in got])[4096:-4096, 0]
    assert _pitch(audio, 48000) == pytest.approx(440.0, abs=3.0)
    same = RateAdapter(48000, 48000, 2, 1000)
    blocks = same.push(np.ones((2500, 2), np.float32), 0)
    assert [s for s, _ in blocks] == [0, 1000]


def test_heard_frame_is_the_written_frame_less_the_output_latency_never_before_the_start():
    from studio.audio.device_streams import heard_frame

    assert heard_frame(48_000, 0.0, 48000) == 48_000
    assert heard_frame(48_000, 0.25, 48000) == 36_000  # a quarter second behind what is written
    assert heard_frame(48_000, 0.0213, 48000) == 48_000 - 1022
    assert heard_frame(100_000, 0.25, 48000, floor=96_000) == 96_000  # silence before the start
    assert heard_frame(48_000, -1.0, 48000) == 48_000  # nonsense latency counts as none
