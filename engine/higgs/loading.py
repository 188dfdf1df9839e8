"""Finding, downloading, checking and loading a Higgs Audio v2 checkpoint (transformers-native format).

A model source is a local folder or a Hugging Face repo id. A repo is fetched with
``huggingface_hub.snapshot_download`` (resumable: an interrupted download continues where it stopped)
and its progress is reported in bytes through the backend's ``load(progress)`` callback. The audio
tokenizer (codec) is its own checkpoint: named by the ``tokenizer`` option, or found through the
model folder's ``processor_config.json`` / ``audio_tokenizer_config.json`` reference.

Every failure a user can meet is a :class:`~engine.backends.base.BackendError` saying what to do:
missing folder or weights, a repo that is not downloaded while offline, a checkpoint of another
architecture (including Boson AI's original, non-transformers format), too little GPU memory.

Thread contract: called from the engine's worker thread during ``load``; the progress callback is
called from that thread and from huggingface_hub's download threads (it must be thread-safe).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.backends.base import BackendError
from engine.higgs.memory import MemoryPlan

# The default checkpoint is the transformers-format conversion that transformers' own docs and
# integration tests load (the format HiggsAudioV2ForConditionalGeneration reads). Boson's repos were
# rewritten in place between formats (their issue #176), so they are accepted (checked by model_type)
# but not the default. Pin a commit with "repo@revision" (or the `revision` option); the resolved
# snapshot's commit becomes the take's model version, so takes from another revision never mix.
DEFAULT_MODEL = "eustlb/higgs-audio-v2-generation-3B-base"
DEFAULT_TOKENIZER = "eustlb/higgs-audio-v2-tokenizer"
ORIGINAL_MODEL = "bosonai/higgs-audio-v2-generation-3B-base"
MODEL_TYPE = "higgs_audio_v2"
CODEC_TYPE = "higgs_audio_v2_tokenizer"
ARCHITECTURE = "HiggsAudioV2ForConditionalGeneration"
WEIGHT_SUFFIXES = (".safetensors", ".bin")
LOAD_HEADROOM_GIB = 2.0  # codec, activations and CUDA context on top of the weights

ProgressCallback = Callable[[float, str], None]


# --------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------


def is_local(spec: str) -> bool:
    """A spec that names a folder on disk (absolute, relative or ~) rather than a repo id."""
    return spec.startswith(("/", ".", "~")) or os.path.isdir(os.path.expanduser(spec)) or "\\" in spec


def resolve_source(
    spec: str,
    *,
    what: str,
    local_files_only: bool,
    progress: ProgressCallback | None = None,
    span: tuple[float, float] = (0.0, 1.0),
    cache_dir: str | None = None,
) -> Path:
    """The folder holding checkpoint ``spec`` (downloading a repo id if needed and allowed)."""
    if is_local(spec):
        folder = Path(os.path.expanduser(spec)).resolve()
        if not folder.is_dir():
            raise BackendError(
                f"no {what} at {folder}: the folder does not exist; check the path in the settings"
            )
        return folder
    repo_id, revision = split_revision(spec)
    return download(
        repo_id,
        what=what,
        local_files_only=local_files_only,
        progress=progress,
        span=span,
        cache_dir=cache_dir,
        revision=revision,
    )


def split_revision(spec: str) -> tuple[str, str | None]:
    """``"owner/name@rev"`` → ("owner/name", "rev"): a repo id pinned to a commit, tag or branch."""
    repo_id, sep, revision = spec.partition("@")
    return repo_id, (revision or None) if sep else None


def download(
    repo_id: str,
    *,
    what: str,
    local_files_only: bool,
    progress: ProgressCallback | None = None,
    span: tuple[float, float] = (0.0, 1.0),
    cache_dir: str | None = None,
    revision: str | None = None,
) -> Path:
    """Snapshot of ``repo_id`` (at ``revision``, default its main branch) in the Hugging Face cache,
    downloading what is missing (resumable)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        cached = Path(
            snapshot_download(repo_id, revision=revision, local_files_only=True, cache_dir=cache_dir)
        )
        if weights_complete(cached):
            return cached
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        pass
    if local_files_only:
        raise BackendError(
            f"the {what} {repo_id} is not downloaded and downloads are off: download it on a machine with "
            f"internet (`hf download {repo_id}`) and copy the Hugging Face cache, or point the setting at a "
            "local folder"
        )
    tqdm_class = byte_progress(progress, f"downloading {repo_id}", span) if progress else None
    try:
        return Path(snapshot_download(repo_id, revision=revision, cache_dir=cache_dir, tqdm_class=tqdm_class))
    except GatedRepoError:
        raise BackendError(
            f"{repo_id} needs you to accept its licence on huggingface.co and log in (`hf auth login`)"
        ) from None
    except (RepositoryNotFoundError, RevisionNotFoundError):
        raise BackendError(f"there is no {what} called {repo_id} on huggingface.co; check the name") from None
    except (LocalEntryNotFoundError, ConnectionError, OSError) as exc:
        raise BackendError(
            f"could not download the {what} {repo_id} ({type(exc).__name__}: {exc}); check the internet "
            "connection and try again — the download resumes where it stopped — or point the setting at a "
            "local folder"
        ) from None


def weights_complete(folder: Path) -> bool:
    """True if ``folder`` has its weights: every shard of a sharded index, or a single weights file."""
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = folder / index_name
        if index.is_file():
            try:
                shards = set(json.loads(index.read_text())["weight_map"].values())
            except (OSError, ValueError, KeyError):
                return False
            return all((folder / shard).is_file() for shard in shards)
    return any(p.suffix in WEIGHT_SUFFIXES and p.is_file() for p in folder.iterdir())


def read_config(folder: Path, *, what: str) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise BackendError(f"{folder} has no config.json, so it is not a {what} checkpoint; check the path")
    try:
        config: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot read {path}: {exc}") from None
    return config


def check_model_folder(folder: Path) -> dict[str, Any]:
    """The model's config, after checking it is a transformers-native Higgs Audio v2 with weights."""
    config = read_config(folder, what="Higgs Audio")
    model_type = config.get("model_type", "")
    architectures = config.get("architectures") or []
    if model_type == "higgs_audio":
        raise BackendError(
            f"{folder} holds Boson AI's original Higgs Audio format ({ORIGINAL_MODEL}), which transformers "
            f"cannot load; use the transformers conversion {DEFAULT_MODEL} instead"
        )
    if model_type != MODEL_TYPE or (architectures and ARCHITECTURE not in architectures):
        found = ", ".join(architectures) or "no architecture listed"
        raise BackendError(
            f"{folder} holds a {model_type or 'unknown'} checkpoint ({found}), not Higgs Audio v2; point the "
            f"model setting at a Higgs Audio v2 checkpoint such as {DEFAULT_MODEL}"
        )
    if not weights_complete(folder):
        raise BackendError(
            f"{folder} has a Higgs Audio config but its weights are missing or incomplete; download the "
            "model again (an interrupted download resumes)"
        )
    return config


def check_codec_folder(folder: Path) -> None:
    config = read_config(folder, what="Higgs audio tokenizer")
    if config.get("model_type") != CODEC_TYPE:
        raise BackendError(
            f"{folder} holds a {config.get('model_type') or 'unknown'} checkpoint, not the Higgs Audio v2 "
            f"tokenizer; set the tokenizer to {DEFAULT_TOKENIZER} or a local copy of it"
        )
    if not weights_complete(folder):
        raise BackendError(f"the audio tokenizer at {folder} has no weights; download it again")


def codec_reference(model_folder: Path) -> str:
    """Where the model folder says its audio tokenizer lives (a path or repo id), "" if it does not say."""
    candidates: list[Any] = []
    for name in ("audio_tokenizer_config.json", "processor_config.json"):
        path = model_folder / name
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            candidates.append(data.get("audio_tokenizer", data))
    for entry in candidates:
        if isinstance(entry, dict) and entry.get("audio_tokenizer_name_or_path"):
            ref = str(entry["audio_tokenizer_name_or_path"])
            if not os.path.isabs(ref) and (model_folder / ref).is_dir():
                return str(model_folder / ref)
            return ref
    if (model_folder / "audio_tokenizer").is_dir():
        return str(model_folder / "audio_tokenizer")
    return ""


# --------------------------------------------------------------------------------------------------
# Download progress (bytes)
# --------------------------------------------------------------------------------------------------


def byte_progress(report: ProgressCallback, detail: str, span: tuple[float, float] = (0.0, 1.0)) -> type:
    """A tqdm class for ``snapshot_download(tqdm_class=...)`` that reports download progress.

    huggingface_hub ≥ 1.0 opens byte-counting bars (``unit="B"``) and a files bar; older releases only
    the files bar. The fraction comes from the byte bars when any has a total, else from the files
    bar. Reports are throttled (every 0.25 s or 1 %) and never go backwards; all bars of one class share
    the state, so make one class per download.
    """
    from tqdm.auto import tqdm

    lock = threading.Lock()
    state = {"last": -1.0, "when": 0.0}
    bars: list[Any] = []
    low, high = span

    def emit(force: bool = False) -> None:
        with lock:
            byte_bars = [b for b in bars if b.unit == "B" and (b.total or 0) > 0]
            # huggingface_hub ≥ 1.0 keeps a network-transfer bar ("Downloading bytes") beside the bytes
            # written to disk; count the written bytes when both are there.
            written = [b for b in byte_bars if not str(b.desc).startswith("Downloading bytes")]
            counted = written or byte_bars
            if counted:
                done = sum(b.n for b in counted)
                total = sum(b.total for b in counted)
                text = f"{detail}: {done / 1e9:.2f} of {total / 1e9:.2f} GB"
            else:
                file_bars = [b for b in bars if (b.total or 0) > 0]
                if not file_bars:
                    return
                done = sum(b.n for b in file_bars)
                total = sum(b.total for b in file_bars)
                text = f"{detail}: {int(done)} of {int(total)} files"
            fraction = min(1.0, done / total) if total else 0.0
            now = time.monotonic()
            if fraction <= state["last"] or (
                not force
                and fraction < 1.0
                and fraction - state["last"] < 0.01
                and now - state["when"] < 0.25
            ):
                return
            state["last"], state["when"] = fraction, now
        report(low + (high - low) * fraction, text)

    class ByteProgress(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)  # huggingface_hub's own tqdm takes a name; plain tqdm does not
            kwargs["disable"] = False
            kwargs["file"] = _Sink()
            kwargs["mininterval"] = 0
            kwargs["miniters"] = 1
            super().__init__(*args, **kwargs)
            with lock:
                bars.append(self)

        def update(self, n: float | None = 1) -> bool | None:
            result: bool | None = super().update(n)
            emit()
            return result

        def close(self) -> None:
            super().close()
            emit(force=True)

    return ByteProgress


class _Sink:
    """A file that swallows tqdm's drawing (the engine has no terminal to draw on)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


# --------------------------------------------------------------------------------------------------
# Devices and memory
# --------------------------------------------------------------------------------------------------


def pick_device(option: str = "auto") -> str:
    """``auto`` → cuda, then mps, then cpu; otherwise the named device (checked to exist)."""
    import torch

    option = (option or "auto").lower()
    if option == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if option.startswith("cuda") and not torch.cuda.is_available():
        raise BackendError(
            "the device is set to CUDA but no CUDA GPU is available; set the device to auto or cpu"
        )
    if option == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise BackendError(
            "the device is set to mps but Metal is not available here; set the device to auto or cpu"
        )
    return option


def pick_dtype(option: str, device: str) -> Any:
    """``auto`` → bfloat16 on CUDA, float32 elsewhere; or bf16 / fp16 / fp32 by name."""
    import torch

    names = {
        "bf16": torch.bfloat16,
        "bfloat16": torch.bfloat16,
        "fp16": torch.float16,
        "float16": torch.float16,
        "fp32": torch.float32,
        "float32": torch.float32,
    }
    option = (option or "auto").lower()
    if option == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if option not in names:
        raise BackendError(f"unknown dtype {option!r}; use auto, bf16, fp16 or fp32")
    return names[option]


def weights_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file())


def needed_gib(folder: Path, dtype: Any, stored_bytes_per_param: int = 2) -> float:
    """Rough GPU memory to load the model in ``dtype``: weights (assumed stored in bf16) + headroom."""
    import torch

    params = weights_bytes(folder) / stored_bytes_per_param
    per_param = torch.tensor([], dtype=dtype).element_size()
    return params * per_param / 2**30 + LOAD_HEADROOM_GIB


def free_gib(device: str) -> float | None:
    """Free memory on a CUDA device in GiB (None elsewhere)."""
    import torch

    if not device.startswith("cuda"):
        return None
    free, _total = torch.cuda.mem_get_info(torch.device(device))
    return free / 2**30


def memory_error(device: str, need: float, free: float | None) -> BackendError:
    where = device
    try:
        import torch

        if device.startswith("cuda"):
            where = torch.cuda.get_device_name(torch.device(device))
    except Exception:  # noqa: BLE001 - naming the GPU is a nicety
        pass
    have = f"{free:.1f} GiB is free" if free is not None else "not enough is free"
    return BackendError(
        f"not enough GPU memory to load Higgs Audio on {where}: it needs about {need:.1f} GiB and {have}; "
        "close other GPU programs, use a larger GPU, or switch to a remote (OpenAI-compatible) server"
    )


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def load_processor(model_folder: Path, codec: Any) -> Any:
    """A HiggsAudioV2Processor from the model folder's tokenizer/template/settings and a loaded codec."""
    from transformers import AutoTokenizer, DacFeatureExtractor, HiggsAudioV2Processor

    from engine.higgs.template import CHAT_TEMPLATE

    settings: dict[str, Any] = {}
    path = model_folder / "processor_config.json"
    if path.is_file():
        try:
            settings = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot read {path}: {exc}") from None
    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    extractor_settings = settings.get("feature_extractor")
    if (model_folder / "preprocessor_config.json").is_file():
        extractor = DacFeatureExtractor.from_pretrained(model_folder)
    else:
        kwargs: dict[str, Any] = {
            "feature_size": 1,
            "hop_length": 1,
            "padding_side": "right",
            "padding_value": 0.0,
            "sampling_rate": 24000,
            "return_attention_mask": True,
        }
        if isinstance(extractor_settings, dict):
            kwargs.update({k: v for k, v in extractor_settings.items() if k in kwargs})
        extractor = DacFeatureExtractor(**kwargs)
    template = _chat_template(model_folder, settings, tokenizer) or CHAT_TEMPLATE
    token_keys = (
        "audio_token",
        "audio_bos_token",
        "audio_eos_token",
        "audio_delay_token",
        "audio_stream_bos_id",
        "audio_stream_eos_id",
    )
    extra = {k: settings[k] for k in token_keys if k in settings}
    processor_class: Any = HiggsAudioV2Processor
    return processor_class(extractor, tokenizer, codec, chat_template=template, **extra)


# A chat template is a Higgs Audio v2 template only if it renders the scene block and the audio-out
# markers; a base Llama-3 tokenizer's template (or any other) would prompt the model wrongly.
TEMPLATE_MARKERS = ("<|scene_desc_start|>", "<|audio_out_bos|>", "<|AUDIO_OUT|>")


def is_higgs_template(template: str) -> bool:
    return all(marker in template for marker in TEMPLATE_MARKERS)


def _chat_template(folder: Path, settings: dict[str, Any], tokenizer: Any) -> str:
    """The folder's own Higgs chat template, or "" (then Chorus's copy is used)."""
    candidates: list[str] = []
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        candidates.append(jinja.read_text())
    if isinstance(settings.get("chat_template"), str):
        candidates.append(str(settings["chat_template"]))
    as_json = folder / "chat_template.json"
    if as_json.is_file():
        try:
            candidates.append(str(json.loads(as_json.read_text())["chat_template"]))
        except (OSError, ValueError, KeyError):
            pass
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, str):
        candidates.append(template)
    return next((t for t in candidates if is_higgs_template(t)), "")


def load_codec(folder: Path, device: str) -> Any:
    """The audio tokenizer (codec) in float32 on ``device``."""
    import torch
    from transformers import HiggsAudioV2TokenizerModel

    codec_class: Any = HiggsAudioV2TokenizerModel
    codec = codec_class.from_pretrained(folder, dtype=torch.float32)
    return codec.to(device).eval()


def load_model(
    folder: Path,
    device: str,
    dtype: Any,
    *,
    precision: str = "bf16",
    adapter: str | None = None,
    plan: MemoryPlan | None = None,
) -> Any:
    """The generation model on ``device`` in ``dtype``; GPU out-of-memory becomes a BackendError.

    ``precision`` int8 / int4 quantises the decoder linears (:func:`engine.higgs.quantize.quantize_model`):
    the checkpoint is read on the CPU and each linear is quantised on ``device``, so the bf16 weights
    never sit on the GPU. With a ``plan`` (:func:`plan_load`) the memory was checked already.
    """
    import torch
    from transformers import HiggsAudioV2ForConditionalGeneration

    model_class: Any = HiggsAudioV2ForConditionalGeneration
    need = plan.fixed_bytes / 2**30 if plan is not None else needed_gib(folder, dtype)
    free = free_gib(device)
    if plan is None and free is not None and free < need:
        raise memory_error(device, need, free)
    try:
        if precision in ("int8", "int4"):
            from engine.higgs.quantize import quantize_model

            model = model_class.from_pretrained(folder, dtype=dtype)
            quantize_model(model, precision, adapter=adapter, device=device)
        elif device.startswith("cuda"):
            model = model_class.from_pretrained(folder, dtype=dtype, device_map=device)
        else:
            model = model_class.from_pretrained(folder, dtype=dtype).to(device)
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        raise memory_error(device, need, free_gib(device)) from None
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower():
            raise memory_error(device, need, free_gib(device)) from None
        raise
    return model.eval()


# --------------------------------------------------------------------------------------------------
# The memory plan (issue #20): made before anything is loaded
# --------------------------------------------------------------------------------------------------


def codec_size(codec_folder: Path) -> int:
    """Bytes the codec takes in float32: counted from its config, else from its weight files."""
    try:
        from transformers import HiggsAudioV2TokenizerConfig

        from engine.higgs.memory import codec_bytes

        config_class: Any = HiggsAudioV2TokenizerConfig
        return codec_bytes(config_class.from_pretrained(codec_folder))
    except Exception:  # noqa: BLE001 - an unusual codec config: its files' size is near enough
        return 2 * weights_bytes(codec_folder)  # stored in fp16/bf16 at worst


def free_bytes(device: str) -> int | None:
    """Free memory on a CUDA device in bytes (None elsewhere)."""
    free = free_gib(device)
    return None if free is None else int(free * 2**30)


def plan_load(
    model_folder: Path,
    codec_folder: Path,
    device: str,
    dtype: Any,
    *,
    precision: str = "auto",
    codec_device: str = "auto",
    adapter: str | None = None,
    want_batch: int = 8,
) -> MemoryPlan:
    """The :class:`~engine.higgs.memory.MemoryPlan` for loading these folders on ``device`` (before loading).

    Raises a :class:`BackendError` naming the options that would fit when these cannot.
    """
    import torch

    from engine.higgs.memory import plan_memory

    config = read_config(model_folder, what="Higgs Audio")
    return plan_memory(
        config,
        codec_size(codec_folder),
        precision=precision,
        codec_device=codec_device,
        adapter=adapter,
        free=free_bytes(device),
        device=device,
        want_batch=want_batch,
        dtype_bytes=torch.tensor([], dtype=dtype).element_size(),
    )


PLANS: dict[tuple[str, str, str, str], MemoryPlan] = {}  # a loaded model's key → the plan it was loaded by


def load_key(
    model_folder: Path, codec_folder: Path, device: str, dtype: Any, plan: MemoryPlan
) -> tuple[str, str, str, str]:
    """The key a loaded model is shared under: folders, device and codec placement, dtype and precision."""
    codec = device if plan.codec_on_device else "cpu"
    return (
        str(model_folder),
        str(codec_folder),
        f"{device} codec:{codec}",
        f"{dtype} {plan.precision}/{plan.adapter}",
    )


def held_plan(
    model_folder: Path,
    codec_folder: Path,
    device: str,
    dtype: Any,
    precision: str,
    codec_device: str,
    adapter: str | None,
    *,
    loaded: Any,
) -> MemoryPlan | None:
    """The plan of a model already loaded (a key in ``loaded``) that these options accept, if any.

    Planning again would count the loaded model's own memory as taken.
    """
    for key, plan in PLANS.items():
        if (
            key in loaded
            and key == load_key(model_folder, codec_folder, device, dtype, plan)
            and plan.accepts(precision, codec_device, adapter)
        ):
            return plan
    return None
