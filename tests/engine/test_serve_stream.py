"""``/v1/audio/speech`` with ``"stream": true`` over a real loopback server (in-process ``EngineServer``)
around the fake streaming slot decoder (``fake_backends.SteppedBackend``): audio arrives while the line
is still being made, as raw pcm or a streaming wav; a backend that does not stream answers in one piece;
formats that cannot stream are refused."""

from __future__ import annotations

import http.client
import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import soundfile
from fake_backends import FRAME, RATE, SteppedBackend

from engine.serve import EngineServer

SAFETY_S = 60.0


def serve(backend: SteppedBackend) -> Iterator[EngineServer]:
    server = EngineServer(backend, "127.0.0.1", 0)
    server.start()
    assert server.wait_loaded() == "ready"
    try:
        yield server
    finally:
        backend.release()
        server.stop()


@pytest.fixture
def streaming() -> Iterator[tuple[EngineServer, SteppedBackend]]:
    backend = SteppedBackend(slots=4)
    for server in serve(backend):
        yield server, backend


def post(server: EngineServer, body: dict[str, Any]) -> http.client.HTTPResponse:
    host, port = server.http.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=SAFETY_S)
    connection.request(
        "POST", "/v1/audio/speech", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    return connection.getresponse()


def pcm(data: bytes) -> np.ndarray:
    return np.frombuffer(data, "<i2").astype(np.float32) / 32767.0


def test_pcm_streams_the_first_audio_before_the_line_is_finished(
    streaming: tuple[EngineServer, SteppedBackend],
) -> None:
    server, backend = streaming
    words = "hold on a moment please now"  # 6 frames; the backend stops after the first until released
    began = time.monotonic()
    reply = post(server, {"input": words, "response_format": "pcm", "stream": True})
    assert reply.status == 200 and reply.getheader("Transfer-Encoding") == "chunked"
    assert reply.getheader("Content-Type") == "audio/pcm"
    assert reply.getheader("X-Chorus-Sample-Rate") == str(RATE)
    first = reply.read1(1 << 16)
    first_s = time.monotonic() - began
    assert len(first) == FRAME * 2  # one frame of s16le, and the line is still held in the backend
    assert [what for what, *_ in backend.log] == ["admit"]
    backend.release()
    rest = reply.read()
    total_s = time.monotonic() - began
    audio = pcm(first + rest)
    assert audio.size == 6 * FRAME
    assert [what for what, *_ in backend.log] == ["admit", "leave"]
    assert first_s < total_s


def test_wav_streams_a_header_a_reader_accepts(streaming: tuple[EngineServer, SteppedBackend]) -> None:
    server, _backend = streaming
    reply = post(server, {"input": "12", "response_format": "wav", "stream": True})
    assert reply.status == 200 and reply.getheader("Content-Type") == "audio/wav"
    data = reply.read()
    assert data[:4] == b"RIFF" and data[36:40] == b"data"
    audio, rate = soundfile.read(io.BytesIO(data), dtype="float32")
    assert rate == RATE and audio.size == 12 * FRAME


def test_jobs_streamed_at_once_share_the_batch(streaming: tuple[EngineServer, SteppedBackend]) -> None:
    server, backend = streaming
    sizes: list[int] = []

    def one(text: str) -> None:
        sizes.append(len(post(server, {"input": text, "response_format": "pcm", "stream": True}).read()))

    threads = [threading.Thread(target=one, args=(str(n),)) for n in (20, 30, 40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SAFETY_S)
    assert sorted(sizes) == [20 * FRAME * 2, 30 * FRAME * 2, 40 * FRAME * 2]
    assert backend.most_running >= 2 and backend.calls <= 2  # they joined one running batch


def test_a_backend_that_does_not_stream_answers_in_one_piece() -> None:
    backend = SteppedBackend(streaming=False)
    for server in serve(backend):
        reply = post(server, {"input": "9", "response_format": "pcm", "stream": True})
        assert reply.status == 200 and reply.getheader("Transfer-Encoding") == "chunked"
        assert pcm(reply.read()).size == 9 * FRAME
        failed = post(server, {"input": "fail after a while", "response_format": "pcm", "stream": True})
        assert failed.status == 500  # no audio was sent yet: a proper JSON error
        assert "failed mid-line" in json.loads(failed.read())["error"]["message"]
        plain = post(server, {"input": "9", "response_format": "pcm"})  # no stream: as before
        assert plain.getheader("Content-Length") == str(9 * FRAME * 2)
        assert len(plain.read()) == 9 * FRAME * 2


def test_formats_that_cannot_stream_and_bad_stream_values_are_refused(
    streaming: tuple[EngineServer, SteppedBackend],
) -> None:
    server, backend = streaming
    for body, words in (
        ({"response_format": "mp3", "stream": True}, ("mp3", "pcm or wav")),
        ({"response_format": "flac", "stream": True}, ("flac", "pcm or wav")),
        ({"stream": "yes"}, ("'stream' must be true or false",)),
    ):
        reply = post(server, {"input": "3", **body})
        assert reply.status == 400
        error = json.loads(reply.read())["error"]
        for word in words:
            assert word in error["message"], error
    assert backend.calls == 0


def test_a_failure_after_the_first_audio_truncates_the_transfer(
    streaming: tuple[EngineServer, SteppedBackend],
) -> None:
    server, _backend = streaming
    reply = post(server, {"input": "fail after a while", "response_format": "pcm", "stream": True})
    assert reply.status == 200
    with pytest.raises(http.client.IncompleteRead):  # no final empty chunk: the client knows it is short
        reply.read()
    assert post(server, {"input": "4", "response_format": "pcm", "stream": True}).read()  # the server goes on


def test_a_client_that_goes_away_cancels_its_job(streaming: tuple[EngineServer, SteppedBackend]) -> None:
    server, backend = streaming
    reply = post(server, {"input": "5000", "response_format": "pcm", "stream": True})  # 10 s of steps
    assert reply.read1(1 << 16)
    reply.close()  # hang up mid-line
    deadline = time.monotonic() + SAFETY_S
    while not backend.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(backend.cancelled) == 1 and backend.cancelled[0].startswith("speech-")
    assert server.app.worker.runner.running == []
