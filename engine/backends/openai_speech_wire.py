"""The openai backend's wire format: the JSON it sends to speech servers and the audio it reads back.

Two routes:

* ``POST /v1/audio/speech`` (OpenAI speech) with a voice *preset* the server knows;
* ``POST /v1/chat/completions`` with the reference clip as an ``input_audio`` part for cloning, shaped as
  vLLM's higgs-audio server expects it (boson-ai/higgs-audio ``examples/vllm/run_chat_completion.py``:
  system prompt with the scene block, the reference transcript as a user turn, the clip as an assistant
  turn ``[{"type": "input_audio", "input_audio": {"data": BASE64, "format": "wav"}}]``, then the text);
  the audio comes back base64 in ``choices[0].message.audio.data`` (OpenAI's ChatCompletionAudio).

With Chorus extensions on, the seed, top_k, RAS settings and scene description ride along as extra
JSON fields; a Chorus server answers a take's suspect flag and note in headers (speech) or a ``chorus``
object (chat). An answer that is not audio is a :class:`RemoteError` that is not retried.

Thread contract: the functions are pure; :class:`ClipCache` is safe to share between threads.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from engine.backends.base import BackendError
from engine.backends.openai_speech_transport import RemoteError, preview
from engine.higgs.prompt import DEFAULT_SCENE, SYSTEM_TEXT
from engine.protocol import RenderJob

DEFAULT_SYSTEM_PROMPT = SYSTEM_TEXT  # the Higgs prompt constants live once, in engine.higgs.prompt
SCENE_START, SCENE_END = "<|scene_desc_start|>", "<|scene_desc_end|>"
STOP_TOKENS = ["<|eot_id|>", "<|end_of_text|>", "<|audio_eos|>"]  # as vLLM's higgs-audio example sends
SAMPLE_RATE = 24000  # what Higgs servers answer; each take keeps the rate the server sent


class ClipCache:
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
            f"{where} answered something that is not audio: {preview(data, content_type)}", retry=False
        ) from None
    mono = np.ascontiguousarray(audio.mean(axis=1), dtype=np.float32)
    if mono.size == 0:
        raise RemoteError(f"{where} answered an empty audio file", retry=False)
    if not np.all(np.isfinite(mono)):
        raise RemoteError(f"{where} answered audio with invalid (NaN) samples", retry=False)
    return mono, int(rate)


def generation_fields(job: RenderJob, extensions: bool) -> dict[str, Any]:
    """The job's generation settings as request fields (the Higgs-only ones with Chorus extensions)."""
    p = job.params
    extra: dict[str, Any] = {"temperature": p.temperature, "top_p": p.top_p, "seed": p.seed}
    if extensions:
        extra.update(
            top_k=p.top_k,
            ras_win_len=p.ras_win_len,
            ras_max_num_repeat=p.ras_max_num_repeat,
            max_new_tokens=p.max_new_tokens,
        )
        if job.kind != "dialogue":
            extra["kind"] = job.kind
    return extra


def speech_payload(model: str, job: RenderJob, preset: str, *, fmt: str, extensions: bool) -> dict[str, Any]:
    """The body of ``POST /v1/audio/speech``: the line spoken by a server preset."""
    payload: dict[str, Any] = {"input": job.text, "voice": preset, "response_format": fmt}
    if model:
        payload["model"] = model
    if extensions:
        payload.update(generation_fields(job, extensions))
        if job.scene_description.strip():
            payload["scene_description"] = job.scene_description.strip()
    return payload


def chat_payload(
    model: str,
    job: RenderJob,
    preset: str,
    *,
    fmt: str,
    extensions: bool,
    system_prompt: str,
    clips: ClipCache,
) -> dict[str, Any]:
    """The body of ``POST /v1/chat/completions``: scene, voice clip and context takes as turns, then the line."""
    voice = job.voice
    scene = [job.scene_description.strip() or DEFAULT_SCENE]
    if voice.kind == "profile" and not preset:
        scene.append(f"SPEAKER0: {' '.join(voice.profile.split())}")
    system = f"{system_prompt}\n\n{SCENE_START}\n" + "\n".join(scene) + f"\n{SCENE_END}"
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    if voice.kind == "clip" and not preset:
        messages.extend(_pair(voice.transcript, voice.ref_audio, clips))
    for turn in job.context:
        if turn.speaker == job.speaker and turn.audio and Path(turn.audio).is_file():
            messages.extend(_pair(turn.text, turn.audio, clips))
    messages.append({"role": "user", "content": job.text})
    audio: dict[str, Any] = {"format": fmt}
    if preset:
        audio["voice"] = preset
    payload: dict[str, Any] = {
        "messages": messages,
        "modalities": ["text", "audio"],
        "audio": audio,
        "max_completion_tokens": job.params.max_new_tokens,
        "stop": STOP_TOKENS,
        **generation_fields(job, extensions),
    }
    if model:
        payload["model"] = model
    return payload


def _pair(text: str, audio_path: str, clips: ClipCache) -> list[dict[str, Any]]:
    data, fmt = clips.get(audio_path)
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


def chat_audio(body: bytes, where: str, content_type: str) -> tuple[np.ndarray, int, bool, str]:
    """(audio, sample rate, suspect, note) from a chat completion answer; RemoteError if it holds no audio."""
    try:
        reply = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RemoteError(
            f"{where} answered something that is not audio: {preview(body, content_type)}", retry=False
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
