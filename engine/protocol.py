"""Messages between the studio and the engine process (JSON, one object per line).

Shared by ``engine.host`` and ``studio.render.client``; it imports nothing but the standard library
and numpy, so the studio may import it without pulling in torch.

Transport: the studio writes requests to the engine's stdin; the engine writes events to its stdout.
The first exchange is the handshake: the engine sends ``hello`` with ``PROTOCOL_VERSION``; the studio
checks it and refuses a mismatch with a clear error. Finished audio never travels over the pipe: the
engine writes each take file (temporary name, then rename) and sends its path in ``finished``. The one
exception is ``chunk``: partial audio of a running job that asked for it (``RenderJob.stream``), sent
while it renders so the studio can start playing a line before its take exists; the take file stays
the truth (a take check may trim what was streamed).

Requests (studio → engine), by ``type``:
  submit    {"jobs": [RenderJob | TranscribeJob …]}   queue a batch (a transcribe job has
            "task": "transcribe"; it runs on the engine's speech recogniser, beside rendering)
  cancel    {"job_ids": [...]} (empty = all)    drop queued jobs, abort running ones
  stop      {}                                   finish the running job, drop the queue
  status    {}                                   ask for an ``engine_status`` event
  ping      {"n": int}                           heartbeat; answered by ``pong``
  shutdown  {}                                   exit after the running job is abandoned

Events (engine → studio), by ``type``:
  hello, accepted {job_ids}, started {job_id}, progress {job_id, fraction},
  chunk {job_id, seq, sample_rate, pcm16}  partial audio of a running ``stream`` job from a streaming
            backend (``Capabilities.streaming``): ``seq`` counts a job's chunks from 0; ``pcm16`` is base64
            of little-endian int16 mono samples, the new audio since the previous chunk. A job's chunks,
            joined, are its audio before the take check; they all come before its final event.
  finished {job_id, path, duration, sample_rate, suspect, note, codes_path},
  finished {job_id, task: "transcribe", transcript: {text, words: [[word, start, end, p] …], language,
            duration, model}, expected, heard}  (transcribe jobs; see ``TranscribeJob``),
  failed {job_id, reason}, cancelled {job_id}, engine_status {backend, device, model_loaded,
  queue_length, running, detail}, load_progress {fraction, detail}, pong {n}, error {reason}
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

PROTOCOL_VERSION = 3  # 2: transcribe jobs; 3: chunk events (RenderJob.stream)


class ProtocolError(RuntimeError):
    """A malformed message or a version mismatch."""


@dataclass(frozen=True)
class VoiceSpec:
    """The voice of one speaker, as the engine needs it (paths are absolute)."""

    kind: str = "piper"  # piper | clip | profile | smart
    piper_model: str = ""  # .onnx path; "" = bundled voice
    variant: int = 0
    variant_style: int = 2  # how Piper makes the variant (engine.backends.piper_variants.STYLES)
    ref_audio: str = ""  # reference clip path (clip voices)
    transcript: str = ""
    profile: str = ""
    name: str = ""  # speaker name (for prompts and messages)


@dataclass(frozen=True)
class ContextTurn:
    """A previously generated line carried as context (scene continuity / chunk carry-over)."""

    text: str
    audio: str  # path of the take file
    speaker: int = 0  # index into the job's speakers


@dataclass(frozen=True)
class GenerationParams:
    temperature: float = 1.0
    top_k: int = 50
    top_p: float = 0.95
    ras_win_len: int = 7
    ras_max_num_repeat: int = 2
    max_new_tokens: int = 2048
    seed: int = 0


@dataclass(frozen=True)
class RenderJob:
    """One take to render. ``out_path`` is where the finished take must appear (atomically).

    ``speakers`` lists the voices in the job; ``speaker`` indexes the one that speaks ``text``.
    ``context`` carries earlier generated lines of the same scene (continuity mode).
    ``kind`` is dialogue | humming | music (humming/music switch RAS off for Higgs).
    ``group`` names a batch that may be generated together (independent mode), "" = alone.
    ``language`` decides text normalisation (numbers are spelled out for English only).
    ``stream`` asks for partial audio while it renders (``chunk`` events) from a streaming backend;
    backends may skip partial decoding for jobs that do not ask.
    """

    job_id: str
    text: str
    out_path: str
    speakers: tuple[VoiceSpec, ...] = (VoiceSpec(),)
    speaker: int = 0
    scene_description: str = ""
    kind: str = "dialogue"
    params: GenerationParams = field(default_factory=GenerationParams)
    context: tuple[ContextTurn, ...] = ()
    line_id: str = ""
    group: str = ""
    language: str = ""  # ISO 639-1 code of the line's text; "" = the engine detects it
    stream: bool = False  # send chunk events with partial audio while it renders

    @property
    def voice(self) -> VoiceSpec:
        return self.speakers[self.speaker]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenderJob:
        try:
            speakers = tuple(VoiceSpec(**s) for s in data.get("speakers", [{}]))
            context = tuple(ContextTurn(**c) for c in data.get("context", []))
            params = GenerationParams(**data.get("params", {}))
            rest = {k: v for k, v in data.items() if k not in {"speakers", "context", "params"}}
            return cls(speakers=speakers, context=context, params=params, **rest)
        except TypeError as exc:
            raise ProtocolError(f"malformed render job: {exc}") from None


@dataclass(frozen=True)
class TranscribeJob:
    """Transcribe one audio file with the engine's speech recogniser (word timings included).

    ``text`` is what the audio should say (a script line, "" = unknown) in ``language`` ("" = the
    engine decides). The engine answers with the transcript plus ``expected`` — ``text`` as it is
    sent to a speech model (numbers spelled, tags expanded, sound-event markers dropped) — and
    ``heard`` — the transcript with numbers spelled the same way — so the studio compares like with
    like without importing the engine's text rules.
    """

    job_id: str
    audio_path: str
    text: str = ""
    language: str = ""
    line_id: str = ""

    task: ClassVar[str] = "transcribe"

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TranscribeJob:
        try:
            return cls(**{k: v for k, v in data.items() if k != "task"})
        except TypeError as exc:
            raise ProtocolError(f"malformed transcribe job: {exc}") from None


Job = RenderJob | TranscribeJob


def job_from_dict(data: dict[str, Any]) -> Job:
    """A render or transcribe job from its dict (by its ``task``; none = render)."""
    task = data.get("task", "render")
    if task == "transcribe":
        return TranscribeJob.from_dict(data)
    if task != "render":
        raise ProtocolError(f"unknown job task {task!r}")
    return RenderJob.from_dict({k: v for k, v in data.items() if k != "task"})


def pcm16_encode(samples: np.ndarray) -> str:
    """float samples in [-1, 1] → base64 of little-endian int16 (a ``chunk`` event's ``pcm16``)."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return base64.b64encode(np.round(clipped * 32767.0).astype("<i2").tobytes()).decode("ascii")


def pcm16_decode(data: str) -> np.ndarray:
    """A ``chunk`` event's ``pcm16`` → float32 samples in [-1, 1] (ProtocolError if malformed)."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ProtocolError("a chunk's pcm16 is not valid base64") from None
    if len(raw) % 2:
        raise ProtocolError("a chunk's pcm16 holds an odd number of bytes")
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32767.0


def encode(message_type: str, **payload: Any) -> bytes:
    """One message as a JSON line."""
    return (json.dumps({"type": message_type, **payload}, separators=(",", ":")) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not a JSON message: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("a message must be a JSON object with a 'type'")
    return message


def check_hello(message: dict[str, Any]) -> None:
    if message.get("type") != "hello":
        raise ProtocolError(f"the engine did not start with a handshake (got {message.get('type')!r})")
    version = message.get("version")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"engine protocol version {version} does not match the studio's {PROTOCOL_VERSION}: "
            "reinstall Chorus so both come from the same release"
        )
