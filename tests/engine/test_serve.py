"""``chorus engine serve``: the engine's OpenAI-compatible HTTP server, exercised over loopback.

A real ``python -m engine serve`` process (Piper backend, and the tiny random Higgs model) answers real
HTTP requests; a few lifecycle cases (503 while loading, 500 on a backend failure, one request at a
time) run an in-process server around a small scripted backend. :func:`start_server` is shared with
``test_openai_speech.py``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from engine.backends.base import Backend, BackendError, CancelledFn, Capabilities, ProgressFn, RenderResult
from engine.protocol import RenderJob, VoiceSpec
from engine.serve import EngineServer

SAFETY_S = 120.0  # hang guards for waits, not speed assertions
KEY_ENV = "CHORUS_TEST_SERVE_KEY"
KEY = "test-key-7f3a"
PIPER = json.dumps({"workers": 0, "noise_w": 0})  # in-process: quickest start; repeatable durations
REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------------
# helpers (shared with test_openai_speech.py)
# --------------------------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """A running ``python -m engine serve``; ``log`` holds its stderr."""

    proc: subprocess.Popen[str]
    url: str
    port: int
    log: Path

    def kill(self) -> None:
        """SIGKILL the server's process group (it runs in a session of its own)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(SAFETY_S)

    def stop(self) -> int:
        """SIGTERM, wait for a clean exit; returns the exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.proc.returncode)

    def requests_seen(self, path: str) -> int:
        return self.log.read_text(errors="replace").count(f'"POST {path} ')


def start_server(
    folder: Path, *args: str, port: int = 0, env: dict[str, str] | None = None, name: str = "serve"
) -> ServerProcess:
    """Start ``python -m engine serve`` and wait for its ``serving on`` line (fails with its log if it dies)."""
    log = folder / f"{name}-{port or 'any'}-{len(list(folder.glob(name + '-*.log')))}.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=REPO,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=SAFETY_S)
        except queue.Empty:
            proc.kill()
            pytest.fail(f"the server did not start within {SAFETY_S} s:\n{log.read_text()}")
        if line is None:
            proc.wait(10)
            pytest.fail(f"the server exited ({proc.returncode}) before serving:\n{log.read_text()}")
        if line.startswith("serving on "):
            url = line.split("serving on ", 1)[1].strip()
            return ServerProcess(proc, url, int(url.rsplit(":", 1)[1]), log)


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    url: str, body: Any = None, *, key: str | None = KEY, raw: bytes | None = None, method: str = ""
) -> Reply:
    """One HTTP request with urllib; HTTP errors come back as replies, not exceptions."""
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        url, data=data, headers=headers, method=method or ("POST" if data else "GET")
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=SAFETY_S) as response:
            return Reply(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.read(), dict(exc.headers))


def tone_wav(seconds: float = 1.0, rate: int = 24000, freq: float = 220.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def assert_error(reply: Reply, status: int, code: str, *words: str) -> dict[str, Any]:
    assert reply.status == status, reply.body
    assert reply.headers.get("Content-Type") == "application/json"
    error = reply.json()["error"]
    assert set(error) >= {"message", "type", "code"} and error["code"] == code, error
    for word in words:
        assert word in error["message"], error
    return dict(error)


# --------------------------------------------------------------------------------------------------
# The Piper server
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def piper_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("serve"),
        "--options",
        PIPER,
        "--api-key-env",
        KEY_ENV,
        "--served-model-name",
        "chorus-tts",
        env={KEY_ENV: KEY},
    )
    yield server
    assert server.stop() == 0


def test_health_and_models(piper_server: ServerProcess) -> None:
    health = call(piper_server.url + "/health", key=None)  # health needs no key
    assert health.status == 200 and health.json()["status"] == "ok" and health.json()["backend"] == "piper"
    models = call(piper_server.url + "/v1/models").json()
    ids = [m["id"] for m in models["data"]]
    assert models["object"] == "list" and ids[:2] == ["piper", "chorus-tts"]


def test_response_formats_decode_to_the_same_duration(piper_server: ServerProcess) -> None:
    text = "The signal chain starts at the microphone."
    durations: dict[str, float] = {}
    for fmt in ("wav", "flac", "mp3", "pcm"):
        body = {"model": "piper", "input": text, "voice": "piper:2", "response_format": fmt}
        reply = call(piper_server.url + "/v1/audio/speech", {**body, "seed": 1, "temperature": 0.7})
        assert reply.status == 200, reply.body
        rate = int(reply.headers["X-Chorus-Sample-Rate"])
        assert rate == 22050
        if fmt == "pcm":
            assert reply.headers["Content-Type"] == "audio/pcm"
            audio = np.frombuffer(reply.body, dtype="<i2").astype(np.float32) / 32768
        else:
            audio, file_rate = soundfile.read(io.BytesIO(reply.body), dtype="float32")
            assert file_rate == rate
        assert float(np.sqrt(np.mean(audio**2))) > 0.01  # speech, not silence
        durations[fmt] = len(audio) / rate
    assert 1.0 < durations["wav"] < 6.0
    assert durations["flac"] == pytest.approx(durations["wav"], abs=1e-3)
    assert durations["pcm"] == pytest.approx(durations["wav"], abs=1e-3)
    assert durations["mp3"] == pytest.approx(durations["wav"], abs=0.08)  # MP3 frames pad the ends


def test_speed_stretches_the_audio(piper_server: ServerProcess) -> None:
    body = {"input": "Half a second between speakers.", "voice": "alloy"}
    normal = call(piper_server.url + "/v1/audio/speech", body)
    fast = call(piper_server.url + "/v1/audio/speech", {**body, "speed": 2.0})
    assert normal.status == fast.status == 200
    ratio = float(fast.headers["X-Chorus-Duration"]) / float(normal.headers["X-Chorus-Duration"])
    assert 0.4 < ratio < 0.6


def test_bad_requests_get_openai_style_errors(piper_server: ServerProcess) -> None:
    speech = piper_server.url + "/v1/audio/speech"
    assert_error(call(speech, {"input": "   "}), 400, "empty_input", "'input' is empty")
    assert_error(call(speech, {"voice": "alloy"}), 400, "missing_field", "'input' is required")
    assert_error(call(speech, {"input": "Hi.", "voice": "bob"}), 400, "voice_not_found", "'bob'", "piper:N")
    assert_error(call(speech, {"input": "Hi.", "voice": "piper:x"}), 400, "voice_not_found")
    assert_error(call(speech, {"input": "Hi.", "response_format": "opus"}), 400, "unsupported_format", "wav")
    assert_error(call(speech, {"input": "Hi.", "speed": 9}), 400, "invalid_value", "'speed'")
    assert_error(call(speech, {"input": "Hi.", "top_k": "many"}), 400, "invalid_value", "'top_k'")
    assert_error(call(speech, {"input": "Hi.", "kind": "shouting"}), 400, "invalid_value", "'kind'")
    assert_error(call(speech, raw=b"{not json"), 400, "invalid_json", "not valid JSON")
    assert_error(call(speech, [1, 2]), 400, "invalid_value", "JSON object")
    assert_error(call(speech, {"input": "Hi.", "model": "gpt-4o-mini-tts"}), 404, "model_not_found", "piper")
    assert_error(call(piper_server.url + "/v1/audio/nothing", {"input": "Hi."}), 404, "not_found")

    chat = piper_server.url + "/v1/chat/completions"
    clone = {
        "messages": [
            {"role": "user", "content": "A tone."},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "input_audio",
                        "input_audio": {"data": base64.b64encode(tone_wav()).decode(), "format": "wav"},
                    }
                ],
            },
            {"role": "user", "content": "Now say this."},
        ]
    }
    # Piper cannot clone: the backend's own reason comes back as a 400
    assert_error(call(chat, clone), 400, "unsupported_voice", "cannot clone")
    assert_error(call(chat, {**clone, "stream": True}), 400, "invalid_value", "streaming")
    garbage = json.loads(json.dumps(clone))
    garbage["messages"][1]["content"][0]["input_audio"]["data"] = base64.b64encode(
        b"not audio at all"
    ).decode()
    assert_error(call(chat, garbage), 400, "invalid_audio", "not wav audio")
    assert_error(call(chat, {"messages": []}), 400, "missing_field")
    assert_error(call(chat, {"messages": clone["messages"][:2]}), 400, "empty_input", "last message")


def test_chat_completion_with_a_preset_voice(piper_server: ServerProcess) -> None:
    reply = call(
        piper_server.url + "/v1/chat/completions",
        {
            "model": "chorus-tts",
            "messages": [{"role": "user", "content": "Thanks for listening."}],
            "modalities": ["text", "audio"],
            "audio": {"voice": "piper:1", "format": "flac"},
        },
    )
    assert reply.status == 200, reply.body
    answer = reply.json()
    message = answer["choices"][0]["message"]
    assert answer["object"] == "chat.completion" and answer["model"] == "chorus-tts"
    assert message["role"] == "assistant" and message["audio"]["transcript"] == "Thanks for listening."
    audio, rate = soundfile.read(io.BytesIO(base64.b64decode(message["audio"]["data"])), dtype="float32")
    assert rate == 22050 and len(audio) / rate == pytest.approx(answer["chorus"]["duration"], abs=1e-3)


def test_api_key_is_enforced(piper_server: ServerProcess) -> None:
    speech = piper_server.url + "/v1/audio/speech"
    body = {"input": "Who goes there?"}
    assert_error(call(speech, body, key=None), 401, "missing_api_key", "Authorization: Bearer")
    assert_error(call(speech, body, key="wrong"), 401, "invalid_api_key")
    assert_error(call(piper_server.url + "/v1/models", key="wrong"), 401, "invalid_api_key")
    assert call(speech, body).status == 200


def test_bad_arguments_exit_with_a_message(tmp_path: Path) -> None:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "engine", "serve", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={k: v for k, v in {**os.environ, **(env or {})}.items() if k != "CHORUS_UNSET_KEY"},
            timeout=SAFETY_S,
        )

    done = run("--options", "[1]")
    assert done.returncode == 2 and "--options must be a JSON object" in done.stderr
    done = run("--api-key-env", "CHORUS_UNSET_KEY")
    assert done.returncode == 2 and "CHORUS_UNSET_KEY" in done.stderr
    (tmp_path / "config.json").write_text(
        json.dumps({"anna": {"transcript": "hi", "audio_file": "anna.wav"}})
    )
    done = run("--voices-dir", str(tmp_path))
    assert done.returncode == 2 and "anna.wav does not exist" in done.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run("--port", str(taken.getsockname()[1]), "--options", PIPER)
    assert done.returncode == 1 and "cannot listen on http://127.0.0.1:" in done.stderr


# --------------------------------------------------------------------------------------------------
# Lifecycle with a scripted backend (in-process server)
# --------------------------------------------------------------------------------------------------


class ScriptedBackend(Backend):
    """Loads when ``release`` is set; renders a 0.5 s tone; "fail" in the text raises BackendError."""

    def __init__(self) -> None:
        super().__init__(name="scripted")
        self.release = threading.Event()
        self.active = 0
        self.most_active = 0
        self.lock = threading.Lock()

    def capabilities(self) -> Capabilities:
        return Capabilities(sample_rate=16000)

    def load(self, progress: Callable[[float, str], None] | None = None) -> None:
        self.release.wait(SAFETY_S)
        self.loaded = True

    def check(self, job: RenderJob) -> str:
        return "" if job.voice.kind == "piper" else "the scripted backend only has Piper voices"

    def render(self, job: RenderJob, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            if "fail" in job.text:
                raise BackendError("the scripted model ran out of ink")
            threading.Event().wait(0.05)
            t = np.arange(8000) / 16000
            return RenderResult(
                audio=(0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), sample_rate=16000
            )
        finally:
            with self.lock:
                self.active -= 1


def test_loading_503_then_one_request_at_a_time_and_500_on_failure() -> None:
    backend = ScriptedBackend()
    server = EngineServer(backend, "127.0.0.1", 0)
    server.start()
    try:
        speech = server.url + "/v1/audio/speech"
        loading = call(speech, {"input": "Too early."})
        assert_error(loading, 503, "model_loading", "loading")
        assert loading.headers.get("Retry-After")
        assert call(server.url + "/health").status == 503
        backend.release.set()
        assert server.wait_loaded() == "ready"

        results: list[Reply] = []
        threads = [
            threading.Thread(target=lambda i=i: results.append(call(speech, {"input": f"Line {i}."})))
            for i in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(SAFETY_S)
        assert [r.status for r in results] == [200] * 6
        assert backend.most_active == 1  # the model saw one request at a time
        assert_error(call(speech, {"input": "Please fail."}), 500, "backend_error", "ran out of ink")
        assert call(speech, {"input": "Fine again."}).status == 200
    finally:
        server.stop()
    assert not backend.loaded or backend.active == 0


# --------------------------------------------------------------------------------------------------
# The tiny Higgs model behind the server
# --------------------------------------------------------------------------------------------------


def _tiny_higgs() -> tuple[Path, int]:
    try:
        from higgs_tiny import FRAMES, tiny_model_dir

        return tiny_model_dir(), FRAMES
    except Exception as exc:  # noqa: BLE001 - the tiny model builder is owned elsewhere and may be in flux
        pytest.skip(f"the tiny Higgs model cannot be built here ({type(exc).__name__}: {exc})")


@dataclass
class HiggsServer:
    server: ServerProcess
    frames: int
    folder: Path

    @property
    def samples(self) -> int:
        return self.frames * 960  # 25 frames per second at 24 kHz


@pytest.fixture(scope="module")
def higgs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HiggsServer]:
    model_dir, frames = _tiny_higgs()
    folder = tmp_path_factory.mktemp("higgs-serve")
    presets = folder / "presets"
    presets.mkdir()
    (presets / "anna.wav").write_bytes(tone_wav(freq=330.0))
    (presets / "config.json").write_text(
        json.dumps({"anna": {"transcript": "A high tone.", "audio_file": "anna.wav"}})
    )
    options = {"model": str(model_dir), "device": "cpu", "fixed_frames": frames}
    server = start_server(
        folder, "--backend", "higgs", "--options", json.dumps(options), "--voices-dir", str(presets)
    )
    yield HiggsServer(server, frames, folder)
    server.stop()


def test_higgs_server_clones_from_input_audio(higgs_server: HiggsServer) -> None:
    url = higgs_server.server.url
    reply = call(
        url + "/v1/chat/completions",
        {
            "model": "higgs",
            "messages": [
                {
                    "role": "system",
                    "content": "Generate audio following instruction.\n\n<|scene_desc_start|>\n"
                    "Audio is recorded from a quiet room.\n<|scene_desc_end|>",
                },
                {"role": "user", "content": "A low tone."},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "input_audio",
                            "input_audio": {"data": base64.b64encode(tone_wav()).decode(), "format": "wav"},
                        }
                    ],
                },
                {"role": "user", "content": "Hey, everyone! Welcome back."},
            ],
            "modalities": ["text", "audio"],
            "temperature": 0.7,
            "top_k": 50,
            "seed": 3,
        },
        key=None,
    )
    assert reply.status == 200, reply.body
    data = reply.json()["choices"][0]["message"]["audio"]["data"]
    audio, rate = soundfile.read(io.BytesIO(base64.b64decode(data)))
    assert rate == 24000 and len(audio) == higgs_server.samples

    speech = call(
        url + "/v1/audio/speech",
        {"input": "Hello from a preset.", "voice": "anna", "response_format": "flac"},
        key=None,
    )
    assert speech.status == 200, speech.body
    audio, rate = soundfile.read(io.BytesIO(speech.body))
    assert rate == 24000 and len(audio) == higgs_server.samples
    assert_error(
        call(url + "/v1/audio/speech", {"input": "Hi.", "voice": "piper:1"}, key=None), 400, "voice_not_found"
    )


def test_openai_backend_clones_through_a_higgs_server(higgs_server: HiggsServer) -> None:
    """The remote backend's chat route (reference clip as input_audio) against the real Higgs server."""
    from engine.backends.openai_speech import OpenAISpeechBackend

    clip = higgs_server.folder / "ref.flac"
    soundfile.write(clip, soundfile.read(io.BytesIO(tone_wav()))[0], 24000)  # FLAC: sent re-encoded as WAV
    before = higgs_server.server.requests_seen("/v1/chat/completions")
    backend = OpenAISpeechBackend({"url": higgs_server.server.url + "/v1", "backoff_s": 0.05})
    backend.load()
    clone = VoiceSpec(kind="clip", ref_audio=str(clip), transcript="A tone.")
    jobs = [
        RenderJob("clone", "Hello there, how are you?", "", speakers=(clone,)),
        RenderJob("smart", "And a second voice.", "", speakers=(VoiceSpec(kind="smart"),)),
        RenderJob(
            "profile",
            "A described voice.",
            "",
            speakers=(VoiceSpec(kind="profile", profile="Female, bright."),),
        ),
    ]
    outcomes = backend.render_batch(jobs, lambda job_id, fraction: None, lambda job_id: False)
    for outcome in outcomes:
        assert outcome.error == "" and outcome.result is not None, outcome.error
        assert outcome.result.sample_rate == 24000 and outcome.result.audio.size == higgs_server.samples
    assert higgs_server.server.requests_seen("/v1/chat/completions") == before + 3


def test_demo_podcast_renders_through_a_higgs_server(higgs_server: HiggsServer) -> None:
    """The studio's path: RenderSession + EngineClient(backend="openai") → HTTP → the tiny Higgs model."""
    import shutil

    from studio.core import ops
    from studio.core.store import ProjectFile
    from studio.render.client import EngineClient
    from studio.render.session import RenderSession

    copy = higgs_server.folder / "podcast.chorus"
    shutil.copytree(REPO / "projects" / "podcast.chorus", copy)
    pf = ProjectFile.open(copy)
    client = None
    try:
        voice_map = {"Maya": "anna", "Theo": "profile:Male, low voice, calm and measured."}
        options = (("url", higgs_server.server.url), ("voice_map", voice_map), ("backoff_s", 0.05))
        pf.project.apply(ops.set_settings(backend="openai", backend_options=options))
        session = RenderSession(pf, layout=False)
        jobs = session.prepare()
        client = EngineClient(backend="openai", options=pf.project.settings.backend_options_dict())
        client.start()
        client.submit(jobs)
        deadline = threading.Event()
        timer = threading.Timer(SAFETY_S, deadline.set)
        timer.start()
        while not session.done and not deadline.is_set():
            for event in client.poll(0.1):
                session.handle(event)
        timer.cancel()
        assert session.done and session.count("done") == len(jobs) == 15, session.failures()
        for line in pf.project.ordered_lines():
            take = pf.project.selected_take(line.id)
            assert take is not None and take.backend == "openai"
            info = soundfile.info(pf.media_path(take.media))
            assert info.samplerate == 24000 and info.frames == higgs_server.samples
    finally:
        if client is not None:
            client.shutdown()
        pf.close()


def test_higgs_server_stops_cleanly_on_sigterm(higgs_server: HiggsServer) -> None:
    assert higgs_server.server.stop() == 0
    assert "stopping" in higgs_server.server.log.read_text()
