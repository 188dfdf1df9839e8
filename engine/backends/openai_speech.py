"""The openai backend: lines rendered by OpenAI-compatible speech servers (scale-out beyond one GPU).

Drives vLLM's higgs-audio server, SGLang-Omni / vLLM-Omni (Higgs TTS 3) and other machines running
``chorus engine serve`` (:mod:`engine.serve`), over two routes:

* ``POST /v1/audio/speech`` (OpenAI speech) with a voice *preset* the server knows;
* ``POST /v1/chat/completions`` with the reference clip as an ``input_audio`` part for cloning, shaped as
  vLLM's higgs-audio server expects it (boson-ai/higgs-audio ``examples/vllm/run_chat_completion.py``:
  system prompt with the scene block, the reference transcript as a user turn, the clip as an assistant
  turn ``[{"type": "input_audio", "input_audio": {"data": BASE64, "format": "wav"}}]``, then the text);
  the audio comes back base64 in ``choices[0].message.audio.data`` (OpenAI's ChatCompletionAudio).

Options (project backend options; unknown keys are ignored, generation settings come with each job):
  ``url``          one server, e.g. ``http://gpu-box:8000`` (a trailing ``/v1`` is fine), or
  ``endpoints``    a list of ``{"url", "model", "concurrency", "api_key_env"}`` — several servers
  ``model``        model id to send when an endpoint names none (default: the server's first ``/v1/models`` id)
  ``concurrency``  requests in flight per endpoint (default 4)
  ``mode``         ``auto`` (default: chat for clip/profile/smart voices, speech for presets and Piper
                   voices) | ``speech`` | ``chat``
  ``voice_map``    speaker voice → server preset: keys are speaker names, ``piper:N`` or ``*`` (any other)
  ``timeout_s`` (300), ``retries`` (2: three tries in all), ``backoff_s`` (0.5, doubled per retry)
  ``format``       ``wav`` (default) or ``flac`` — what the speech route asks for
  ``system_prompt`` the chat route's instruction line; ``chorus_extensions`` (True) sends seed, top_k, RAS,
                   scene description … as extra JSON fields (servers that reject unknown fields: set False)

API keys: never from the project file (an ``api_key`` option is refused). Each endpoint's key comes from
the environment variable ``api_key_env`` (default ``CHORUS_OPENAI_API_KEY``), else the OS keyring
(``keyring.get_password("chorus", URL)``), else no key is sent.

Fan-out: jobs run on a thread pool, each request taking a slot on the least busy endpoint (slots per
endpoint = its concurrency). Connection errors, timeouts, 408/429 and 5xx are retried with exponential
back-off — on another endpoint when there is one, and an endpoint that just failed rests a while (2 s,
doubling) while others are up; other 4xx and answers that are not audio are not retried. A failure ends
as one line's error naming the server ("cannot reach http://…: connection refused (after 3 tries)").

Thread contract: the host calls ``load``/``render_stream``/``close`` from its worker thread; the
``progress`` and ``cancelled`` callbacks are only called on that thread (pool threads see a
cancellation through a per-job event that the calling thread sets).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import os
import queue
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.backends.base import (
    Backend,
    BackendError,
    Cancelled,
    CancelledFn,
    Capabilities,
    ChunkFn,
    JobOutcome,
    JobSource,
    ProgressFn,
    RenderResult,
    result_of,
)
from engine.higgs.prompt import DEFAULT_SCENE, SYSTEM_TEXT
from engine.protocol import RenderJob, VoiceSpec

DEFAULT_KEY_ENV = "CHORUS_OPENAI_API_KEY"
KEYRING_SERVICE = "chorus"
MODES = ("auto", "speech", "chat")
FORMATS = ("wav", "flac")
DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
REST_S = 2.0  # a failing endpoint rests this long (doubling per failure, up to MAX_REST_S) if others are up
MAX_REST_S = 60.0
DEFAULT_SYSTEM_PROMPT = SYSTEM_TEXT  # the Higgs prompt constants live once, in engine.higgs.prompt
SCENE_START, SCENE_END = "<|scene_desc_start|>", "<|scene_desc_end|>"
STOP_TOKENS = ["<|eot_id|>", "<|end_of_text|>", "<|audio_eos|>"]  # as vLLM's higgs-audio example sends
SAMPLE_RATE = 24000  # what Higgs servers answer; each take keeps the rate the server sent
_POLL_S = 0.05
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class RemoteError(BackendError):
    """One failed try; ``retry`` says whether another try may succeed."""

    def __init__(self, message: str, *, retry: bool, unreachable: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.unreachable = unreachable


@dataclass
class Endpoint:
    url: str  # base URL without /v1
    model: str = ""
    concurrency: int = DEFAULT_CONCURRENCY
    api_key_env: str = DEFAULT_KEY_ENV
    key_env_named: bool = False
    api_key: str = field(default="", repr=False)
    active: int = 0
    failures: int = 0  # consecutive failed tries
    discovered: str | None = None  # first /v1/models id, once asked
    rest_until: float = 0.0  # after a failure, other endpoints are preferred until then (monotonic)


def normalize_url(value: Any, where: str = "url") -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing ``/`` or ``/v1``; BackendError if not a URL."""
    if not isinstance(value, str) or not value.strip():
        raise BackendError(
            f"the openai backend's {where} must be a server address like http://127.0.0.1:8000"
        )
    url = value.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendError(f"the openai backend's {where} {value!r} is not an http:// or https:// address")
    if parts.query or parts.fragment:
        raise BackendError(f"the openai backend's {where} {value!r} must not have a query or fragment")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url


def keyring_password(url: str) -> str:
    """The key stored in the OS keyring for ``url`` (service "chorus"), or "" (no keyring, none stored)."""
    try:
        import keyring
    except ImportError:
        return ""
    try:
        return str(keyring.get_password(KEYRING_SERVICE, url) or "")
    except Exception:  # noqa: BLE001 - no backend, a locked keyring, D-Bus trouble: no key
        return ""


def _int(options: Mapping[str, Any], name: str, default: int, low: int, high: int, where: str = "") -> int:
    value = options.get(name, default)
    try:
        number = int(value)
        if isinstance(value, bool) or float(value) != number:
            raise ValueError
    except (TypeError, ValueError):
        raise BackendError(
            f"the openai backend option {where}{name} must be a whole number, not {value!r}"
        ) from None
    if not low <= number <= high:
        raise BackendError(f"the openai backend option {where}{name} must be between {low} and {high}")
    return number


def _float(options: Mapping[str, Any], name: str, default: float, low: float) -> float:
    value = options.get(name, default)
    try:
        number = float(value)
        if isinstance(value, bool) or not np.isfinite(number):
            raise ValueError
    except (TypeError, ValueError):
        raise BackendError(f"the openai backend option {name} must be a number, not {value!r}") from None
    if number < low:
        raise BackendError(f"the openai backend option {name} must be at least {low}")
    return number


_KEY_ADVICE = (
    "the openai backend never reads API keys from the project file; put the key in the environment "
    f"variable {DEFAULT_KEY_ENV} (or the one an endpoint names in api_key_env) or in the OS keyring "
    f"(service '{KEYRING_SERVICE}', user = the server URL)"
)


def parse_endpoints(options: Mapping[str, Any]) -> list[Endpoint]:
    """The endpoints the options describe (``endpoints`` list or one ``url``); BackendError if malformed."""
    raw = options.get("endpoints")
    if raw in (None, "", []):
        if not options.get("url"):
            raise BackendError(
                "the openai backend needs a server: set the backend option url (e.g. http://127.0.0.1:8000) "
                "or endpoints (a list of {url, model, concurrency, api_key_env})"
            )
        raw = [{"url": options["url"]}]
    if not isinstance(raw, (list, tuple)):
        raise BackendError("the openai backend option endpoints must be a list of {url, model, concurrency}")
    default_model = str(options.get("model") or "")
    default_concurrency = _int(options, "concurrency", DEFAULT_CONCURRENCY, 1, 256)
    default_env = str(options.get("api_key_env") or DEFAULT_KEY_ENV)
    endpoints: list[Endpoint] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"endpoints[{index}]."
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, Mapping):
            raise BackendError(f"the openai backend option endpoints[{index}] must be an object with a url")
        if "api_key" in entry:
            raise BackendError(f"endpoints[{index}] has an api_key: {_KEY_ADVICE}")
        url = normalize_url(entry.get("url"), f"{where}url")
        if url in seen:
            raise BackendError(
                f"the openai backend lists {url} twice; give it one entry with a higher concurrency"
            )
        seen.add(url)
        env = entry.get("api_key_env")
        if env is not None and (not isinstance(env, str) or not env.strip()):
            raise BackendError(
                f"the openai backend option {where}api_key_env must name an environment variable"
            )
        endpoints.append(
            Endpoint(
                url=url,
                model=str(entry.get("model") or default_model),
                concurrency=_int(entry, "concurrency", default_concurrency, 1, 256, where),
                api_key_env=str(env or default_env),
                key_env_named=env is not None or "api_key_env" in options,
            )
        )
    return endpoints


class _Slots:
    """Per-endpoint request slots. Thread-safe.

    ``acquire`` picks the least busy endpoint with a free slot, skipping those this job already failed on
    (while another exists) and those resting after a failure (while one is awake): a dead server does
    not eat the tries of lines that a live one can take. ``release`` records the endpoint's health.
    """

    def __init__(self, endpoints: list[Endpoint]) -> None:
        self.endpoints = endpoints
        self._cond = threading.Condition()

    def acquire(self, stop: threading.Event, avoid: Collection[str] = ()) -> Endpoint:
        with self._cond:
            while True:
                if stop.is_set():
                    raise Cancelled()
                now = time.monotonic()
                pool = [e for e in self.endpoints if e.url not in avoid] or self.endpoints
                awake = [e for e in pool if e.failures == 0 or now >= e.rest_until] or pool
                free = [e for e in awake if e.active < e.concurrency]
                if free:
                    best = min(free, key=lambda e: (e.failures > 0, e.active / e.concurrency, e.failures))
                    best.active += 1
                    return best
                self._cond.wait(0.1)

    def release(self, endpoint: Endpoint, healthy: bool) -> None:
        with self._cond:
            endpoint.active -= 1
            if healthy:
                endpoint.failures = 0
            else:
                endpoint.failures += 1
                endpoint.rest_until = time.monotonic() + min(
                    MAX_REST_S, REST_S * 2 ** (endpoint.failures - 1)
                )
            self._cond.notify_all()


class _ClipCache:
    """Base64 of reference clips and context takes, keyed by path + size + mtime (small LRU). Thread-safe."""

    def __init__(self, entries: int = 32) -> None:
        self._entries = entries
        self._items: OrderedDict[tuple[str, int, int], tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str) -> tuple[str, str]:
        """(base64 data, format) of an audio file; wav/mp3 as they are, anything else re-encoded as WAV."""
        try:
            stat = os.stat(path)
        except OSError:
            raise BackendError(
                f"the audio file {path} is missing; pick the voice's reference clip again"
            ) from None
        key = (path, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        suffix = Path(path).suffix.lower().lstrip(".")
        try:
            if suffix in ("wav", "mp3"):
                data, fmt = Path(path).read_bytes(), suffix
            else:
                import soundfile

                audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
                buffer = io.BytesIO()
                soundfile.write(buffer, audio.mean(axis=1), rate, format="WAV", subtype="PCM_16")
                data, fmt = buffer.getvalue(), "wav"
        except Exception as exc:  # noqa: BLE001 - OSError or a soundfile error: a clear line error
            raise BackendError(f"cannot read the audio file {path}: {exc}") from None
        value = (base64.b64encode(data).decode("ascii"), fmt)
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._entries:
                self._items.popitem(last=False)
        return value


def decode_audio(data: bytes, where: str, content_type: str = "") -> tuple[np.ndarray, int]:
    """(float32 mono, sample rate) of a WAV/FLAC/OGG/MP3 answer; RemoteError if it is not audio."""
    import soundfile

    try:
        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception:  # noqa: BLE001 - soundfile raises several types for garbage
        raise RemoteError(
            f"{where} answered something that is not audio: {_preview(data, content_type)}", retry=False
        ) from None
    mono = np.ascontiguousarray(audio.mean(axis=1), dtype=np.float32)
    if mono.size == 0:
        raise RemoteError(f"{where} answered an empty audio file", retry=False)
    if not np.all(np.isfinite(mono)):
        raise RemoteError(f"{where} answered audio with invalid (NaN) samples", retry=False)
    return mono, int(rate)


def _preview(data: bytes, content_type: str = "") -> str:
    kind = f"{content_type}, " if content_type else ""
    try:
        text = data[:2000].decode("utf-8")
    except UnicodeDecodeError:
        return f"{kind}{len(data)} bytes starting {data[:8].hex(' ')}"
    flat = " ".join(text.split())
    return f"{kind}{flat[:120]!r}" + ("…" if len(flat) > 120 else "")


def _error_message(body: bytes) -> str:
    """The message of an OpenAI-style error body, else the start of the body."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _preview(body) if body else "no details"
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict):
            for key in ("message", "detail", "msg"):
                if isinstance(error.get(key), str):
                    return str(error[key])
        if isinstance(error, str):
            return error
        if isinstance(payload.get("detail"), str):
            return str(payload["detail"])
    return _preview(body)


class OpenAISpeechBackend(Backend):
    """Remote OpenAI-compatible speech servers (see module docstring)."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(name="openai", device="remote", options=dict(options or {}))
        opts = self.options
        if "api_key" in opts:
            raise BackendError(f"the backend options hold an api_key: {_KEY_ADVICE}")
        self.endpoints = parse_endpoints(opts)
        self.mode = str(opts.get("mode") or "auto")
        if self.mode not in MODES:
            raise BackendError(
                f"the openai backend option mode must be one of {', '.join(MODES)}, not {self.mode!r}"
            )
        self.timeout_s = _float(opts, "timeout_s", DEFAULT_TIMEOUT_S, 0.1)
        self.retries = _int(opts, "retries", DEFAULT_RETRIES, 0, 20)
        self.backoff_s = _float(opts, "backoff_s", DEFAULT_BACKOFF_S, 0.0)
        self.format = str(opts.get("format") or "wav")
        if self.format not in FORMATS:
            raise BackendError(f"the openai backend option format must be one of {', '.join(FORMATS)}")
        voice_map = opts.get("voice_map") or {}
        if not isinstance(voice_map, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in voice_map.items()
        ):
            raise BackendError(
                "the openai backend option voice_map must map voice names to preset names (text)"
            )
        self.voice_map: dict[str, str] = {str(k): str(v) for k, v in voice_map.items()}
        self.system_prompt = str(opts.get("system_prompt") or DEFAULT_SYSTEM_PROMPT)
        self.extensions = bool(opts.get("chorus_extensions", True))
        self.model_id = ",".join(e.model or e.url for e in self.endpoints)
        self._slots = _Slots(self.endpoints)
        self._clips = _ClipCache()
        self._direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._proxied = urllib.request.build_opener()

    # ------------------------------------------------------------------ interface

    def capabilities(self) -> Capabilities:
        total = sum(e.concurrency for e in self.endpoints)
        return Capabilities(
            voice_cloning=True,
            text_profiles=True,
            smart_voice=True,
            multi_speaker_context=False,
            tags=(),
            languages=("en",),
            batch_size=total,
            sample_rate=SAMPLE_RATE,
            concurrency=total,
        )

    def load(self, progress: Callable[[float, str], None] | None = None) -> None:
        """Resolve each endpoint's API key (environment, then keyring). Servers are not contacted."""
        for endpoint in self.endpoints:
            key = os.environ.get(endpoint.api_key_env, "").strip() or keyring_password(endpoint.url)
            if not key and endpoint.key_env_named:
                raise BackendError(
                    f"no API key for {endpoint.url}: the environment variable {endpoint.api_key_env} is not set "
                    f"and the OS keyring has none (service '{KEYRING_SERVICE}', user '{endpoint.url}')"
                )
            endpoint.api_key = key
        self.loaded = True
        if progress is not None:
            progress(
                1.0, f"{len(self.endpoints)} speech server(s): {', '.join(e.url for e in self.endpoints)}"
            )

    def check(self, job: RenderJob) -> str:
        reason = super().check(job)
        if reason:
            return reason
        try:
            route, preset = self._route(job.voice)
        except BackendError as exc:
            return str(exc)
        if (
            route == "chat"
            and job.voice.kind == "clip"
            and not preset
            and not Path(job.voice.ref_audio).is_file()
        ):
            who = job.voice.name or "the speaker"
            return f"the reference clip of {who} ({job.voice.ref_audio or 'none'}) is missing; pick the clip again"
        return ""

    def render(self, job: RenderJob, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        [outcome] = list(self.render_stream([job], progress, cancelled))
        return result_of(outcome, "the server returned no audio")

    def render_batch(
        self, jobs: Sequence[RenderJob], progress: ProgressFn, cancelled: CancelledFn
    ) -> list[JobOutcome]:
        by_id = {o.job_id: o for o in self.render_stream(jobs, progress, cancelled)}
        return [by_id.get(j.job_id) or JobOutcome(j.job_id, error="no answer for this line") for j in jobs]

    def render_stream(
        self,
        jobs: Sequence[RenderJob],
        progress: ProgressFn,
        cancelled: CancelledFn,
        *,
        more: JobSource | None = None,
        chunk: ChunkFn | None = None,
    ) -> Iterator[JobOutcome]:
        """Fan ``jobs`` out over the endpoints; yield each outcome when it arrives (one per job)."""
        if not jobs:
            return
        if not self.loaded:
            self.load()
        events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        stops = {job.job_id: threading.Event() for job in jobs}
        pending = {job.job_id for job in jobs}
        workers = max(1, min(len(jobs), sum(e.concurrency for e in self.endpoints)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-speech")
        try:
            for job in jobs:
                pool.submit(self._run_job, job, stops[job.job_id], events)
            while pending:
                for job_id in pending:
                    if not stops[job_id].is_set() and cancelled(job_id):
                        stops[job_id].set()
                try:
                    kind, payload = events.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if kind == "started":
                    progress(payload, 0.0)
                elif payload.job_id in pending:
                    pending.discard(payload.job_id)
                    yield payload
        finally:
            for stop in stops.values():
                stop.set()
            pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ one job (pool thread)

    def _run_job(
        self, job: RenderJob, stop: threading.Event, events: queue.SimpleQueue[tuple[str, Any]]
    ) -> None:
        try:
            outcome = self._attempts(job, stop, events)
        except Cancelled:
            outcome = JobOutcome(job.job_id, cancelled=True)
        except BackendError as exc:
            outcome = JobOutcome(job.job_id, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug fails the line, not the engine
            outcome = JobOutcome(job.job_id, error=f"{type(exc).__name__}: {exc}")
        events.put(("done", outcome))

    def _attempts(
        self, job: RenderJob, stop: threading.Event, events: queue.SimpleQueue[tuple[str, Any]]
    ) -> JobOutcome:
        reason = self.check(job)
        if reason:
            return JobOutcome(job.job_id, error=reason)
        route, preset = self._route(job.voice)
        tries = self.retries + 1
        errors: dict[str, RemoteError] = {}
        started = False
        for attempt in range(tries):
            if stop.is_set():
                raise Cancelled()
            endpoint = self._slots.acquire(stop, avoid=set(errors))
            if not started:
                events.put(("started", job.job_id))
                started = True
            healthy = False
            try:
                result = self._request(endpoint, job, route, preset)
                healthy = True
                return JobOutcome(job.job_id, result=result)
            except RemoteError as exc:
                healthy = not exc.retry  # it answered; the answer was wrong for this line
                errors.pop(endpoint.url, None)
                errors[endpoint.url] = exc
                if not exc.retry:
                    raise
            finally:
                self._slots.release(endpoint, healthy)
            if attempt + 1 < tries and stop.wait(min(MAX_BACKOFF_S, self.backoff_s * 2**attempt)):
                raise Cancelled()
        summary = "; ".join(str(e) for e in errors.values())
        return JobOutcome(job.job_id, error=f"{summary} (after {tries} {'try' if tries == 1 else 'tries'})")

    # ------------------------------------------------------------------ routes and payloads

    def _preset(self, voice: VoiceSpec) -> str:
        keys = [voice.name] if voice.name else []
        if voice.kind == "piper":
            keys.append(f"piper:{voice.variant}")
        keys.append("*")
        for key in keys:
            if key in self.voice_map:
                return self.voice_map[key]
        return ""

    def _route(self, voice: VoiceSpec) -> tuple[str, str]:
        """("speech" | "chat", preset name or "") for a voice under the configured mode."""
        preset = self._preset(voice)
        if voice.kind == "piper" and not preset:
            preset = f"piper:{voice.variant}"  # a Chorus server's Piper variant
        if self.mode == "chat":
            return "chat", preset  # a preset rides along as audio.voice; clips go as input_audio
        if preset:
            return "speech", preset
        if self.mode == "speech":
            who = voice.name or "this speaker"
            raise BackendError(
                f"{who} has a {voice.kind} voice, which the speech route can only use as a server preset: "
                f"map it in the backend option voice_map ({{{who!r}: 'PRESET'}}) or use mode 'auto' or 'chat'"
            )
        return "chat", ""

    def _model(self, endpoint: Endpoint) -> str:
        if endpoint.model:
            return endpoint.model
        if endpoint.discovered is None:
            try:
                body, _ = self._send(endpoint, "/v1/models", None, timeout=min(self.timeout_s, 15.0))
                data = json.loads(body.decode("utf-8")).get("data") or []
                endpoint.discovered = str(data[0]["id"]) if data and isinstance(data[0], dict) else ""
            except RemoteError as exc:
                if exc.unreachable:
                    raise
                if exc.retry:  # a passing failure: send no model this time, ask again next time
                    return ""
                endpoint.discovered = ""  # no /v1/models here (or not for us): send no model
            except (ValueError, KeyError, AttributeError, UnicodeDecodeError):
                endpoint.discovered = ""
        return endpoint.discovered

    def _extensions(self, job: RenderJob) -> dict[str, Any]:
        p = job.params
        extra: dict[str, Any] = {"temperature": p.temperature, "top_p": p.top_p, "seed": p.seed}
        if self.extensions:
            extra.update(
                top_k=p.top_k,
                ras_win_len=p.ras_win_len,
                ras_max_num_repeat=p.ras_max_num_repeat,
                max_new_tokens=p.max_new_tokens,
            )
            if job.kind != "dialogue":
                extra["kind"] = job.kind
        return extra

    def _speech_payload(self, model: str, job: RenderJob, preset: str) -> dict[str, Any]:
        payload: dict[str, Any] = {"input": job.text, "voice": preset, "response_format": self.format}
        if model:
            payload["model"] = model
        if self.extensions:
            payload.update(self._extensions(job))
            if job.scene_description.strip():
                payload["scene_description"] = job.scene_description.strip()
        return payload

    def _chat_payload(self, model: str, job: RenderJob, preset: str) -> dict[str, Any]:
        voice = job.voice
        scene = [job.scene_description.strip() or DEFAULT_SCENE]
        if voice.kind == "profile" and not preset:
            scene.append(f"SPEAKER0: {' '.join(voice.profile.split())}")
        system = f"{self.system_prompt}\n\n{SCENE_START}\n" + "\n".join(scene) + f"\n{SCENE_END}"
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        if voice.kind == "clip" and not preset:
            messages.extend(self._pair(voice.transcript, voice.ref_audio))
        for turn in job.context:
            if turn.speaker == job.speaker and turn.audio and Path(turn.audio).is_file():
                messages.extend(self._pair(turn.text, turn.audio))
        messages.append({"role": "user", "content": job.text})
        audio: dict[str, Any] = {"format": self.format}
        if preset:
            audio["voice"] = preset
        payload: dict[str, Any] = {
            "messages": messages,
            "modalities": ["text", "audio"],
            "audio": audio,
            "max_completion_tokens": job.params.max_new_tokens,
            "stop": STOP_TOKENS,
            **self._extensions(job),
        }
        if model:
            payload["model"] = model
        return payload

    def _pair(self, text: str, audio_path: str) -> list[dict[str, Any]]:
        data, fmt = self._clips.get(audio_path)
        turns: list[dict[str, Any]] = []
        if text.strip():
            turns.append({"role": "user", "content": text.strip()})
        turns.append(
            {
                "role": "assistant",
                "content": [{"type": "input_audio", "input_audio": {"data": data, "format": fmt}}],
            }
        )
        return turns

    # ------------------------------------------------------------------ HTTP

    def _request(self, endpoint: Endpoint, job: RenderJob, route: str, preset: str) -> RenderResult:
        model = self._model(endpoint)
        if route == "speech":
            body, headers = self._send(endpoint, "/v1/audio/speech", self._speech_payload(model, job, preset))
            audio, rate = decode_audio(body, endpoint.url, headers.get("Content-Type", ""))
            note = urllib.parse.unquote(headers.get("X-Chorus-Note", "") or "")
            suspect = headers.get("X-Chorus-Suspect", "0") == "1"
        else:
            body, headers = self._send(
                endpoint, "/v1/chat/completions", self._chat_payload(model, job, preset)
            )
            audio, rate, suspect, note = self._chat_audio(body, endpoint.url, headers.get("Content-Type", ""))
        if job.voice.kind == "piper" and job.voice.piper_model and not self._preset(job.voice):
            extra = f"the Piper voice file stays on this machine; {endpoint.url} used its own voice"
            note = f"{note}; {extra}" if note else extra
        return RenderResult(audio=audio, sample_rate=rate, suspect=suspect, note=note)

    def _chat_audio(self, body: bytes, where: str, content_type: str) -> tuple[np.ndarray, int, bool, str]:
        try:
            reply = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RemoteError(
                f"{where} answered something that is not audio: {_preview(body, content_type)}", retry=False
            ) from None
        try:
            message = reply["choices"][0]["message"]
            data = message["audio"]["data"]
            if not isinstance(data, str):
                raise TypeError
        except (KeyError, IndexError, TypeError):
            said = ""
            with contextlib.suppress(Exception):
                said = f" (it said {str(reply['choices'][0]['message'].get('content'))[:80]!r})"
            raise RemoteError(
                f"{where} answered something that is not audio: a chat reply without message.audio{said}; "
                "is it a speech model with audio output?",
                retry=False,
            ) from None
        try:
            raw = base64.b64decode(data)
        except ValueError:
            raise RemoteError(
                f"{where} answered something that is not audio: message.audio.data is not base64", retry=False
            ) from None
        audio, rate = decode_audio(raw, where)
        extra = reply.get("chorus") if isinstance(reply.get("chorus"), dict) else {}
        return audio, rate, bool(extra.get("suspect", False)), str(extra.get("note", "") or "")

    def _send(
        self, endpoint: Endpoint, path: str, payload: dict[str, Any] | None, timeout: float | None = None
    ) -> tuple[bytes, Mapping[str, str]]:
        """One HTTP exchange; RemoteError (retry or not) for anything but a 2xx answer."""
        url = endpoint.url + path
        headers = {"Accept": "application/json, audio/*", "User-Agent": "Chorus-openai-backend/1"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        request = urllib.request.Request(
            url, data=data, headers=headers, method="POST" if data is not None else "GET"
        )
        host = urllib.parse.urlsplit(url).hostname or ""
        opener = self._direct if host in _LOOPBACK else self._proxied
        limit = timeout or self.timeout_s
        try:
            with opener.open(request, timeout=limit) as response:
                return response.read(), response.headers
        except urllib.error.HTTPError as exc:
            body = b""
            with contextlib.suppress(Exception):
                body = exc.read()
            raise self._http_error(endpoint, path, exc.code, body) from None
        except urllib.error.URLError as exc:
            raise RemoteError(
                f"cannot reach {endpoint.url}: {_reason(exc.reason, limit)}", retry=True, unreachable=True
            ) from None
        except TimeoutError:
            raise RemoteError(f"{endpoint.url} did not answer within {limit:g} s", retry=True) from None
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise RemoteError(
                f"cannot reach {endpoint.url}: the connection was dropped ({type(exc).__name__}); did the server stop?",
                retry=True,
                unreachable=True,
            ) from None

    def _http_error(self, endpoint: Endpoint, path: str, status: int, body: bytes) -> RemoteError:
        message = _error_message(body)
        if status in (401, 403):
            if endpoint.api_key:
                advice = f"the server rejected the API key from {endpoint.api_key_env} / the keyring"
            else:
                advice = f"no API key was sent: set {endpoint.api_key_env} or store one in the OS keyring (service '{KEYRING_SERVICE}', user '{endpoint.url}')"
            return RemoteError(
                f"{endpoint.url} refused access (HTTP {status}: {message}); {advice}", retry=False
            )
        if status == 404:
            return RemoteError(
                f"{endpoint.url} has no {path} or not this model (HTTP 404: {message})", retry=False
            )
        if status in (408, 425, 429) or status >= 500:
            return RemoteError(
                f"{endpoint.url} could not render the line (HTTP {status}: {message})", retry=True
            )
        return RemoteError(f"{endpoint.url} refused the line (HTTP {status}: {message})", retry=False)


def _reason(reason: Any, timeout: float) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "unknown host name"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason)
