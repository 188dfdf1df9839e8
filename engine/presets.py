"""The one reader of a vLLM higgs-audio voice-presets folder (``config.json`` + reference audio).

Layout (boson-ai/higgs-audio ``examples/vllm/voice_presets``): ``config.json`` maps a voice name to
``{"transcript": ..., "audio_file": <file in the folder>}``, optionally with ``"system_prompt"``.
``chorus engine serve --voices-dir`` serves such a folder (:mod:`engine.http_api`); the voice bank
imports one and merges into one when it exports (:mod:`studio.bank.packs`). Both read it here, so both
refuse the same folders with the same messages.

What is refused, each with a :class:`PresetsError` naming the file and field: no ``config.json``; one
over :data:`MAX_CONFIG_BYTES` or naming more than :data:`MAX_VOICES` voices; text that isn't UTF-8
(a byte-order mark is fine) or isn't JSON (the message gives the line); a top level or an entry that
isn't an object; an empty voice name; ``transcript`` missing or not text; ``system_prompt`` not text;
text over :data:`MAX_TEXT_CHARS`; ``audio_file`` missing, not text, empty, absolute, holding ``..`` or a
NUL, resolving (through links) outside the folder, or not an existing file.

Standard library only: the studio imports this module, and the engine never imports the studio.
Thread contract: pure apart from reading the folder; safe from any thread.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

PRESETS_CONFIG = "config.json"
MAX_CONFIG_BYTES = 1024 * 1024
MAX_VOICES = 1000
MAX_TEXT_CHARS = 20_000  # transcript, system_prompt
MAX_AUDIO_FILE_CHARS = 1000


class PresetsError(ValueError):
    """A voice-presets folder that cannot be used (the message names the file and field)."""


@dataclass(frozen=True)
class Preset:
    name: str
    transcript: str
    audio_file: str  # absolute path, resolved, inside the folder
    system_prompt: str = ""
    audio_file_as_written: str = ""  # the audio_file value in config.json (relative to the folder)


def load_presets(folder: str | os.PathLike[str]) -> dict[str, Preset]:
    """Read and check a voice-presets folder: voice name -> :class:`Preset`, in the file's order.

    Everything is checked before anything is returned; the first problem raises :class:`PresetsError`.
    """
    root = Path(folder).expanduser().resolve()
    config = root / PRESETS_CONFIG
    data = _read_config(root, config)
    if not isinstance(data, dict):
        raise PresetsError(
            f"{PRESETS_CONFIG}: the top level must be an object mapping voice names to "
            f'{{"transcript", "audio_file"}}, not {_type_name(data)}'
        )
    if len(data) > MAX_VOICES:
        raise PresetsError(f"{PRESETS_CONFIG} names {len(data)} voices; at most {MAX_VOICES} are allowed")
    presets: dict[str, Preset] = {}
    for name, entry in data.items():
        presets[name] = _preset(root, name, entry)
    return presets


def _read_config(root: Path, config: Path) -> object:
    if not config.is_file():
        raise PresetsError(
            f"{root} has no {PRESETS_CONFIG}; write one with `chorus voices export --presets {root}`"
        )
    try:
        size = config.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise PresetsError(f"{config} is {size:,} bytes; at most {MAX_CONFIG_BYTES:,} are allowed")
        with config.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise PresetsError(f"cannot read {config}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:  # it grew after the size check
        raise PresetsError(f"{config} is over {MAX_CONFIG_BYTES:,} bytes; at most that many are allowed")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PresetsError(f"{config} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise PresetsError(f"{config} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise PresetsError(f"{config} is nested too deeply to be a voice-presets config") from None


def _preset(root: Path, name: str, entry: object) -> Preset:
    where = f"{PRESETS_CONFIG}: {name}"
    if not name.strip():
        raise PresetsError(f"{PRESETS_CONFIG}: a voice name is empty; every voice needs a name")
    if not isinstance(entry, dict):
        raise PresetsError(
            f"{where} must be an object with 'transcript' and 'audio_file', not {_type_name(entry)}"
        )
    transcript = _text(entry, "transcript", where, required=True, limit=MAX_TEXT_CHARS)
    relative = _text(entry, "audio_file", where, required=True, limit=MAX_AUDIO_FILE_CHARS)
    system_prompt = _text(entry, "system_prompt", where, required=False, limit=MAX_TEXT_CHARS)
    path = _inside(root, relative, f"{where}.audio_file")
    return Preset(name, transcript, str(path), system_prompt, relative)


def _text(entry: dict[str, object], key: str, where: str, *, required: bool, limit: int) -> str:
    if key not in entry:
        if required:
            raise PresetsError(f"{where}.{key} is missing")
        return ""
    value = entry[key]
    if not isinstance(value, str):
        raise PresetsError(f"{where}.{key} must be a string, not {_type_name(value)}")
    if len(value) > limit:
        raise PresetsError(f"{where}.{key} is {len(value)} characters long; at most {limit} are allowed")
    return value


def _inside(root: Path, relative: str, where: str) -> Path:
    """The existing file ``relative`` names inside ``root`` (resolved, links followed)."""
    if (
        not relative
        or "\x00" in relative
        or Path(relative).is_absolute()
        or PureWindowsPath(relative).anchor  # C:\x, C:x, \x, \\server\share
        or ".." in re.split(r"[\\/]", relative)
    ):
        raise PresetsError(f"{where} must name a file inside the presets folder, not {relative!r}")
    try:
        path = (root / relative).resolve()
    except (OSError, RuntimeError) as exc:  # a link loop (RuntimeError before Python 3.13)
        raise PresetsError(f"{where}: {relative} cannot be followed ({exc})") from None
    if not path.is_relative_to(root):
        raise PresetsError(f"{where} points outside the presets folder ({relative!r})")
    if not path.is_file():
        raise PresetsError(f"{where}: {relative} does not exist in {root}")
    return path


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
