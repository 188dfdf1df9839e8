"""The OpenAI-compatible HTTP subset that ``chorus engine serve`` speaks: requests → render jobs, audio → bytes.

Pure translation, no sockets (those live in :mod:`engine.serve`), so every rule here is unit-testable.

Endpoints served (shapes as OpenAI / vLLM define them):

``POST /v1/audio/speech`` — OpenAI's speech request: ``model``, ``input``, ``voice``, ``response_format``
(wav | flac | mp3 | pcm; pcm = raw 16-bit little-endian mono at the backend's rate, which the
``X-Chorus-Sample-Rate`` response header states), ``speed`` (0.25–4), ``instructions`` (used as the scene
description), ``stream`` (true: the answer uses chunked transfer encoding and carries the audio as the
backend makes it — ``pcm``, or ``wav`` with a streaming header whose sizes are 0xFFFFFFFF; other formats
are refused with 400; a backend that does not stream, or a ``speed`` other than 1, sends it in one piece
at the end). Chorus extensions, accepted as extra fields: ``seed``, ``temperature``, ``top_k``, ``top_p``,
``ras_win_len``, ``ras_max_num_repeat``, ``max_new_tokens``, ``scene_description``, ``kind``
(dialogue | humming | music).

``POST /v1/chat/completions`` — the way vLLM's higgs-audio server clones a voice (boson-ai/higgs-audio,
``examples/vllm/run_chat_completion.py``): a system message with the scene block
(``<|scene_desc_start|>…<|scene_desc_end|>``), the reference transcript as a user turn, the reference
audio as an assistant turn whose content is ``[{"type": "input_audio", "input_audio": {"data": BASE64,
"format": "wav"}}]``, then the user's text to speak. Later (text, audio) pairs before the final text are
carried as context turns. ``audio: {"voice", "format"}`` picks a preset voice and the output format
(wav | flac | mp3 | pcm16) as in OpenAI's audio output. The answer is a ``chat.completion`` whose
``choices[0].message.audio`` is ``{"id", "data" (base64), "expires_at", "transcript"}`` (OpenAI's
ChatCompletionAudio), plus a ``chorus`` object (sample rate, duration, suspect, note).

Voices: a preset from ``--voices-dir`` (vLLM's voice-presets layout: ``config.json`` maps a name to
``{"transcript", "audio_file"}``, as ``chorus voices export --presets DIR`` writes it; read and checked by
:func:`engine.presets.load_presets`); for the Piper backend ``piper:N`` (variant N) or an OpenAI voice
name (alloy, echo, …) mapped to a variant; for backends with a smart voice ``smart``, ``profile:<text
profile>``, or an OpenAI voice name mapped to a short text profile.

Errors are OpenAI-shaped: ``{"error": {"message", "type", "param", "code"}}`` (:class:`ApiError`).

Thread contract: functions are pure or guard their own state (:class:`AudioStore` has a lock); safe from
any request thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.backends.base import Capabilities
from engine.ffmpeg import FfmpegMissing, ffmpeg_exe
from engine.higgs.prompt import SYSTEM_TEXT
from engine.presets import PRESETS_CONFIG as PRESETS_CONFIG  # the presets reader's names, re-exported
from engine.presets import Preset as Preset
from engine.presets import PresetsError as PresetsError
from engine.presets import load_presets as load_presets
from engine.protocol import ContextTurn, GenerationParams, RenderJob, VoiceSpec

SPEECH_FORMATS: dict[str, str] = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "pcm": "audio/pcm",
}
STREAM_FORMATS = ("pcm", "wav")  # response formats /v1/audio/speech can stream (stream: true)
CHAT_FORMATS = {"wav": "wav", "flac": "flac", "mp3": "mp3", "pcm16": "pcm", "pcm": "pcm"}
DEFAULT_FORMAT = "wav"  # OpenAI's default is mp3; Chorus answers losslessly unless asked otherwise
MAX_INPUT_CHARS = 20_000
MAX_AUDIO_BYTES = 50 * 1024 * 1024
MIN_SPEED, MAX_SPEED = 0.25, 4.0
KINDS = ("dialogue", "humming", "music")
DEFAULT_SYSTEM = SYSTEM_TEXT
SCENE_START, SCENE_END = "<|scene_desc_start|>", "<|scene_desc_end|>"
_SPEAKER_LINE = re.compile(r"^\s*SPEAKER(\d+)\s*:\s*(.+?)\s*$")

# OpenAI's voice names, in a fixed order: the Piper backend maps each to a variant (its index), a
# backend with text profiles to the profile beside it.
OPENAI_VOICES: dict[str, str] = {
    "alloy": "Neutral, balanced adult voice, clear and even.",
    "echo": "Male, calm and low, measured delivery.",
    "fable": "Warm storyteller, expressive, British accent.",
    "onyx": "Male, deep and resonant, authoritative.",
    "nova": "Female, bright and energetic, friendly.",
    "shimmer": "Female, soft and gentle, soothing.",
    "ash": "Male, relaxed and conversational.",
    "ballad": "Male, melodic and emotive, unhurried.",
    "coral": "Female, cheerful and lively.",
    "sage": "Female, calm and thoughtful, low pitch.",
    "verse": "Versatile, animated and expressive.",
}


class ApiError(Exception):
    """A request the server refuses; becomes an OpenAI-style JSON error with HTTP ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


def bad_request(message: str, *, param: str | None = None, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, param=param, code=code)


# --------------------------------------------------------------------------------------------------
# Voice presets and the voice catalog
# --------------------------------------------------------------------------------------------------


@dataclass
class VoiceCatalog:
    """Turns a request's ``voice`` name into a :class:`VoiceSpec` the server's backend can use."""

    backend: str
    caps: Capabilities
    presets: Mapping[str, Preset] = field(default_factory=dict)

    @property
    def piper(self) -> bool:
        return self.backend == "piper"

    def default(self) -> VoiceSpec:
        if self.caps.smart_voice:
            return VoiceSpec(kind="smart", name="smart")
        return VoiceSpec(kind="piper", variant=0, name="piper:0")

    def names(self) -> list[str]:
        built_in = list(OPENAI_VOICES)
        if self.piper:
            built_in = ["piper:N", *built_in]
        elif self.caps.smart_voice:
            built_in = ["smart", "profile:<description>", *built_in]
        return [*self.presets, *built_in]

    def resolve(self, voice: Any, param: str = "voice") -> VoiceSpec:
        if isinstance(voice, dict) and isinstance(voice.get("id"), str):
            voice = voice["id"]  # OpenAI's newer {"id": ...} voice object
        if voice is None or voice == "":
            return self.default()
        if not isinstance(voice, str):
            raise bad_request(f"'{param}' must be a voice name", param=param)
        preset = self.presets.get(voice)
        if preset is not None:
            return VoiceSpec(
                kind="clip", ref_audio=preset.audio_file, transcript=preset.transcript, name=voice
            )
        lowered = voice.strip().lower()
        if self.piper:
            if lowered.startswith("piper:"):
                number = lowered.removeprefix("piper:").strip()
                if not number.isdigit() or int(number) > 10_000:
                    raise bad_request(
                        f"voice {voice!r}: a Piper variant is 'piper:N' with N a whole number",
                        param=param,
                        code="voice_not_found",
                    )
                return VoiceSpec(kind="piper", variant=int(number), name=voice)
            if lowered in OPENAI_VOICES:
                return VoiceSpec(kind="piper", variant=list(OPENAI_VOICES).index(lowered), name=voice)
        elif self.caps.smart_voice or self.caps.text_profiles:
            if lowered == "smart" and self.caps.smart_voice:
                return VoiceSpec(kind="smart", name=voice)
            if lowered.startswith("profile:") and self.caps.text_profiles:
                text = voice.split(":", 1)[1].strip()
                if not text:
                    raise bad_request("a 'profile:' voice needs a description after the colon", param=param)
                return VoiceSpec(kind="profile", profile=text, name="profile")
            if lowered in OPENAI_VOICES and self.caps.text_profiles:
                return VoiceSpec(kind="profile", profile=OPENAI_VOICES[lowered], name=voice)
        shown = self.names()
        more = f" and {len(shown) - 20} more" if len(shown) > 20 else ""
        raise ApiError(
            400,
            f"unknown voice {voice!r}; this {self.backend} server has: {', '.join(shown[:20])}{more}",
            param=param,
            code="voice_not_found",
        )


# --------------------------------------------------------------------------------------------------
# Field readers
# --------------------------------------------------------------------------------------------------


def _number(body: Mapping[str, Any], name: str, *, integer: bool = False) -> float | int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_request(f"'{name}' must be a number, not {value!r}", param=name)
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise bad_request(f"'{name}' must be a whole number, not {value!r}", param=name)
        return int(value)
    if not np.isfinite(value):
        raise bad_request(f"'{name}' must be a finite number", param=name)
    return float(value)


def _text(body: Mapping[str, Any], name: str, default: str = "") -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_request(f"'{name}' must be a string", param=name)
    return value


def generation_params(body: Mapping[str, Any]) -> GenerationParams:
    """GenerationParams from a request's sampling fields (defaults for absent ones); 400 on bad values."""
    values: dict[str, Any] = {}
    temperature = _number(body, "temperature")
    if temperature is not None:
        if not 0.0 <= temperature <= 5.0:
            raise bad_request("'temperature' must be between 0 and 5", param="temperature")
        values["temperature"] = float(temperature)
    top_p = _number(body, "top_p")
    if top_p is not None:
        if not 0.0 < top_p <= 1.0:
            raise bad_request("'top_p' must be above 0 and at most 1", param="top_p")
        values["top_p"] = float(top_p)
    for name, low in (("top_k", 0), ("ras_win_len", 0), ("ras_max_num_repeat", 1), ("seed", 0)):
        number = _number(body, name, integer=True)
        if number is not None:
            if number < low or number > 2**63 - 1:
                raise bad_request(f"'{name}' must be a whole number of at least {low}", param=name)
            values[name] = int(number)
    for name in ("max_new_tokens", "max_completion_tokens", "max_tokens"):
        number = _number(body, name, integer=True)
        if number is not None:
            if number < 1:
                raise bad_request(f"'{name}' must be at least 1", param=name)
            values["max_new_tokens"] = int(number)
            break
    return GenerationParams(**values)


def _kind(body: Mapping[str, Any]) -> str:
    kind = _text(body, "kind", "dialogue") or "dialogue"
    if kind not in KINDS:
        raise bad_request(f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}", param="kind")
    return kind


def check_model(body: Mapping[str, Any], models: list[str]) -> str:
    """The model the request names (it must be one this server serves); the first one when absent."""
    model = body.get("model")
    if model is None or model == "":
        return models[0]
    if not isinstance(model, str):
        raise bad_request("'model' must be a string", param="model")
    if model not in models:
        raise ApiError(
            404,
            f"this server does not serve the model {model!r}; it serves: {', '.join(models)}",
            param="model",
            code="model_not_found",
        )
    return model


# --------------------------------------------------------------------------------------------------
# /v1/audio/speech
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechRequest:
    job: RenderJob
    model: str
    response_format: str
    speed: float = 1.0
    stream: bool = False  # answer with chunked transfer encoding as the audio is made


def parse_speech(body: Any, catalog: VoiceCatalog, models: list[str], job_id: str) -> SpeechRequest:
    """Validate an ``/v1/audio/speech`` body and build its render job (ApiError 400/404 on bad input)."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    model = check_model(body, models)
    text = _text(body, "input")
    if "input" not in body:
        raise bad_request("'input' is required: the text to speak", param="input", code="missing_field")
    if not text.strip():
        raise bad_request("'input' is empty: give the text to speak", param="input", code="empty_input")
    if len(text) > MAX_INPUT_CHARS:
        raise bad_request(
            f"'input' is {len(text)} characters; at most {MAX_INPUT_CHARS} per request", param="input"
        )
    response_format = _text(body, "response_format", DEFAULT_FORMAT) or DEFAULT_FORMAT
    if response_format not in SPEECH_FORMATS:
        raise bad_request(
            f"unsupported response_format {response_format!r}; choose one of {', '.join(SPEECH_FORMATS)}",
            param="response_format",
            code="unsupported_format",
        )
    if body.get("stream_format") not in (None, "audio"):
        raise bad_request("streaming (stream_format 'sse') is not supported", param="stream_format")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise bad_request("'stream' must be true or false", param="stream")
    if stream and response_format not in STREAM_FORMATS:
        raise bad_request(
            f'response_format {response_format!r} cannot be streamed; with "stream": true ask for '
            f"{' or '.join(STREAM_FORMATS)}, or leave stream off",
            param="response_format",
            code="unsupported_format",
        )
    speed = _number(body, "speed")
    if speed is None:
        speed = 1.0
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise bad_request(f"'speed' must be between {MIN_SPEED} and {MAX_SPEED}", param="speed")
    voice = catalog.resolve(body.get("voice"))
    scene = _text(body, "scene_description") or _text(body, "instructions")
    job = RenderJob(
        job_id=job_id,
        text=text,
        out_path="",
        speakers=(voice,),
        speaker=0,
        scene_description=scene.strip(),
        kind=_kind(body),
        params=generation_params(body),
    )
    return SpeechRequest(job, model, response_format, float(speed), stream)


# --------------------------------------------------------------------------------------------------
# /v1/chat/completions
# --------------------------------------------------------------------------------------------------


class AudioStore:
    """Uploaded clips as content-addressed files (same bytes → same path, so a backend's code cache hits).

    Keeps at most ``max_files``; the oldest go first. Thread-safe.
    """

    def __init__(self, folder: str | os.PathLike[str], max_files: int = 512) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_files = max_files
        self._lock = threading.Lock()

    def put(self, data: bytes, suffix: str) -> str:
        import soundfile

        digest = hashlib.sha256(data).hexdigest()[:32]
        path = self.folder / f"clip-{digest}.{suffix}"
        with self._lock:
            if path.is_file():
                os.utime(path)
                return str(path)
            tmp = path.with_name(f".{path.name}.part-{os.getpid()}-{threading.get_ident()}")
            tmp.write_bytes(data)
            try:
                info = soundfile.info(str(tmp))
                if info.frames <= 0:
                    raise ValueError("no samples")
            except Exception as exc:  # soundfile raises several types for garbage
                tmp.unlink(missing_ok=True)
                raise bad_request(
                    f"the input_audio data is not {suffix} audio that can be read ({_first_line(exc)})",
                    param="messages",
                    code="invalid_audio",
                ) from None
            os.replace(tmp, path)
            self._prune()
        return str(path)

    def _prune(self) -> None:
        files = sorted(self.folder.glob("clip-*"), key=lambda p: p.stat().st_mtime)
        for old in files[: max(0, len(files) - self.max_files)]:
            old.unlink(missing_ok=True)


@dataclass(frozen=True)
class ChatRequest:
    job: RenderJob
    model: str
    response_format: str  # a SPEECH_FORMATS key


def split_system(text: str) -> tuple[str, dict[int, str]]:
    """(scene description, {speaker index: text profile}) from a Higgs system prompt's scene block."""
    if SCENE_START not in text:
        return "", {}
    inner = text.split(SCENE_START, 1)[1].split(SCENE_END, 1)[0]
    scene: list[str] = []
    profiles: dict[int, str] = {}
    for line in inner.splitlines():
        match = _SPEAKER_LINE.match(line)
        if match:
            profiles[int(match.group(1))] = match.group(2)
        elif line.strip():
            scene.append(line.strip())
    return "\n".join(scene), profiles


def _parts(message: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
    content = message.get("content")
    where = f"messages[{index}].content"
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise bad_request(f"{where} must be a string or a list of content parts", param=where)
    parts = []
    for n, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise bad_request(f"{where}[{n}] must be an object with a 'type'", param=where)
        parts.append(part)
    return parts


def _audio_part(part: Mapping[str, Any], where: str) -> tuple[bytes, str]:
    """(bytes, format) of an ``input_audio`` part (or an ``audio_url`` holding a data: URL)."""
    if part["type"] == "input_audio":
        payload = part.get("input_audio")
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), str):
            raise bad_request(f"{where}.input_audio needs 'data' (base64) and 'format'", param=where)
        data, fmt = payload["data"], str(payload.get("format") or "wav").lower()
    else:  # audio_url (vLLM accepts it too): only inline data: URLs, no fetching
        payload = part.get("audio_url")
        url = payload.get("url") if isinstance(payload, dict) else payload
        if not isinstance(url, str) or not url.startswith("data:"):
            raise bad_request(
                f"{where}.audio_url must be a data: URL; this server does not fetch audio from the network",
                param=where,
            )
        header, _, data = url.partition(",")
        fmt = header.removeprefix("data:").split(";")[0].split("/")[-1] or "wav"
    if data.startswith("data:"):
        header, _, data = data.partition(",")
    fmt = {"x-wav": "wav", "wave": "wav", "mpeg": "mp3", "x-flac": "flac"}.get(fmt, fmt)
    if fmt not in ("wav", "mp3", "flac", "ogg"):
        raise bad_request(
            f"{where}: unsupported audio format {fmt!r}; send wav, mp3, flac or ogg", param=where
        )
    if len(data) > MAX_AUDIO_BYTES * 4 // 3 + 4:
        raise bad_request(f"{where}: the audio is larger than {MAX_AUDIO_BYTES // 2**20} MB", param=where)
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        raise bad_request(f"{where}: the audio data is not valid base64", param=where) from None
    if not raw:
        raise bad_request(f"{where}: the audio data is empty", param=where)
    return raw, fmt


def parse_chat(
    body: Any, catalog: VoiceCatalog, models: list[str], job_id: str, store: AudioStore
) -> ChatRequest:
    """Validate a chat-completions body (vLLM higgs-audio style) and build its render job."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    model = check_model(body, models)
    if body.get("stream"):
        raise bad_request('streaming is not supported; send "stream": false', param="stream")
    if body.get("n", 1) != 1:
        raise bad_request("only one choice per request ('n': 1)", param="n")
    audio_param = body.get("audio") or {}
    if not isinstance(audio_param, dict):
        raise bad_request('\'audio\' must be an object like {"voice": ..., "format": "wav"}', param="audio")
    fmt_name = str(audio_param.get("format") or DEFAULT_FORMAT)
    if fmt_name not in CHAT_FORMATS:
        raise bad_request(
            f"unsupported audio format {fmt_name!r}; choose one of {', '.join(CHAT_FORMATS)}",
            param="audio.format",
            code="unsupported_format",
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list", param="messages", code="missing_field")

    system_texts: list[str] = []
    pairs: list[tuple[str, str]] = []  # (transcript, clip path) in order
    pending = ""
    final = ""
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise bad_request(f"messages[{index}] must be an object", param="messages")
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant"):
            raise bad_request(f"messages[{index}].role {role!r} is not supported", param="messages")
        parts = _parts(message, index)
        last = index == len(messages) - 1
        texts = [str(p.get("text", "")) for p in parts if p["type"] == "text"]
        if role in ("system", "developer"):
            system_texts.extend(texts)
            continue
        if role == "assistant" and isinstance(message.get("audio"), dict):
            raise bad_request(
                f"messages[{index}].audio refers to an earlier answer by id; this server keeps no history — "
                "send the audio as an input_audio part",
                param="messages",
            )
        for n, part in enumerate(parts):
            if part["type"] == "text":
                if role == "user":
                    pending = str(part.get("text", ""))
            elif part["type"] in ("input_audio", "audio_url"):
                raw, fmt = _audio_part(part, f"messages[{index}].content[{n}]")
                pairs.append((pending, store.put(raw, fmt)))
                pending = ""
            else:
                raise bad_request(
                    f"messages[{index}].content[{n}]: content type {part['type']!r} is not supported",
                    param="messages",
                )
        if last:
            if role != "user" or not any(t.strip() for t in texts):
                raise bad_request(
                    "the last message must be the user's text to speak", param="messages", code="empty_input"
                )
            if any(p["type"] != "text" for p in parts):
                raise bad_request("the last message must hold only the text to speak", param="messages")
            final = "\n".join(t for t in texts if t.strip())
    if len(final) > MAX_INPUT_CHARS:
        raise bad_request(f"the text is {len(final)} characters; at most {MAX_INPUT_CHARS}", param="messages")

    scene, profiles = split_system("\n".join(system_texts))
    if pairs:
        transcript, clip = pairs[0]
        voice = VoiceSpec(kind="clip", ref_audio=clip, transcript=transcript.strip(), name="reference")
    elif audio_param.get("voice"):
        voice = catalog.resolve(audio_param.get("voice"), "audio.voice")
    elif profiles.get(0):
        voice = VoiceSpec(kind="profile", profile=profiles[0], name="SPEAKER0")
    else:
        voice = catalog.default()
    context = tuple(ContextTurn(text=t.strip(), audio=path, speaker=0) for t, path in pairs[1:])
    extension = _text(body, "scene_description")
    job = RenderJob(
        job_id=job_id,
        text=final,
        out_path="",
        speakers=(voice,),
        speaker=0,
        scene_description=(extension or scene).strip(),
        kind=_kind(body),
        params=generation_params(body),
        context=context,
    )
    return ChatRequest(job, model, CHAT_FORMATS[fmt_name])


def chat_response(
    model: str, audio: bytes, transcript: str, *, sample_rate: int, duration: float, suspect: bool, note: str
) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` carrying the audio as OpenAI's ``message.audio``."""
    created = int(time.time())
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "audio": {
                        "id": f"audio_{uuid.uuid4().hex}",
                        "data": base64.b64encode(audio).decode("ascii"),
                        "expires_at": created + 3600,
                        "transcript": transcript,
                    },
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "chorus": {"sample_rate": sample_rate, "duration": duration, "suspect": suspect, "note": note},
    }


def models_list(models: list[str], backend: str) -> dict[str, Any]:
    created = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": created, "owned_by": f"chorus:{backend}"} for m in models
        ],
    }


# --------------------------------------------------------------------------------------------------
# Audio out
# --------------------------------------------------------------------------------------------------


class EncodeError(RuntimeError):
    """The audio could not be encoded in the asked format."""


def to_pcm16(audio: np.ndarray) -> bytes:
    clipped = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    return (np.round(clipped * 32767.0)).astype("<i2").tobytes()


def wav_stream_header(sample_rate: int) -> bytes:
    """The 44-byte header of a 16-bit mono WAV of unknown length (RIFF and data sizes 0xFFFFFFFF, as
    streaming servers send it; readers take the audio up to the end of the stream)."""
    rate = int(sample_rate)
    return (
        b"RIFF"
        + (0xFFFFFFFF).to_bytes(4, "little")
        + b"WAVEfmt "
        + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little")  # PCM
        + (1).to_bytes(2, "little")  # mono
        + rate.to_bytes(4, "little")
        + (rate * 2).to_bytes(4, "little")  # bytes per second
        + (2).to_bytes(2, "little")  # block align
        + (16).to_bytes(2, "little")  # bits per sample
        + b"data"
        + (0xFFFFFFFF).to_bytes(4, "little")
    )


def encode_audio(audio: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """Mono float audio as ``fmt`` bytes: wav/flac (16-bit), mp3 (128 kbit/s via ffmpeg), pcm (s16le)."""
    import soundfile

    data = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    if fmt == "pcm":
        return to_pcm16(data)
    if fmt in ("wav", "flac"):
        buffer = io.BytesIO()
        soundfile.write(buffer, data, int(sample_rate), format=fmt.upper(), subtype="PCM_16")
        return buffer.getvalue()
    if fmt == "mp3":
        return _mp3(data, int(sample_rate))
    raise EncodeError(f"unknown audio format {fmt!r}")


def _mp3(audio: np.ndarray, sample_rate: int) -> bytes:
    try:
        ffmpeg = ffmpeg_exe()
    except FfmpegMissing:  # no ffmpeg: libsndfile's own MP3 writer
        import soundfile

        buffer = io.BytesIO()
        soundfile.write(buffer, audio, sample_rate, format="MP3")
        return buffer.getvalue()
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", str(sample_rate), "-ac", "1",
        "-i", "pipe:0", "-f", "mp3", "-b:a", "128k", "pipe:1",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, input=to_pcm16(audio), capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EncodeError(f"ffmpeg could not encode MP3: {exc}") from None
    if done.returncode != 0 or not done.stdout:
        raise EncodeError(
            f"ffmpeg could not encode MP3: {done.stderr.decode(errors='replace').strip()[:300]}"
        )
    return done.stdout


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
