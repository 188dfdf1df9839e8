"""The openai backend against real servers on loopback: ``chorus engine serve`` (Piper) and small
``http.server`` servers that misbehave on purpose (garbage, 5xx, refusals, slowness).

The demo podcast renders through the studio's real path: ``RenderSession`` plans the jobs and
``EngineClient`` runs ``python -m engine --backend openai``, which sends them to the HTTP server.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from fakes import never, no_progress
from test_serve import KEY, KEY_ENV, PIPER, REPO, SAFETY_S, ServerProcess, start_server, tone_wav

from engine.backends.base import BackendError
from engine.backends.openai_speech import (
    DEFAULT_KEY_ENV,
    STOP_TOKENS,
    OpenAISpeechBackend,
    keyring_password,
)
from engine.protocol import ContextTurn, GenerationParams, RenderJob, VoiceSpec

FAST = {"retries": 2, "backoff_s": 0.05, "timeout_s": 30}


def job(
    job_id: str, text: str = "A short line to speak.", voice: VoiceSpec | None = None, **fields: Any
) -> RenderJob:
    return RenderJob(job_id, text, "", speakers=(voice or VoiceSpec(variant=1),), **fields)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start_server(
        tmp_path_factory.mktemp("openai"), "--options", PIPER, "--api-key-env", KEY_ENV, env={KEY_ENV: KEY}
    )
    yield running
    running.stop()


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(DEFAULT_KEY_ENV, KEY)
    return KEY


# --------------------------------------------------------------------------------------------------
# Options, keys, payloads
# --------------------------------------------------------------------------------------------------


def test_options_are_checked_and_keys_never_come_from_the_project() -> None:
    with pytest.raises(BackendError, match=r"never reads API keys from the project.*CHORUS_OPENAI_API_KEY"):
        OpenAISpeechBackend({"url": "http://127.0.0.1:1", "api_key": "sk-oops"})
    with pytest.raises(BackendError, match=r"endpoints\[0\] has an api_key"):
        OpenAISpeechBackend({"endpoints": [{"url": "http://127.0.0.1:1", "api_key": "sk-oops"}]})
    with pytest.raises(BackendError, match="needs a server: set the backend option url"):
        OpenAISpeechBackend({"temperature": 0.3})
    with pytest.raises(BackendError, match="not an http:// or https:// address"):
        OpenAISpeechBackend({"url": "ftp://example.com"})
    with pytest.raises(BackendError, match="mode must be one of"):
        OpenAISpeechBackend({"url": "http://127.0.0.1:1", "mode": "fast"})
    with pytest.raises(BackendError, match=r"endpoints\[1\].concurrency must be between 1 and 256"):
        OpenAISpeechBackend({"endpoints": [{"url": "http://a:1"}, {"url": "http://b:1", "concurrency": 0}]})
    with pytest.raises(BackendError, match="voice_map must map"):
        OpenAISpeechBackend({"url": "http://127.0.0.1:1", "voice_map": {"Maya": 3}})

    backend = OpenAISpeechBackend(
        {
            "endpoints": [{"url": "http://a:8000/v1/", "concurrency": 3}, "http://b:9000"],
            "concurrency": 2,
            "seed": 4,
        }
    )
    assert [(e.url, e.concurrency) for e in backend.endpoints] == [("http://a:8000", 3), ("http://b:9000", 2)]
    caps = backend.capabilities()
    assert (
        caps.batch_size == caps.concurrency == 5
        and caps.voice_cloning
        and caps.text_profiles
        and caps.smart_voice
    )


def test_api_key_from_environment_or_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]
        store: dict[tuple[str, str], str] = {("chorus", "http://gpu:8000"): "from-keyring"}

        def get_password(self, service: str, username: str) -> str | None:
            return self.store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.store.pop((service, username), None)

    monkeypatch.setenv("MY_GPU_KEY", "from-env")
    monkeypatch.delenv(DEFAULT_KEY_ENV, raising=False)
    previous = keyring.get_keyring()
    try:
        keyring.set_keyring(MemoryKeyring())
        backend = OpenAISpeechBackend(
            {
                "endpoints": [
                    {"url": "http://gpu:8000"},
                    {"url": "http://other:8000", "api_key_env": "MY_GPU_KEY"},
                ]
            }
        )
        backend.load()
        assert [e.api_key for e in backend.endpoints] == ["from-keyring", "from-env"]
        assert "from-" not in repr(backend.endpoints)  # keys stay out of reprs and logs
        named = OpenAISpeechBackend({"url": "http://third:8000", "api_key_env": "CHORUS_NO_SUCH_KEY"})
        with pytest.raises(BackendError, match="CHORUS_NO_SUCH_KEY is not set"):
            named.load()
    finally:
        keyring.set_keyring(previous)
    assert keyring_password("http://nobody-stored-this:1") == ""  # no keyring / no entry: no key, no crash


def test_chat_payload_is_shaped_like_vllm_higgs_audio(tmp_path: Path) -> None:
    clip = tmp_path / "ref.wav"
    clip.write_bytes(tone_wav())
    earlier = tmp_path / "earlier.wav"
    earlier.write_bytes(tone_wav(0.5))
    backend = OpenAISpeechBackend({"url": "http://127.0.0.1:1"})
    voice = VoiceSpec(kind="clip", ref_audio=str(clip), transcript="I would imagine so.", name="Anna")
    other = VoiceSpec(kind="smart", name="Ben")
    line = RenderJob(
        "j",
        "Hey, everyone!",
        "",
        speakers=(voice, other),
        scene_description="A small studio.",
        params=GenerationParams(temperature=0.3, seed=7),
        context=(
            ContextTurn("Said before by Anna.", str(earlier), 0),
            ContextTurn("Said by Ben.", str(earlier), 1),
        ),
    )
    assert backend._route(voice) == ("chat", "")
    payload = backend._chat_payload("higgs-audio-v2", line, "")
    roles = [m["role"] for m in payload["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]  # Ben's turn is left out
    system = payload["messages"][0]["content"]
    assert system == (
        "Generate audio following instruction.\n\n<|scene_desc_start|>\nA small studio.\n<|scene_desc_end|>"
    )
    assert payload["messages"][1] == {"role": "user", "content": "I would imagine so."}
    part = payload["messages"][2]["content"][0]
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    assert payload["messages"][-1] == {"role": "user", "content": "Hey, everyone!"}
    assert payload["modalities"] == ["text", "audio"] and payload["stop"] == STOP_TOKENS
    assert payload["model"] == "higgs-audio-v2" and payload["temperature"] == 0.3 and payload["seed"] == 7

    profile = VoiceSpec(kind="profile", profile="Male,  British accent, calm.")
    system = backend._chat_payload("", job("p", voice=profile), "")["messages"][0]["content"]
    assert "SPEAKER0: Male, British accent, calm." in system


def test_routes_follow_mode_and_voice_map(tmp_path: Path) -> None:
    clip = VoiceSpec(kind="clip", ref_audio=str(tmp_path / "missing.wav"), name="Anna")
    auto = OpenAISpeechBackend(
        {"url": "http://127.0.0.1:1", "voice_map": {"Theo": "en_man", "piper:2": "en_woman"}}
    )
    assert auto._route(VoiceSpec(variant=2)) == ("speech", "en_woman")
    assert auto._route(VoiceSpec(variant=5, name="Theo")) == ("speech", "en_man")
    assert auto._route(VoiceSpec(variant=5)) == ("speech", "piper:5")
    assert auto._route(VoiceSpec(kind="smart")) == ("chat", "")
    assert "reference clip of Anna" in auto.check(job("c", voice=clip))
    speech = OpenAISpeechBackend({"url": "http://127.0.0.1:1", "mode": "speech"})
    assert "map it in the backend option voice_map" in speech.check(job("c", voice=clip))
    mapped = OpenAISpeechBackend(
        {"url": "http://127.0.0.1:1", "mode": "speech", "voice_map": {"*": "belinda"}}
    )
    assert mapped.check(job("c", voice=clip)) == "" and mapped._route(clip) == ("speech", "belinda")


# --------------------------------------------------------------------------------------------------
# Against chorus engine serve
# --------------------------------------------------------------------------------------------------


def _plausible(audio: np.ndarray, rate: int, text: str) -> None:
    words = len(text.split())
    seconds = len(audio) / rate
    assert 0.15 < seconds / words < 1.0, (text, seconds)  # Piper speaks ~2-4 words a second
    assert float(np.sqrt(np.mean(np.square(audio)))) > 0.01


def test_fan_out_over_two_servers_and_past_a_dead_one(
    server: ServerProcess, tmp_path: Path, api_key: str
) -> None:
    second = start_server(tmp_path, "--options", PIPER, "--api-key-env", KEY_ENV, env={KEY_ENV: KEY})
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    try:
        before = server.requests_seen("/v1/audio/speech")
        backend = OpenAISpeechBackend(
            {"endpoints": [{"url": dead}, {"url": server.url}, {"url": second.url}], "concurrency": 1, **FAST}
        )
        backend.load()
        lines = [
            job(f"l{i}", f"This is line number {i} of the batch.", VoiceSpec(variant=i)) for i in range(5)
        ]
        started: list[str] = []
        outcomes = list(backend.render_stream(lines, lambda job_id, fraction: started.append(job_id), never))
        assert sorted(o.job_id for o in outcomes) == sorted(j.job_id for j in lines)
        for outcome in outcomes:
            assert outcome.error == "" and outcome.result is not None, outcome.error
            assert outcome.result.sample_rate == 22050
            _plausible(outcome.result.audio, 22050, "This is line number 0 of the batch.")
        assert sorted(started) == sorted(j.job_id for j in lines)
        assert (
            server.requests_seen("/v1/audio/speech") > before and second.requests_seen("/v1/audio/speech") > 0
        )
        assert backend.endpoints[0].failures > 0  # the dead one was tried, and the lines went elsewhere
    finally:
        second.stop()


def test_podcast_renders_through_http_and_recovers_from_a_killed_server(tmp_path: Path) -> None:
    from studio.core import ops
    from studio.core.store import ProjectFile
    from studio.render.client import EngineClient
    from studio.render.session import RenderSession

    served = start_server(
        tmp_path, "--options", PIPER, "--api-key-env", KEY_ENV, env={KEY_ENV: KEY}, name="podcast"
    )
    copy = tmp_path / "podcast.chorus"
    shutil.copytree(REPO / "projects" / "podcast.chorus", copy)
    pf = ProjectFile.open(copy)
    client: EngineClient | None = None
    try:
        options = (("url", served.url), ("concurrency", 2), ("retries", 2), ("backoff_s", 0.05))
        pf.project.apply(ops.set_settings(backend="openai", backend_options=options))
        session = RenderSession(pf, layout=False)
        jobs = session.prepare()
        assert len(jobs) == len(pf.project.lines) == 15
        client = EngineClient(
            backend="openai",
            options=pf.project.settings.backend_options_dict(),
            env={**os.environ, DEFAULT_KEY_ENV: KEY},
        )
        assert client.start()["backend"] == "openai"
        client.submit(jobs)

        def kill_after_three(progress: Any) -> bool:
            if progress.count("done") < 3:
                return False
            served.kill()  # SIGKILL mid-batch: no goodbye, in-flight requests are dropped
            return True

        assert _drive(client, session, kill_after_three)
        failures = session.failures()
        assert session.count("done") >= 3 and failures, "the server died mid-batch: some lines must fail"
        assert session.count("done") + len(failures) == 15
        for _line_id, reason in failures:
            assert reason == f"cannot reach {served.url}: connection refused (after 3 tries)"

        restarted = start_server(
            tmp_path,
            "--options",
            PIPER,
            "--api-key-env",
            KEY_ENV,
            port=served.port,
            env={KEY_ENV: KEY},
            name="podcast",
        )
        try:
            retry = RenderSession(pf, layout=False)
            again = retry.prepare()
            assert {j.line_id for j in again} == {line_id for line_id, _ in failures}  # only what failed
            client.submit(again)
            _drive(client, retry, lambda s: False)
            assert retry.count("done") == len(again) and not retry.failures()
            assert restarted.requests_seen("/v1/audio/speech") == len(again)
        finally:
            restarted.stop()

        for line in pf.project.ordered_lines():
            take = pf.project.selected_take(line.id)
            assert take is not None, line.text
            audio, rate = soundfile.read(pf.media_path(take.media), dtype="float32")
            assert rate == take.sample_rate == 22050
            assert len(audio) / rate == pytest.approx(take.duration, abs=1e-3)
            _plausible(audio, rate, line.text)
    finally:
        if client is not None:
            client.shutdown()
        served.kill()
        pf.close()


def _drive(client: Any, session: Any, trigger: Callable[[Any], bool]) -> bool:
    """Feed engine events to ``session`` until it is done; call ``trigger`` until it returns True once."""
    fired = False
    deadline = time.monotonic() + SAFETY_S
    while not session.done:
        assert time.monotonic() < deadline, "the render did not finish"
        for event in client.poll(0.1):
            session.handle(event)
        if not fired and trigger(session):
            fired = True
    return fired


# --------------------------------------------------------------------------------------------------
# Servers that misbehave
# --------------------------------------------------------------------------------------------------


class Misbehaving:
    """A loopback HTTP server answering ``POST`` with whatever ``answer(path, body)`` returns."""

    def __init__(self, answer: Callable[[str, dict[str, Any]], tuple[int, str, bytes]]) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body))
                status, content_type, data = answer(self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def misbehaving() -> Iterator[Callable[..., Misbehaving]]:
    made: list[Misbehaving] = []

    def make(answer: Callable[[str, dict[str, Any]], tuple[int, str, bytes]]) -> Misbehaving:
        made.append(Misbehaving(answer))
        return made[-1]

    yield make
    for server in made:
        server.close()


def test_garbage_5xx_and_refusals_become_clear_line_errors(misbehaving: Callable[..., Misbehaving]) -> None:
    html = misbehaving(lambda path, body: (200, "text/html", b"<html><body>Welcome to nginx!</body></html>"))
    broken = misbehaving(
        lambda path, body: (
            500,
            "application/json",
            b'{"error": {"message": "CUDA out of memory", "code": 500}}',
        )
    )
    picky = misbehaving(
        lambda path, body: (400, "application/json", b'{"error": {"message": "voice en_woman not found"}}')
    )
    chatty = misbehaving(
        lambda path, body: (
            200,
            "application/json",
            json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": "Sure! Here is your audio."}}]}
            ).encode(),
        )
    )

    def one(url: str, voice: VoiceSpec | None = None, **options: Any) -> str:
        backend = OpenAISpeechBackend({"url": url, "model": "m", **FAST, **options})
        [outcome] = backend.render_batch([job("x", voice=voice)], no_progress, never)
        assert outcome.result is None
        return outcome.error

    assert (
        one(html.url)
        == f"{html.url} answered something that is not audio: text/html, '<html><body>Welcome to nginx!</body></html>'"
    )
    assert len(html.requests) == 1  # garbage is not retried
    assert (
        one(broken.url)
        == f"{broken.url} could not render the line (HTTP 500: CUDA out of memory) (after 3 tries)"
    )
    assert len(broken.requests) == 3
    assert one(picky.url) == f"{picky.url} refused the line (HTTP 400: voice en_woman not found)"
    assert len(picky.requests) == 1  # 4xx is not retried
    error = one(chatty.url, VoiceSpec(kind="smart"))
    assert error.startswith(
        f"{chatty.url} answered something that is not audio: a chat reply without message.audio"
    )
    assert "Sure! Here is your audio." in error
    path, body = chatty.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "m"


def test_missing_api_key_is_explained(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEFAULT_KEY_ENV, raising=False)
    backend = OpenAISpeechBackend({"url": server.url, **FAST})
    backend.load()
    [outcome] = backend.render_batch([job("k")], no_progress, never)
    assert outcome.error.startswith(f"{server.url} refused access (HTTP 401: this server needs an API key")
    assert f"set {DEFAULT_KEY_ENV} or store one in the OS keyring" in outcome.error


def test_cancel_is_honoured_between_requests(misbehaving: Callable[..., Misbehaving]) -> None:
    seen_cancel = threading.Event()

    def tone_once_cancelled(path: str, body: dict[str, Any]) -> tuple[int, str, bytes]:
        seen_cancel.wait(SAFETY_S)  # answer only after the backend was told to cancel
        return 200, "audio/wav", tone_wav(0.5)

    server = misbehaving(tone_once_cancelled)
    backend = OpenAISpeechBackend({"url": server.url, "model": "m", "concurrency": 1, **FAST})
    started: list[str] = []

    def cancelled(job_id: str) -> bool:
        if started:
            seen_cancel.set()
        return bool(started)

    jobs = [job("a"), job("b"), job("c")]
    by_id = {
        o.job_id: o for o in backend.render_stream(jobs, lambda job_id, f: started.append(job_id), cancelled)
    }
    assert (
        by_id["a"].result is not None and by_id["a"].result.sample_rate == 24000
    )  # the request in flight ends
    assert by_id["b"].cancelled and by_id["c"].cancelled  # the others are never sent
    assert [path for path, _ in server.requests] == ["/v1/audio/speech"]
