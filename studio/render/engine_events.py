"""What the engine client tells its callers: event dicts, partial audio (chunks) and errors.

Events are dicts shaped like the engine's protocol events (``engine.protocol``), plus two the client
makes itself:

    engine_restarted {reason, attempt, resubmitted: [job ids]}
    engine_gave_up   {reason}

``pong`` and ``hello`` are handled inside the client and never delivered; ``chunk`` events (partial
audio of a job submitted with ``RenderJob.stream``) go to the chunk listener as a :class:`Chunk`,
never into the event queue.

Thread contract: plain data and exceptions; safe anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.protocol import ProtocolError, pcm16_decode

LOG = logging.getLogger("chorus.engine")

Event = dict[str, Any]

JOB_EVENTS = frozenset({"started", "progress", "finished", "failed", "cancelled"})
FINAL_EVENTS = frozenset({"finished", "failed", "cancelled"})

# on_chunk(job_id, samples, sample_rate): the new float32 mono samples of a running job since its
# previous chunk. See EngineClient.set_chunk_listener for when and where it is called.
ChunkListener = Callable[[str, np.ndarray, int], None]


class EngineError(RuntimeError):
    """The engine cannot be used as asked (message says what to do)."""


class EngineStartError(EngineError):
    """The engine process did not start or did not complete the handshake."""


class EngineVersionError(EngineStartError, ProtocolError):
    """The engine speaks another protocol version than this studio."""


class EngineNotRunning(EngineError):
    """A request was made while no engine runs (never started, shut down, or given up)."""


@dataclass(frozen=True)
class Chunk:
    """One ``chunk`` event, decoded: ``samples`` are float32 mono in [-1, 1] at ``sample_rate``."""

    job_id: str
    seq: int
    sample_rate: int
    samples: np.ndarray


def parse_chunk(message: Event) -> Chunk:
    """Decode a ``chunk`` event (ProtocolError with the reason if it is malformed)."""
    job_id = message.get("job_id")
    seq = message.get("seq")
    rate = message.get("sample_rate")
    data = message.get("pcm16")
    if not isinstance(job_id, str) or not job_id:
        raise ProtocolError("a chunk event needs a job_id")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ProtocolError(f"chunk of {job_id}: seq must be a whole number ≥ 0, not {seq!r}")
    if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
        raise ProtocolError(f"chunk of {job_id}: bad sample_rate {rate!r}")
    if not isinstance(data, str):
        raise ProtocolError(f"chunk of {job_id}: pcm16 must be a base64 string")
    return Chunk(job_id, seq, rate, pcm16_decode(data))
