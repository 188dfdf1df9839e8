"""Every project setting, its default and what it accepts — one table for the studio and the CLI.

The project settings dialog draws its backend forms from :data:`BACKENDS`; ``chorus settings`` lists
and sets the same keys through :func:`setting_rows` and :func:`parse_change`, so what a headless
machine can set is exactly what the studio can.

Keys: the :class:`~studio.core.project.ProjectSettings` fields (``backend``, ``export_preset``,
``sample_rate``, gaps …) and, for the current backend, its options (``model``, ``device``,
``batch_size``, ``endpoints`` …). Secrets are never stored in a project: a remote server's API key is
read from the environment variable named by ``api_key_env``.

Pure functions; safe from any thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from studio.core.project import ProjectSettings

# The default Higgs checkpoint (engine.higgs.loading.DEFAULT_MODEL; a test keeps the two equal).
HIGGS_DEFAULT_MODEL = "eustlb/higgs-audio-v2-generation-3B-base"
EXPORT_PRESETS: tuple[str, ...] = ("podcast", "ebu", "acx", "none")
SECRET_WORDS: tuple[str, ...] = ("api_key", "token", "password", "secret")


class SettingError(ValueError):
    """A setting that does not exist or a value it does not accept (the message says which)."""


@dataclass(frozen=True)
class Param:
    key: str
    label: str
    kind: str  # text | int | float | bool | choice | lines | numbers (a JSON object of name → number)
    default: Any
    tip: str = ""
    choices: tuple[str, ...] = ()
    lo: float = 0.0
    hi: float = 1e9
    step: float = 1.0

    def allowed(self) -> str:
        """What the setting accepts, in words."""
        if self.kind == "choice":
            return " | ".join(self.choices)
        if self.kind == "bool":
            return "true | false"
        if self.kind in ("int", "float"):
            return f"{self.kind} {_num(self.lo)}…{_num(self.hi)}"
        if self.kind == "lines":
            return "URL [concurrency], comma- or newline-separated"
        if self.kind == "numbers":
            return 'JSON object of name → number, e.g. {"max_wer": 0.3}'
        return "text"

    def parse(self, text: str) -> Any:
        """The value of ``text`` for this setting; raises SettingError naming the key."""
        raw = text.strip()
        try:
            if self.kind == "bool":
                lowered = raw.lower()
                if lowered in ("true", "yes", "on", "1"):
                    return True
                if lowered in ("false", "no", "off", "0"):
                    return False
                raise ValueError
            if self.kind in ("int", "float"):
                value: float = int(raw) if self.kind == "int" else float(raw)
                if not self.lo <= value <= self.hi:
                    raise SettingError(f"{self.key} must be between {_num(self.lo)} and {_num(self.hi)}, not {raw}")
                return value
        except SettingError:
            raise
        except ValueError:
            raise SettingError(f"{self.key} takes {self.allowed()}, not {raw!r}") from None
        if self.kind == "choice":
            if raw not in self.choices:
                raise SettingError(f"{self.key} takes {self.allowed()}, not {raw!r}")
            return raw
        if self.kind == "lines":
            return parse_endpoints(raw)
        if self.kind == "numbers":
            return parse_numbers(self.key, raw)
        return raw


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def parse_endpoints(text: str) -> list[dict[str, Any]]:
    """``"http://a:8000/v1 8, http://b:8000/v1"`` (or one per line) → [{"url", "concurrency"?}, …]."""
    out: list[dict[str, Any]] = []
    for raw in text.replace(",", "\n").splitlines():
        parts = raw.split()
        if not parts:
            continue
        if not parts[0].startswith(("http://", "https://")):
            raise SettingError(f"endpoints: {parts[0]!r} is not an http(s) URL")
        entry: dict[str, Any] = {"url": parts[0]}
        if len(parts) > 1:
            if not parts[1].isdigit() or int(parts[1]) < 1:
                raise SettingError(f"endpoints: concurrency for {parts[0]} must be a whole number ≥ 1")
            entry["concurrency"] = int(parts[1])
        out.append(entry)
    return out


def parse_numbers(key: str, text: str) -> tuple[tuple[str, float], ...]:
    """``'{"max_wer": 0.3}'`` → (("max_wer", 0.3),) sorted by name; "" or "{}" = no overrides."""
    if not text.strip():
        return ()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SettingError(f"{key} takes a JSON object of name → number: {exc}") from None
    if not isinstance(data, dict):
        raise SettingError(f'{key} takes a JSON object of name → number, e.g. {{"max_wer": 0.3}}')
    out = []
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingError(f"{key}: {name} must be a number, not {value!r}")
        out.append((str(name), float(value)))
    return tuple(sorted(out))


def numbers_text(value: Any) -> str:
    """Name → number pairs as the JSON object a user writes ("" for none)."""
    pairs = dict(value or ())
    return json.dumps(pairs) if pairs else ""


def endpoints_text(value: Any) -> str:
    """The endpoints list as the user writes it (one per line)."""
    if isinstance(value, list):
        return "\n".join(
            f"{e.get('url', '')} {e.get('concurrency', '')}".strip() if isinstance(e, dict) else str(e)
            for e in value
        )
    return str(value or "")


GENERATION = (
    Param("temperature", "Temperature", "float", 1.0, "Higher = livelier, less predictable", lo=0.0, hi=2.0, step=0.05),
    Param("top_k", "Top-k", "int", 50, lo=1, hi=1000),
    Param("top_p", "Top-p", "float", 0.95, lo=0.05, hi=1.0, step=0.01),
    Param("seed", "Seed", "int", 0, "Same seed + same text + same voice = the same take", lo=0, hi=2**31 - 1),
)

BACKENDS: dict[str, tuple[str, tuple[Param, ...]]] = {
    "piper": (
        "Piper (CPU, fast, bundled voice)",
        (
            Param("workers", "Worker processes", "text", "auto", "auto = one per core (up to 4); 0 = in the engine"),
            Param("sentence_silence", "Pause between sentences", "float", 0.12, lo=0.0, hi=2.0, step=0.02),
            Param("length_scale", "Speaking rate (length scale)", "float", 1.0, "Above 1 = slower", lo=0.5, hi=2.0, step=0.05),
        ),
    ),
    "higgs": (
        "Higgs Audio v2 (local GPU, cloning, scenes)",
        (
            Param("model", "Model", "text", HIGGS_DEFAULT_MODEL, "A Hugging Face repo id (REPO@REVISION pins a commit) or a local folder"),
            Param("tokenizer", "Audio tokenizer", "text", "", "Repo id or folder of the codec; empty = the one the model names"),
            Param("device", "Device", "choice", "auto", choices=("auto", "cuda", "cpu")),
            Param("dtype", "Precision", "choice", "auto", choices=("auto", "bfloat16", "float16", "float32")),
            Param("continuity", "Scene continuity (earlier lines as context)", "bool", True),
            Param("batch_size", "Batch size", "int", 4, "Lines per generate() call when the fast path is off", lo=1, hi=256),
            Param("fast", "Fast path", "choice", "auto", "Static cache, continuous batching, CUDA graphs; off = plain generate()", choices=("auto", "on", "off")),
            Param("max_slots", "Lines decoded at once", "int", 0, "0 = auto: 128 on a GPU (fewer when its memory is short), 8 on a CPU", lo=0, hi=512),
            Param("precision", "Weights", "choice", "auto", "auto = the best that fits the card's free memory", choices=("auto", "bf16", "int8", "int4")),
            Param("codec_device", "Audio codec on", "choice", "auto", "auto = the CPU when GPU memory is short", choices=("auto", "gpu", "cpu")),
            Param("local_files_only", "Never download (use the local cache only)", "bool", False),
            *GENERATION,
        ),
    ),
    "openai": (
        "Remote speech servers (vLLM / SGLang, OpenAI-compatible)",
        (
            Param("endpoints", "Servers", "lines", "", "One per line: URL [concurrency], e.g. http://gpu1:8000/v1 8"),
            Param("model", "Model", "text", "higgs-audio-v2"),
            Param("api_key_env", "API key variable", "text", "", "Name of the environment variable holding the key"),
            *GENERATION,
        ),
    ),
}

# Take checks (studio.qa): the threshold names are studio.qa.scores.DEFAULT_THRESHOLDS (unknown ones are ignored).
QA_PARAMS: tuple[Param, ...] = (
    Param("qa_check", "Check every new take", "bool", True, "Transcribe each new take and score it against the script"),
    Param("qa_retries", "Re-rolls of a suspect take", "int", -1, "-1 = the backend's default (2 for Higgs and remote, 0 for Piper)", lo=-1, hi=20),
    Param("qa_thresholds", "Check thresholds", "numbers", (), 'Overrides of the defaults, e.g. {"max_wer": 0.3, "max_trailing_silence": 2}'),
)

PROJECT_PARAMS: tuple[Param, ...] = (
    Param("title", "Title", "text", "Untitled"),
    Param("artist", "Artist", "text", ""),
    Param("album", "Album", "text", ""),
    Param("comment", "Comment", "text", ""),
    Param("backend", "Render backend", "choice", "piper", choices=tuple(BACKENDS)),
    Param("export_preset", "Loudness preset", "choice", "podcast", choices=EXPORT_PRESETS),
    Param("sample_rate", "Sample rate", "choice", "48000", choices=("22050", "24000", "44100", "48000")),
    Param("channels", "Channels", "choice", "2", choices=("1", "2")),
    Param("gap_same_speaker", "Gap, same speaker (s)", "float", 0.25, lo=0.0, hi=30.0),
    Param("gap_new_speaker", "Gap, new speaker (s)", "float", 0.6, lo=0.0, hi=30.0),
    Param("gap_new_scene", "Gap, new scene (s)", "float", 1.5, lo=0.0, hi=60.0),
    Param("lead_in", "Lead-in (s)", "float", 0.0, lo=0.0, hi=600.0),
    Param("master_gain_db", "Master gain (dB)", "float", 0.0, lo=-60.0, hi=24.0),
    Param("level_match_speakers", "Match speaker levels", "bool", False),
    Param(
        "timeline_language",
        "Timeline language",
        "text",
        "",
        "The language the timeline, playback and the mix speak: a target language; empty = the source",
    ),
    *QA_PARAMS,
)
_INT_CHOICES = {"sample_rate", "channels"}

# Studio preferences: this computer's, not the project's (a project copied elsewhere keeps none of
# them); the studio keeps them in its settings file under "studio/<key>" (studio.ui.qt_settings).
STUDIO_PARAMS: tuple[Param, ...] = (
    Param(
        "output_device",
        "Audio output device",
        "text",
        "",
        "A device name (or index) from the list of outputs; empty = the system default. A device that "
        "is not connected plays on the system default, with a message.",
    ),
)


@dataclass(frozen=True)
class SettingRow:
    key: str
    value: Any
    default: Any
    allowed: str
    section: str  # "project" or the backend name


def setting_rows(settings: ProjectSettings) -> list[SettingRow]:
    """Every setting with its current value, default and what it accepts (project, then backend)."""
    known = {f.name for f in fields(ProjectSettings)}
    rows = [
        SettingRow(p.key, _shown(p, getattr(settings, p.key)), _shown(p, p.default), p.allowed(), "project")
        for p in PROJECT_PARAMS
        if p.key in known
    ]
    options = settings.backend_options_dict()
    for p in BACKENDS.get(settings.backend, ("", ()))[1]:
        rows.append(SettingRow(p.key, options.get(p.key, p.default), p.default, p.allowed(), settings.backend))
    return rows


def _shown(param: Param, value: Any) -> Any:
    return dict(value or ()) if param.kind == "numbers" else value


def backend_param(backend: str, key: str) -> Param | None:
    return next((p for p in BACKENDS.get(backend, ("", ()))[1] if p.key == key), None)


def parse_change(settings: ProjectSettings, key: str, text: str) -> dict[str, Any]:
    """The ``ops.set_settings`` changes that set ``key`` to ``text``; raises SettingError.

    A backend option may be written ``model`` (the current backend's) or ``higgs.model`` (which must
    be the current backend). Changing ``backend`` keeps only the options the new backend knows.
    """
    if any(word in key.lower() for word in SECRET_WORDS) and key != "api_key_env":
        raise SettingError(
            "secrets are never stored in a project: put the key in an environment variable and set "
            "api_key_env to its name"
        )
    project_param = next((p for p in PROJECT_PARAMS if p.key == key), None)
    if project_param is not None:
        value = project_param.parse(text)
        if key in _INT_CHOICES:
            value = int(value)
        if key == "timeline_language":
            value = _timeline_language(settings, str(value))
        changes: dict[str, Any] = {key: value}
        if key == "backend" and value != settings.backend:
            kept = {k: v for k, v in settings.backend_options if backend_param(str(value), k) is not None}
            changes["backend_options"] = tuple(sorted(kept.items()))
        return changes
    backend, dot, option = key.partition(".")
    if not dot:
        backend, option = settings.backend, key
    if backend not in BACKENDS:
        raise SettingError(f"no setting {key!r}; `chorus settings PROJECT` lists them")
    if backend != settings.backend:
        raise SettingError(
            f"{key} is a {backend} option but the project renders with {settings.backend}: "
            f"set backend {backend} first"
        )
    param = backend_param(backend, option)
    if param is None:
        names = ", ".join(p.key for p in BACKENDS[backend][1])
        raise SettingError(f"{backend} has no option {option!r}; its options: {names}")
    options = settings.backend_options_dict()
    options[option] = param.parse(text)
    return {"backend_options": tuple(sorted(options.items(), key=lambda kv: kv[0]))}


def _timeline_language(settings: ProjectSettings, text: str) -> str:
    """A project language code ("" for the source); SettingError for one the project does not have."""
    code = text.strip().lower().replace("_", "-")
    if not code or code == settings.source_language:
        return ""
    if code not in settings.target_languages:
        known = ", ".join((settings.source_language, *settings.target_languages))
        raise SettingError(f"timeline_language: the project has no language {code!r}; its languages are {known}")
    return code


def display(value: Any) -> str:
    """A setting's value as the CLI prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return endpoints_text(value).replace("\n", ", ")
    if isinstance(value, (dict, tuple)):
        return json.dumps(value)
    return str(value)
