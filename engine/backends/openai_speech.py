"""The openai backend: lines rendered by OpenAI-compatible speech servers (scale-out beyond one GPU).

Drives vLLM's higgs-audio server, SGLang-Omni / vLLM-Omni (Higgs TTS 3) and other machines running
``chorus engine serve`` (:mod:`engine.serve`), over two routes — ``POST /v1/audio/speech`` with a voice
preset the server knows, ``POST /v1/chat/completions`` with the reference clip for cloning. This module
decides, per line, which route and preset (``mode``, ``voice_map``) and runs the jobs; its parts:

* :mod:`engine.backends.openai_speech_config` — options, endpoints, API keys (environment, OS keyring);
* :mod:`engine.backends.openai_speech_wire` — request bodies of both routes, reading the audio answers;
* :mod:`engine.backends.openai_speech_transport` — HTTP exchanges, errors worth a retry, endpoint slots.

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

import json
import queue
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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
from engine.backends.openai_speech_config import (
    DEFAULT_BACKOFF_S,
    DEFAULT_KEY_ENV,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    FORMATS,
    KEY_ADVICE,
    MODES,
    Endpoint,
    float_option,
    int_option,
    keyring_password,
    normalize_url,
    parse_endpoints,
    resolve_api_keys,
)
from engine.backends.openai_speech_transport import EndpointSlots, HttpTransport, RemoteError
from engine.backends.openai_speech_wire import (
    DEFAULT_SYSTEM_PROMPT,
    SAMPLE_RATE,
    STOP_TOKENS,
    ClipCache,
    chat_audio,
    chat_payload,
    decode_audio,
    speech_payload,
)
from engine.protocol import RenderJob, VoiceSpec

# Names other modules and tests import from here (the backend's public face before the split).
__all__ = [
    "DEFAULT_KEY_ENV",
    "SAMPLE_RATE",
    "STOP_TOKENS",
    "Endpoint",
    "OpenAISpeechBackend",
    "RemoteError",
    "decode_audio",
    "keyring_password",
    "normalize_url",
    "parse_endpoints",
]

MAX_BACKOFF_S = 30.0
_POLL_S = 0.05


class OpenAISpeechBackend(Backend):
    """Remote OpenAI-compatible speech servers (see module docstring)."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(name="openai", device="remote", options=dict(options or {}))
        opts = self.options
        if "api_key" in opts:
            raise BackendError(f"the backend options hold an api_key: {KEY_ADVICE}")
        self.endpoints = parse_endpoints(opts)
        self.mode = str(opts.get("mode") or "auto")
        if self.mode not in MODES:
            raise BackendError(
                f"the openai backend option mode must be one of {', '.join(MODES)}, not {self.mode!r}"
            )
        self.timeout_s = float_option(opts, "timeout_s", DEFAULT_TIMEOUT_S, 0.1)
        self.retries = int_option(opts, "retries", DEFAULT_RETRIES, 0, 20)
        self.backoff_s = float_option(opts, "backoff_s", DEFAULT_BACKOFF_S, 0.0)
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
        self._slots = EndpointSlots(self.endpoints)
        self._clips = ClipCache()
        self._transport = HttpTransport(self.timeout_s)

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
        resolve_api_keys(self.endpoints)
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
                body, _ = self._transport.send(
                    endpoint, "/v1/models", None, timeout=min(self.timeout_s, 15.0)
                )
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

    def _speech_payload(self, model: str, job: RenderJob, preset: str) -> dict[str, Any]:
        return speech_payload(model, job, preset, fmt=self.format, extensions=self.extensions)

    def _chat_payload(self, model: str, job: RenderJob, preset: str) -> dict[str, Any]:
        return chat_payload(
            model,
            job,
            preset,
            fmt=self.format,
            extensions=self.extensions,
            system_prompt=self.system_prompt,
            clips=self._clips,
        )

    # ------------------------------------------------------------------ one request

    def _request(self, endpoint: Endpoint, job: RenderJob, route: str, preset: str) -> RenderResult:
        model = self._model(endpoint)
        if route == "speech":
            body, headers = self._transport.send(
                endpoint, "/v1/audio/speech", self._speech_payload(model, job, preset)
            )
            audio, rate = decode_audio(body, endpoint.url, headers.get("Content-Type", ""))
            note = urllib.parse.unquote(headers.get("X-Chorus-Note", "") or "")
            suspect = headers.get("X-Chorus-Suspect", "0") == "1"
        else:
            body, headers = self._transport.send(
                endpoint, "/v1/chat/completions", self._chat_payload(model, job, preset)
            )
            audio, rate, suspect, note = chat_audio(body, endpoint.url, headers.get("Content-Type", ""))
        if job.voice.kind == "piper" and job.voice.piper_model and not self._preset(job.voice):
            extra = f"the Piper voice file stays on this machine; {endpoint.url} used its own voice"
            note = f"{note}; {extra}" if note else extra
        return RenderResult(audio=audio, sample_rate=rate, suspect=suspect, note=note)
