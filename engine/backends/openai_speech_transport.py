"""The openai backend's transport: HTTP exchanges with the speech servers and the endpoints' request slots.

A request takes a slot on the least busy endpoint (slots per endpoint = its concurrency); an endpoint
that just failed rests a while (2 s, doubling) while others are up. Every failure is a
:class:`RemoteError` that says whether another try may succeed: connection errors, timeouts, 408/429
and 5xx are worth a retry; other 4xx are not. Loopback servers are reached without a proxy.

Thread contract: :class:`EndpointSlots` and :class:`HttpTransport` are safe to use from the backend's
pool threads at once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Collection, Mapping
from typing import Any

from engine.backends.base import BackendError, Cancelled
from engine.backends.openai_speech_config import KEYRING_SERVICE, Endpoint

REST_S = 2.0  # a failing endpoint rests this long (doubling per failure, up to MAX_REST_S) if others are up
MAX_REST_S = 60.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class RemoteError(BackendError):
    """One failed try; ``retry`` says whether another try may succeed."""

    def __init__(self, message: str, *, retry: bool, unreachable: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.unreachable = unreachable


class EndpointSlots:
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


class HttpTransport:
    """One HTTP exchange at a time per call, with ``timeout_s`` unless a call names its own."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._proxied = urllib.request.build_opener()

    def send(
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
            raise http_error(endpoint, path, exc.code, body) from None
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


def http_error(endpoint: Endpoint, path: str, status: int, body: bytes) -> RemoteError:
    message = error_message(body)
    if status in (401, 403):
        if endpoint.api_key:
            advice = f"the server rejected the API key from {endpoint.api_key_env} / the keyring"
        else:
            advice = f"no API key was sent: set {endpoint.api_key_env} or store one in the OS keyring (service '{KEYRING_SERVICE}', user '{endpoint.url}')"
        return RemoteError(f"{endpoint.url} refused access (HTTP {status}: {message}); {advice}", retry=False)
    if status == 404:
        return RemoteError(
            f"{endpoint.url} has no {path} or not this model (HTTP 404: {message})", retry=False
        )
    if status in (408, 425, 429) or status >= 500:
        return RemoteError(f"{endpoint.url} could not render the line (HTTP {status}: {message})", retry=True)
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


def preview(data: bytes, content_type: str = "") -> str:
    kind = f"{content_type}, " if content_type else ""
    try:
        text = data[:2000].decode("utf-8")
    except UnicodeDecodeError:
        return f"{kind}{len(data)} bytes starting {data[:8].hex(' ')}"
    flat = " ".join(text.split())
    return f"{kind}{flat[:120]!r}" + ("…" if len(flat) > 120 else "")


def error_message(body: bytes) -> str:
    """The message of an OpenAI-style error body, else the start of the body."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return preview(body) if body else "no details"
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
    return preview(body)
