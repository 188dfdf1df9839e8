"""Render one job in a short-lived engine process and wait for its take (a patch, an audition).

Thread contract: blocks the calling thread until the take exists; call it from a worker thread in
the studio, from the main thread in the CLI.
"""

from __future__ import annotations

from typing import Any


class OneJobError(RuntimeError):
    """The engine did not start, or the job failed (the message says why)."""


def render_one(backend: str, options: dict[str, Any], job: Any, timeout_s: float = 600.0) -> str:
    """Start an engine for ``backend``, render ``job`` and return the take's path."""
    from studio.render.client import EngineClient, EngineError

    client = EngineClient(backend, options)
    try:
        client.start()
        client.submit([job])
        for event in client.events(timeout=timeout_s):
            if event.get("job_id") != job.job_id:
                continue
            if event.get("type") == "finished":
                return str(event["path"])
            if event.get("type") in ("failed", "cancelled"):
                raise OneJobError(f"the job was not rendered: {event.get('reason', event['type'])}")
    except EngineError as exc:
        raise OneJobError(f"the {backend} engine did not start: {exc}") from None
    finally:
        client.shutdown()
    raise OneJobError("the job was not rendered (the engine went quiet)")


def asr_client(options: dict[str, Any]) -> Any:
    """An engine client that only transcribes (a Piper engine without worker processes), with the
    project's ``asr_model`` option if set. Start it, use it, shut it down."""
    from studio.render.client import EngineClient

    model = str(options.get("asr_model", "") or "")
    return EngineClient("piper", {"workers": 0}, extra_args=["--asr-model", model] if model else [])
