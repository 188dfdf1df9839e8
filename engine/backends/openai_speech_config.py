"""The openai backend's configuration: which speech servers (endpoints) it talks to and with which API key.

Options are validated here (a clear :class:`~engine.backends.base.BackendError` naming the option);
API keys never come from the project file: each endpoint's key is read from the environment variable
``api_key_env`` (default ``CHORUS_OPENAI_API_KEY``), else the OS keyring
(``keyring.get_password("chorus", URL)``), else no key is sent.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.backends.base import BackendError

DEFAULT_KEY_ENV = "CHORUS_OPENAI_API_KEY"
KEYRING_SERVICE = "chorus"
MODES = ("auto", "speech", "chat")
FORMATS = ("wav", "flac")
DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF_S = 0.5


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


def int_option(
    options: Mapping[str, Any], name: str, default: int, low: int, high: int, where: str = ""
) -> int:
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


def float_option(options: Mapping[str, Any], name: str, default: float, low: float) -> float:
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


KEY_ADVICE = (
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
    default_concurrency = int_option(options, "concurrency", DEFAULT_CONCURRENCY, 1, 256)
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
            raise BackendError(f"endpoints[{index}] has an api_key: {KEY_ADVICE}")
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
                concurrency=int_option(entry, "concurrency", default_concurrency, 1, 256, where),
                api_key_env=str(env or default_env),
                key_env_named=env is not None or "api_key_env" in options,
            )
        )
    return endpoints


def resolve_api_keys(endpoints: list[Endpoint]) -> None:
    """Set each endpoint's API key (environment, then keyring); BackendError where a named one is missing."""
    for endpoint in endpoints:
        key = os.environ.get(endpoint.api_key_env, "").strip() or keyring_password(endpoint.url)
        if not key and endpoint.key_env_named:
            raise BackendError(
                f"no API key for {endpoint.url}: the environment variable {endpoint.api_key_env} is not set "
                f"and the OS keyring has none (service '{KEYRING_SERVICE}', user '{endpoint.url}')"
            )
        endpoint.api_key = key
