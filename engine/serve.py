"""``python -m engine serve`` (``chorus engine serve``): one engine backend behind an OpenAI-compatible HTTP API.

    python -m engine serve --host 127.0.0.1 --port 8000 [--backend piper|higgs] [--options JSON]
                           [--voices-dir DIR] [--api-key-env VAR] [--served-model-name NAME ...]

Lets one GPU machine serve several studios (their ``openai`` backend points at it) and gives the remote
backend a real server to be tested against. Endpoints (request/response shapes in :mod:`engine.http_api`):

    GET  /health                 {"status": "ok" | "loading" | "failed", backend, model, device, queued}
    GET  /v1/models              the model ids this server answers to (backend name, model id, --served-model-name)
    POST /v1/audio/speech        OpenAI speech: text + voice → audio bytes (streamed with "stream": true)
    POST /v1/chat/completions    vLLM higgs-audio style: reference audio as input_audio → audio in message.audio

The backend is created and loaded once (``/health`` and the API answer 503 while it loads); ``serving on
http://HOST:PORT`` is printed on stdout when it is ready. Requests are rendered by ONE worker thread in
arrival order (models are not thread-safe), the studio engine's :class:`engine.runner.JobRunner`: it takes
what is queued — up to the backend's concurrency (Piper's process pool) or batch size (Higgs), and a
continuous-batching backend pulls requests into its running batch as places free up. ``"stream": true``
on ``/v1/audio/speech`` answers with chunked transfer encoding as the audio is made (pcm, wav). With
``--api-key-env VAR`` every ``/v1`` request needs ``Authorization: Bearer <value of VAR>`` (401
otherwise). SIGTERM/SIGINT stop the server: queued requests get 503, the backend is closed, the exit
code is 0.

Exit codes: 0 after a clean stop; 1 if the port cannot be opened or the model fails to load; 2 for bad
arguments. Nothing here imports studio.

Thread contract: the HTTP server runs request handlers on their own threads (``ThreadingHTTPServer``);
they only parse, queue and wait. The backend is touched by the worker thread alone.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import logging
import os
import queue
import signal
import sys
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from engine.backends.base import BACKENDS, Backend, BackendError, JobOutcome, create_backend
from engine.http_api import (
    SPEECH_FORMATS,
    ApiError,
    AudioStore,
    EncodeError,
    Preset,
    PresetsError,
    SpeechRequest,
    VoiceCatalog,
    chat_response,
    encode_audio,
    load_presets,
    models_list,
    parse_chat,
    parse_speech,
    to_pcm16,
    wav_stream_header,
)
from engine.protocol import RenderJob
from engine.runner import FAILED, LOADING, READY, STOPPING, JobRunner, QueueFull, RunnerListener

LOG = logging.getLogger("engine.serve")
MAX_BODY_BYTES = 80 * 1024 * 1024
MAX_QUEUE = 256


# --------------------------------------------------------------------------------------------------
# The render worker: one backend, one thread
# --------------------------------------------------------------------------------------------------


@dataclass
class Ticket:
    """One queued request: the handler waits on ``done``; the worker fills in the outcome.

    ``chunks`` (streaming requests): partial audio as ``(samples, sample_rate)``, then None once the
    outcome is in.
    """

    job: RenderJob
    done: threading.Event = field(default_factory=threading.Event)
    outcome: JobOutcome | None = None
    rejected: str = ""  # the backend cannot honour the job as asked (→ 400)
    chunks: queue.SimpleQueue[tuple[np.ndarray, int] | None] | None = None


class RenderWorker(RunnerListener):
    """The backend behind a :class:`engine.runner.JobRunner` (the same queue and batching as the studio's
    engine): loads it once, then renders queued tickets on the runner's worker thread.

    ``submit``/``cancel`` may be called from any thread (request handlers); everything that touches the
    backend runs on the worker; the listener methods fill in tickets from it.
    """

    def __init__(self, backend: Backend, max_queue: int = MAX_QUEUE) -> None:
        self.backend = backend
        self.runner = JobRunner(backend, self, check_jobs=True, max_queue=max_queue, name="serve-worker")
        self._tickets: dict[str, Ticket] = {}
        self._lock = threading.Lock()
        self._group = ""

    @property
    def state(self) -> str:
        return self.runner.state

    @property
    def detail(self) -> str:
        """Why loading failed, else the backend's own status line (its render path, its memory plan)."""
        if self.runner.load_error:
            return self.runner.load_error
        return self.backend.status_detail() if self.backend.loaded else ""

    def start(self) -> None:
        self.runner.start()

    def wait_loaded(self, stop: threading.Event) -> None:
        while not self.runner.wait_loaded(0.1) and not stop.is_set():
            pass

    @property
    def queued(self) -> int:
        return self.runner.queued

    def submit(self, job: RenderJob, *, stream: bool = False) -> Ticket:
        """Queue ``job`` (QueueFull when the queue is full); ``stream``: partial audio into ``chunks``."""
        if self.state == STOPPING:
            raise ApiError(503, "the server is shutting down", kind="server_error", code="shutting_down")
        job = replace(job, group=self._group or job.group, stream=stream)
        ticket = Ticket(job, chunks=queue.SimpleQueue() if stream else None)
        with self._lock:
            self._tickets[job.job_id] = ticket
        try:
            self.runner.submit([job])
        except QueueFull:
            with self._lock:
                self._tickets.pop(job.job_id, None)
            raise
        return ticket

    def cancel(self, job_id: str) -> None:
        """Stop rendering a request nobody waits for any more (its client went away)."""
        self.runner.cancel({job_id})

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what runs, answer what waits with 'cancelled', close the backend."""
        self.runner.shutdown()
        self.runner.join(timeout)
        with contextlib.suppress(Exception):
            self.backend.close()

    # runner listener (worker thread; ``done`` also on the thread that cancels queued jobs)

    def loading(self, fraction: float, detail: str) -> None:
        LOG.info("loading %3.0f%% %s", fraction * 100, detail)

    def loaded(self, error: str) -> None:
        caps = self.backend.capabilities()
        # a batching backend renders queued requests together (the runner batches by group)
        if caps.batch_size > 1 and caps.concurrency <= 1 and not caps.continuous:
            self._group = "serve"

    def chunk(self, job: RenderJob, seq: int, samples: np.ndarray, sample_rate: int) -> None:
        with self._lock:
            ticket = self._tickets.get(job.job_id)
        if ticket is not None and ticket.chunks is not None:
            ticket.chunks.put((samples, sample_rate))

    def rejected(self, job: RenderJob, reason: str) -> None:
        self._answer(job.job_id, None, reason)

    def done(self, job: RenderJob, outcome: JobOutcome) -> None:
        self._answer(job.job_id, outcome, "")

    def _answer(self, job_id: str, outcome: JobOutcome | None, rejected: str) -> None:
        with self._lock:
            ticket = self._tickets.pop(job_id, None)
        if ticket is None:
            return
        ticket.outcome, ticket.rejected = outcome, rejected
        ticket.done.set()
        if ticket.chunks is not None:
            ticket.chunks.put(None)


# --------------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------------


@dataclass
class ServeApp:
    """What the request handlers share (read-only after start, apart from the worker's own state)."""

    worker: RenderWorker
    catalog: VoiceCatalog
    store: AudioStore
    served_names: tuple[str, ...] = ()
    api_key: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def models(self) -> list[str]:
        """Model ids requests may name: the backend, --served-model-name ones, the loaded model's id."""
        backend = self.worker.backend
        return [m for m in dict.fromkeys([backend.name, *self.served_names, backend.model_id]) if m]


class ChorusHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: ServeApp) -> None:
        self.app = app
        super().__init__(address, ApiHandler)


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ChorusEngine/1"
    server: ChorusHTTPServer

    # ------------------------------------------------------------------ plumbing

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        LOG.info("%s %s", self.address_string(), format % args)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json", headers)

    def _error(self, error: ApiError) -> None:
        headers = {"Retry-After": "2"} if error.status in (429, 503) else None
        if error.status == 500:
            LOG.warning("%s %s → %d %s", self.command, self.path, error.status, error.message)
        self._json(error.status, error.body(), headers)

    def _read_json(self) -> Any:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            raise ApiError(411, "send the request body with a Content-Length header", code="length_required")
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "bad Content-Length header") from None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise ApiError(
                413, f"the request body is larger than {MAX_BODY_BYTES // 2**20} MB", code="too_large"
            )
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, f"the request body is not valid JSON: {exc}", code="invalid_json") from None

    def _check_key(self) -> None:
        key = self.server.app.api_key
        if not key:
            return
        given = self.headers.get("Authorization", "")
        token = given[7:].strip() if given[:7].lower() == "bearer " else ""
        if not token:
            raise ApiError(
                401,
                "this server needs an API key: send 'Authorization: Bearer <key>'",
                kind="authentication_error",
                code="missing_api_key",
            )
        if not hmac.compare_digest(token.encode(), key.encode()):
            raise ApiError(
                401,
                "the API key is not valid for this server",
                kind="authentication_error",
                code="invalid_api_key",
            )

    def _check_ready(self) -> None:
        worker = self.server.app.worker
        if worker.state == LOADING:
            raise ApiError(
                503,
                "the model is still loading; try again shortly",
                kind="server_error",
                code="model_loading",
            )
        if worker.state == FAILED:
            raise ApiError(
                503, f"the model failed to load: {worker.detail}", kind="server_error", code="model_failed"
            )
        if worker.state == STOPPING or self.server.app.stopping.is_set():
            raise ApiError(503, "the server is shutting down", kind="server_error", code="shutting_down")

    # ------------------------------------------------------------------ routes

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        try:
            if path == "/health":
                self._health()
            elif path == "/v1/models":
                self._check_key()
                app = self.server.app
                self._json(200, models_list(app.models, app.worker.backend.name))
            else:
                raise ApiError(404, f"no such endpoint: GET {path}", code="not_found")
        except ApiError as error:
            self._error(error)

    def do_POST(self) -> None:  # noqa: N802
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        try:
            if path not in ("/v1/audio/speech", "/v1/chat/completions"):
                self.close_connection = True
                raise ApiError(404, f"no such endpoint: POST {path}", code="not_found")
            try:
                self._check_key()
            except ApiError:
                self.close_connection = True  # the body stays unread
                raise
            body = self._read_json()
            self._check_ready()
            if path == "/v1/audio/speech":
                self._speech(body)
            else:
                self._chat(body)
        except ApiError as error:
            self._error(error)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away
        except Exception as exc:  # noqa: BLE001 - a bug answers 500, it does not kill the server
            LOG.exception("request failed")
            self._error(
                ApiError(
                    500,
                    f"internal error: {type(exc).__name__}: {exc}",
                    kind="server_error",
                    code="internal_error",
                )
            )

    def _health(self) -> None:
        app = self.server.app
        worker = app.worker
        state = "ok" if worker.state == READY else worker.state
        payload = {
            "status": state,
            "backend": worker.backend.name,
            "model": worker.backend.model_id,
            "device": worker.backend.device,
            "queued": worker.queued,
            "detail": worker.detail,
        }
        self._json(200 if worker.state == READY else 503, payload)

    def _queue(self, job: RenderJob, *, stream: bool = False) -> Ticket:
        """Queue ``job`` (ApiError 429 when the queue is full or 503 when stopping)."""
        try:
            return self.server.app.worker.submit(job, stream=stream)
        except QueueFull:
            raise ApiError(
                429, "the server's queue is full; retry shortly", kind="rate_limit_error", code="queue_full"
            ) from None

    def _stopped_waiting(self, ticket: Ticket) -> bool:
        """Called every half second of waiting: True once the server stops and ``ticket`` still has no
        outcome after a last grace period."""
        app = self.server.app
        if app.stopping.is_set() and app.worker.state == STOPPING:
            ticket.done.wait(15.0)
            return True
        return False

    def _result(self, ticket: Ticket) -> tuple[np.ndarray, int, bool, str]:
        """(audio, rate, suspect, note) of a finished ticket, or the ApiError it stands for."""
        app = self.server.app
        if ticket.rejected:
            raise ApiError(400, ticket.rejected, code="unsupported_voice")
        outcome = ticket.outcome
        if outcome is None or outcome.cancelled:
            raise ApiError(503, "the server is shutting down", kind="server_error", code="shutting_down")
        if outcome.error or outcome.result is None:
            raise ApiError(
                500,
                f"the {app.worker.backend.name} backend failed: {outcome.error or 'no audio'}",
                kind="server_error",
                code="backend_error",
            )
        result = outcome.result
        audio = np.asarray(result.audio, dtype=np.float32).reshape(-1)
        if audio.size == 0 or not np.all(np.isfinite(audio)) or result.sample_rate <= 0:
            raise ApiError(
                500,
                "the backend produced no usable audio for this text",
                kind="server_error",
                code="backend_error",
            )
        return audio, int(result.sample_rate), bool(result.suspect), result.note

    def _render(self, job: RenderJob) -> tuple[np.ndarray, int, bool, str]:
        """Queue ``job``, wait for it, and return (audio, rate, suspect, note) or raise ApiError."""
        ticket = self._queue(job)
        while not ticket.done.wait(0.5):
            if self._stopped_waiting(ticket):
                break
        return self._result(ticket)

    def _speech(self, body: Any) -> None:
        app = self.server.app
        request = parse_speech(body, app.catalog, app.models, f"speech-{uuid.uuid4().hex[:12]}")
        if request.stream:
            self._speech_stream(request)
            return
        audio, rate, suspect, note = self._render(request.job)
        if abs(request.speed - 1.0) > 1e-6:
            audio = _stretch(audio, rate, request.speed)
        data = _encode(audio, rate, request.response_format)
        headers = {
            "X-Chorus-Sample-Rate": str(rate),
            "X-Chorus-Duration": f"{audio.size / rate:.4f}",
            "X-Chorus-Suspect": "1" if suspect else "0",
        }
        if note:
            headers["X-Chorus-Note"] = urllib.parse.quote(note[:500])
        self._send(200, data, SPEECH_FORMATS[request.response_format], headers)

    def _speech_stream(self, request: SpeechRequest) -> None:
        """``stream: true``: chunked transfer encoding, audio written as the backend makes it.

        The status line goes out with the first audio, so a request that fails before any (a bad
        voice, a backend error) still gets its JSON error. A failure after audio was sent ends the
        response without its last (empty) chunk and closes the connection: the client sees a
        truncated transfer, not a short file that looks complete. A client that goes away cancels its job.
        """
        stretch = abs(request.speed - 1.0) > 1e-6  # needs the whole line: sent in one piece at the end
        ticket = self._queue(request.job, stream=not stretch)
        out = _ChunkedAudio(self, request.response_format)
        try:
            if ticket.chunks is not None:
                while True:
                    try:
                        item = ticket.chunks.get(timeout=0.5)
                    except queue.Empty:
                        if self._stopped_waiting(ticket):
                            break
                        continue
                    if item is None:
                        break
                    pieces = [item]
                    with contextlib.suppress(queue.Empty):
                        while len(pieces) < 64:  # whatever else is waiting goes out in one write
                            more = ticket.chunks.get_nowait()
                            if more is None:
                                ticket.chunks.put(None)
                                break
                            pieces.append(more)
                    out.write(np.concatenate([p[0] for p in pieces]), pieces[0][1])
            else:
                while not ticket.done.wait(0.5):
                    if self._stopped_waiting(ticket):
                        break
            try:
                audio, rate, _suspect, _note = self._result(ticket)
            except ApiError:
                if not out.started:
                    raise
                LOG.warning("streamed request %s failed after its first audio", request.job.job_id)
                out.abort()
                return
            if stretch:
                audio = _stretch(audio, rate, request.speed)
            if audio.size > out.samples:  # a backend that streams nothing (or not all): the rest now
                out.write(audio[out.samples :], rate)
            out.finish()
        except (BrokenPipeError, ConnectionResetError):
            self.server.app.worker.cancel(request.job.job_id)
            raise

    def _chat(self, body: Any) -> None:
        app = self.server.app
        request = parse_chat(body, app.catalog, app.models, f"chat-{uuid.uuid4().hex[:12]}", app.store)
        audio, rate, suspect, note = self._render(request.job)
        data = _encode(audio, rate, request.response_format)
        payload = chat_response(
            request.model,
            data,
            request.job.text,
            sample_rate=rate,
            duration=round(audio.size / rate, 4),
            suspect=suspect,
            note=note,
        )
        self._json(200, payload)


class _ChunkedAudio:
    """A streamed ``/v1/audio/speech`` answer: headers with the first audio, one HTTP chunk per write."""

    def __init__(self, handler: ApiHandler, fmt: str) -> None:
        self.handler = handler
        self.fmt = fmt
        self.started = False
        self.samples = 0

    def write(self, audio: np.ndarray, rate: int) -> None:
        handler = self.handler
        data = to_pcm16(audio)
        if not self.started:
            self.started = True
            handler.send_response(200)
            handler.send_header("Content-Type", SPEECH_FORMATS[self.fmt])
            handler.send_header("Transfer-Encoding", "chunked")
            handler.send_header("X-Chorus-Sample-Rate", str(rate))
            if handler.close_connection:
                handler.send_header("Connection", "close")
            handler.end_headers()
            if self.fmt == "wav":
                data = wav_stream_header(rate) + data
        self.samples += int(audio.size)
        if data:
            handler.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
            handler.wfile.flush()

    def finish(self) -> None:
        self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def abort(self) -> None:
        self.handler.close_connection = True


def _stretch(audio: np.ndarray, rate: int, speed: float) -> np.ndarray:
    from engine.backends.piper_variants import time_stretch

    return time_stretch(audio, 1.0 / speed, rate)


def _encode(audio: np.ndarray, rate: int, fmt: str) -> bytes:
    try:
        return encode_audio(audio, rate, fmt)
    except EncodeError as exc:
        raise ApiError(500, str(exc), kind="server_error", code="encode_error") from None


class EngineServer:
    """One backend behind the HTTP API: bind at construction (OSError if the port is taken), ``start``
    serving and loading, ``wait_loaded``, ``stop``. ``main`` runs one; tests may run one in-process.

    Thread contract: construct, start and stop from one thread; ``stopping`` may be set from any thread
    (a signal handler does).
    """

    def __init__(
        self,
        backend: Backend,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        presets: dict[str, Preset] | None = None,
        api_key: str = "",
        served_model_names: Sequence[str] = (),
        max_queue: int = MAX_QUEUE,
    ) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="chorus-serve-")
        self.app = ServeApp(
            worker=RenderWorker(backend, max_queue=max(1, max_queue)),
            catalog=VoiceCatalog(backend.name, backend.capabilities(), presets or {}),
            served_names=tuple(served_model_names),
            store=AudioStore(self._scratch.name),
            api_key=api_key,
        )
        try:
            self.http = ChorusHTTPServer((host, port), self.app)
        except OSError:
            self._scratch.cleanup()
            raise
        bound_host, bound_port = self.http.server_address[:2]
        self.url = _url(str(bound_host), int(bound_port))
        self._thread = threading.Thread(
            target=self.http.serve_forever, kwargs={"poll_interval": 0.2}, name="serve-http", daemon=True
        )

    @property
    def stopping(self) -> threading.Event:
        return self.app.stopping

    def start(self) -> None:
        """Answer HTTP at once (503 while loading) and load the backend on the worker thread."""
        self._thread.start()
        self.app.worker.start()

    def wait_loaded(self) -> str:
        """Block until the backend loaded or failed (or ``stopping`` is set); returns the worker state."""
        self.app.worker.wait_loaded(self.app.stopping)
        return self.app.worker.state

    def stop(self) -> None:
        """Answer waiting requests with 503, close the backend, stop listening. Safe to call twice."""
        self.app.stopping.set()
        self.app.worker.stop()
        if self._thread.is_alive():
            self.http.shutdown()
        self.http.server_close()
        self._scratch.cleanup()


# --------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chorus engine serve",
        description="Serve a Chorus engine backend over an OpenAI-compatible HTTP API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free port)")
    parser.add_argument(
        "--backend", default="piper", choices=sorted(BACKENDS), help="engine backend to serve (default piper)"
    )
    parser.add_argument("--options", default="{}", help="backend options as a JSON object")
    parser.add_argument(
        "--voices-dir",
        default=None,
        help="voice presets folder (config.json: name -> transcript, audio_file)",
    )
    parser.add_argument(
        "--api-key-env",
        default=None,
        metavar="VAR",
        help="require 'Authorization: Bearer KEY' where KEY is the value of environment variable VAR",
    )
    parser.add_argument(
        "--served-model-name",
        action="append",
        default=[],
        metavar="NAME",
        help="another model id clients may name (repeatable)",
    )
    parser.add_argument(
        "--max-queue", type=int, default=MAX_QUEUE, help="queued requests before 429 (default 256)"
    )
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    return parser


def _fail(message: str, code: int = 2) -> int:
    print(f"chorus engine serve: {message}", file=sys.stderr, flush=True)
    return code


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        stream=sys.stderr,
        format="engine serve %(levelname)s: %(message)s",
    )
    try:
        options: Any = json.loads(args.options)
    except json.JSONDecodeError as exc:
        return _fail(f"--options is not valid JSON: {exc}")
    if not isinstance(options, dict):
        return _fail("--options must be a JSON object")
    if not 0 <= args.port <= 65535:
        return _fail(f"--port {args.port} is not a port number (0-65535)")
    api_key = ""
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env, "").strip()
        if not api_key:
            return _fail(
                f"--api-key-env names {args.api_key_env}, but that environment variable is empty or unset"
            )
    elif args.host not in ("127.0.0.1", "localhost", "::1"):
        LOG.warning("serving on %s without an API key: anyone who can reach it can use it", args.host)
    presets = {}
    if args.voices_dir:
        try:
            presets = load_presets(args.voices_dir)
        except PresetsError as exc:
            return _fail(str(exc))
    try:
        backend = create_backend(args.backend, options)
    except BackendError as exc:
        return _fail(str(exc))

    try:
        server = EngineServer(
            backend,
            args.host,
            args.port,
            presets=presets,
            api_key=api_key,
            served_model_names=args.served_model_name,
            max_queue=args.max_queue,
        )
    except OSError as exc:
        return _fail(f"cannot listen on {_url(args.host, args.port)}: {exc.strerror or exc}", 1)

    def request_stop(signum: int, frame: Any) -> None:
        server.stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError):  # not the main thread (tests calling main directly)
            signal.signal(signum, request_stop)

    LOG.info("listening on %s; loading the %s backend", server.url, backend.name)
    server.start()
    state = server.wait_loaded()
    code = 0
    if state == FAILED:
        code = _fail(f"the {backend.name} backend could not start: {server.app.worker.detail}", 1)
    elif state == READY:
        print(f"serving on {server.url}", flush=True)
        if server.app.worker.detail:
            LOG.info("%s", server.app.worker.detail)
        LOG.info(
            "models: %s; voices: %s", ", ".join(server.app.models), ", ".join(server.app.catalog.names()[:12])
        )
        server.stopping.wait()
        LOG.info("stopping")
    server.stop()
    return code


if __name__ == "__main__":  # pragma: no cover - use `python -m engine serve`
    sys.exit(main())
