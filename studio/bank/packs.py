"""Voices in and out of the bank: ``.chorusvoice`` packs and the Higgs / vLLM preset folders.

A ``.chorusvoice`` pack is a zip holding ``manifest.json`` (format ``chorus-voice-pack``, version
:data:`PACK_VERSION`) and the voices' clips (``clips/<sha256>.wav``) and consent documents
(``documents/<sha256><suffix>``). Packs are read through :class:`studio.bank.zipsafe.SafeZip` and
the manifest is validated field by field; errors name the field (``voices[0].settings.top_k``).
A voice's effect chain travels as ``effects`` (optional: a pack without it imports with no chain,
and a reader that predates it ignores it).

Folder layouts read by :func:`import_path`:

* Higgs Audio reference repo (``examples/voice_prompts/``): ``NAME.wav`` + ``NAME.txt`` (the
  transcript) per voice, and ``profile.yaml`` mapping profile names to text profiles under
  ``profiles:``.
* vLLM higgs-audio server voice presets: ``config.json`` mapping a voice name to
  ``{"transcript": ..., "audio_file": <file in the folder>}`` (an optional ``system_prompt`` becomes
  the voice's text profile). :func:`export_presets` writes this layout so a server can serve a bank.
  The folder is read and checked by :mod:`engine.presets`, the reader the engine's server uses too.

Every import is all or nothing: everything is read and checked first, then stored in one
transaction (:meth:`studio.bank.store.VoiceBank.import_voices`).

Thread contract: functions take the bank they write to and must run on that bank's thread.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.presets import PRESETS_CONFIG, Preset, PresetsError, load_presets
from studio.bank.clips import (
    SUPPORTED_SUFFIXES,
    analyse,
    prepare_clip,
    read_stored_clip,
)
from studio.bank.records import (
    CLIP_ID,
    VOICE_ID,
    BankError,
    BankVoice,
    Provenance,
    ReferenceClip,
    check_effects,
    check_name,
    check_provenance,
    check_settings,
    check_tags,
    check_text,
    type_name,
)
from studio.bank.store import Conflict, ImportResult, VoiceBank, document_name, now
from studio.bank.zipsafe import SafeZip, ZipLimits
from studio.core.files import atomic_target, atomic_write

PACK_FORMAT = "chorus-voice-pack"
PACK_VERSION = 1
PACK_SUFFIX = ".chorusvoice"
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_CONFIG_BYTES = 1024 * 1024
MAX_VOICES = 1000
MAX_CLIPS_PER_VOICE = 32
MAX_FOLDER_FILES = 2000
HIGGS_PROFILES = "profile.yaml"
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


# ---- manifest validation ------------------------------------------------------------------------


class _Fields:
    """Typed access to one JSON object, with errors that name the field path."""

    def __init__(self, data: object, where: str, source: str) -> None:
        if not isinstance(data, dict):
            raise BankError(f"{source}: {where or 'the top level'} must be an object, not {type_name(data)}")
        self.data: dict[str, Any] = data
        self.where = where
        self.source = source

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, message: str) -> BankError:
        return BankError(f"{self.source}: {self.path(key)} {message}")

    def text(self, key: str, default: str | None = "", limit: int = 20_000) -> str:
        if key not in self.data:
            if default is None:
                raise self.fail(key, "is missing")
            return default
        value = self.data[key]
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {type_name(value)}")
        if len(value) > limit:
            raise self.fail(key, f"is {len(value)} characters long; at most {limit} are allowed")
        return value

    def integer(self, key: str, default: int = 0) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, not {type_name(value)}")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {type_name(value)}")
        return value

    def items(self, key: str, limit: int) -> list[Any]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, not {type_name(value)}")
        if len(value) > limit:
            raise self.fail(key, f"holds {len(value)} items; at most {limit} are allowed")
        return value

    def obj(self, key: str) -> _Fields:
        return _Fields(self.data.get(key, {}), self.path(key), self.source)

    def texts(self, key: str, limit: int) -> tuple[str, ...]:
        items = self.items(key, limit)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise BankError(
                    f"{self.source}: {self.path(key)}[{i}] must be a string, not {type_name(item)}"
                )
        return tuple(items)


@dataclass(frozen=True)
class ManifestClip:
    member: str
    sha256: str
    transcript: str
    original_name: str
    clipped: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class ManifestVoice:
    voice: BankVoice  # without clips
    clips: tuple[ManifestClip, ...]
    document_member: str
    document_name: str


def _parse_json(raw: bytes, source: str, encoding: str) -> Any:
    """JSON from bytes; BankError naming ``source`` for text that isn't UTF-8 or isn't JSON."""
    try:
        return json.loads(raw.decode(encoding))
    except UnicodeDecodeError:
        raise BankError(f"{source} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BankError(f"{source} is not valid JSON ({exc.msg} at line {exc.lineno})") from None


def parse_manifest(raw: bytes, source: str = MANIFEST) -> list[ManifestVoice]:
    """Validate a pack manifest; BankError naming the field for anything malformed."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BankError(f"{source} is {len(raw):,} bytes; a manifest may be at most {MAX_MANIFEST_BYTES:,}")
    data = _parse_json(raw, source, "utf-8")
    top = _Fields(data, "", source)
    fmt = top.text("format", None, 100)
    if fmt != PACK_FORMAT:
        raise BankError(f"{source}: format is {fmt!r}, not {PACK_FORMAT!r}; this is not a Chorus voice pack")
    version = top.integer("version", 0)
    if version > PACK_VERSION:
        raise BankError(
            f"{source}: this pack was made by a newer Chorus (pack version {version}; this version reads up to "
            f"{PACK_VERSION}); update Chorus to import it"
        )
    if version < 1:
        raise BankError(f"{source}: version must be 1 or more, not {version}")
    voices: list[ManifestVoice] = []
    for i, item in enumerate(top.items("voices", MAX_VOICES)):
        voices.append(_parse_voice(_Fields(item, f"voices[{i}]", source)))
    if not voices:
        raise BankError(f"{source}: the pack holds no voices")
    return voices


def _parse_voice(f: _Fields) -> ManifestVoice:
    voice_id = f.text("id", "", 64)
    if voice_id and not VOICE_ID.match(voice_id):
        raise f.fail("id", f"must be letters, digits, _ or - (got {voice_id!r})")
    try:
        name = check_name(f.text("name", None, 1000), f.path("name"))
        tags = check_tags(f.data.get("tags", {}), f.path("tags"))
        settings = check_settings(f.data.get("settings", {}), f.path("settings"))
        effects = check_effects(f.data.get("effects", []), f.path("effects"))
        prov_fields = f.obj("provenance")
        prov_data = {k: v for k, v in prov_fields.data.items() if k not in ("consent_document",)}
        provenance = check_provenance(prov_data, f.path("provenance"))
    except BankError as exc:
        raise BankError(f"{f.source}: {exc}") from None
    document_member = prov_fields.text("consent_document", "", 300)
    piper = f.obj("piper")
    variant = piper.integer("variant", 0)
    if variant < 0:
        raise piper.fail("variant", f"must be 0 or more, not {variant}")
    clips: list[ManifestClip] = []
    for j, item in enumerate(f.items("clips", MAX_CLIPS_PER_VOICE)):
        c = _Fields(item, f.path(f"clips[{j}]"), f.source)
        member = c.text("file", None, 300)
        sha = c.text("sha256", "", 64)
        if sha and not CLIP_ID.match(sha):
            raise c.fail("sha256", "must be 64 lowercase hexadecimal digits")
        clips.append(
            ManifestClip(
                member=member,
                sha256=sha,
                transcript=" ".join(c.text("transcript", "", 20_000).split()),
                original_name=c.text("original_name", "", 300),
                clipped=c.boolean("clipped", False),
                warnings=c.texts("warnings", 20),
            )
        )
    voice = BankVoice(
        id=voice_id,
        name=name,
        description=f.text("description", "").strip(),
        profile=f.text("profile", "").strip(),
        tags=tags,
        settings=settings,
        piper_model=piper.text("model", "", 4096),
        piper_variant=variant,
        provenance=dataclasses.replace(provenance, consent_document=""),
        created=f.text("created", "", 64),
        modified=f.text("modified", "", 64),
        effects=effects,
    )
    return ManifestVoice(voice, tuple(clips), document_member, provenance.consent_document_name)


# ---- .chorusvoice packs -------------------------------------------------------------------------


def pack_manifest(voices: Sequence[BankVoice]) -> dict[str, Any]:
    entries = []
    for voice in voices:
        data = voice.to_dict()
        data.pop("kind")
        data["clips"] = [
            {
                "file": f"clips/{c.clip_id}.wav",
                "sha256": c.clip_id,
                "transcript": c.transcript,
                "original_name": c.original_name,
                "clipped": c.clipped,
                "warnings": list(c.warnings),
            }
            for c in voice.clips
        ]
        doc = voice.provenance.consent_document
        data["provenance"]["consent_document"] = f"documents/{doc}" if doc else ""
        entries.append(data)
    return {"format": PACK_FORMAT, "version": PACK_VERSION, "exported": now(), "voices": entries}


def export_pack(bank: VoiceBank, voice_ids: Sequence[str], out: str | Path) -> Path:
    """Write the voices to a ``.chorusvoice`` pack at ``out`` (atomically); returns its path."""
    if not voice_ids:
        raise BankError("name at least one voice to export")
    target = Path(out).expanduser()
    if target.suffix != PACK_SUFFIX:
        target = target.with_name(target.name + PACK_SUFFIX)
    voices = [bank.get(v) for v in dict.fromkeys(voice_ids)]
    manifest = json.dumps(pack_manifest(voices), indent=2, ensure_ascii=False).encode()
    files: dict[str, Path] = {}
    for voice in voices:
        for clip in voice.clips:
            files[f"clips/{clip.clip_id}.wav"] = bank.clip_path(clip.clip_id)
        doc = voice.provenance.consent_document
        if doc:
            files[f"documents/{doc}"] = bank.document_path(doc)
    try:
        with atomic_target(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(zipfile.ZipInfo(MANIFEST, _FIXED_TIME), manifest, zipfile.ZIP_DEFLATED)
            for member, path in files.items():
                info = zipfile.ZipInfo(member, _FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    raise BankError(
                        f"the bank's file {path.name} cannot be read ({exc.strerror or exc})"
                    ) from None
                archive.writestr(info, data)
    except OSError as exc:
        raise BankError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


@dataclass
class _Collected:
    voices: list[BankVoice] = dataclasses.field(default_factory=list)
    clip_data: dict[str, bytes] = dataclasses.field(default_factory=dict)
    documents: dict[str, bytes] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)


def read_pack(path: str | Path, limits: ZipLimits | None = None) -> _Collected:
    """Read and check a pack completely (nothing is written anywhere)."""
    out = _Collected()
    source = Path(path)
    with SafeZip(source, limits) as archive:
        if not archive.has(MANIFEST):
            raise BankError(f"{source.name} is not a voice pack (it has no {MANIFEST})")
        manifest = parse_manifest(archive.read(MANIFEST, MAX_MANIFEST_BYTES), f"{source.name}: {MANIFEST}")
        for entry in manifest:
            clips: list[ReferenceClip] = []
            for mc in entry.clips:
                data = archive.read(mc.member)
                clip = _pack_clip(data, mc, f"{source.name}: {mc.member}", out)
                if all(c.clip_id != clip.clip_id for c in clips):
                    clips.append(clip)
            voice = dataclasses.replace(entry.voice, clips=tuple(clips))
            if entry.document_member:
                data = archive.read(entry.document_member)
                name = document_name(data, Path(entry.document_member).suffix)
                out.documents[name] = data
                voice = dataclasses.replace(
                    voice,
                    provenance=dataclasses.replace(
                        voice.provenance,
                        consent_document=name,
                        consent_document_name=entry.document_name or Path(entry.document_member).name,
                    ),
                )
            out.voices.append(voice)
    return out


def _pack_clip(data: bytes, mc: ManifestClip, where: str, out: _Collected) -> ReferenceClip:
    digest = hashlib.sha256(data).hexdigest()
    if mc.sha256 and digest != mc.sha256:
        raise BankError(f"{where} is damaged: its checksum does not match the manifest")
    try:
        samples = read_stored_clip(data, where)
    except BankError:
        if Path(mc.member).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise
        samples = None
    if samples is not None:
        stats = analyse(samples)
        out.clip_data[digest] = data
        return ReferenceClip(
            clip_id=digest,
            transcript=mc.transcript,
            duration=stats.duration,
            loudness_lufs=stats.loudness_lufs,
            peak_dbfs=stats.peak_dbfs,
            snr_db=stats.snr_db,
            clipped=mc.clipped,
            original_name=mc.original_name,
            warnings=mc.warnings,
        )
    # Not in the bank's format (a hand-made pack): run it through the import pipeline.
    with tempfile.TemporaryDirectory(prefix="chorus-pack-") as tmp:
        temp = Path(tmp) / f"clip{Path(mc.member).suffix.lower()}"
        temp.write_bytes(data)
        try:
            prepared = prepare_clip(temp, mc.transcript)
        except BankError as exc:
            raise BankError(f"{where}: {str(exc).removeprefix(temp.name + ': ')}") from None
    out.clip_data[prepared.clip_id] = prepared.data
    out.warnings.append(f"{where} was converted to 24 kHz mono and normalised")
    out.warnings.extend(f"{where}: {w}" for w in prepared.warnings)
    return dataclasses.replace(prepared.reference(), original_name=mc.original_name or Path(mc.member).name)


def import_pack(bank: VoiceBank, path: str | Path, *, on_conflict: Conflict = "error") -> ImportResult:
    collected = read_pack(path)
    return _store(bank, collected, on_conflict)


def _store(bank: VoiceBank, collected: _Collected, on_conflict: Conflict) -> ImportResult:
    result = bank.import_voices(
        collected.voices, collected.clip_data, collected.documents, on_conflict=on_conflict
    )
    return dataclasses.replace(result, warnings=tuple(collected.warnings))


# ---- Higgs reference-repo voice prompts ---------------------------------------------------------


def _folder_files(folder: Path) -> list[Path]:
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError as exc:
        raise BankError(f"cannot read the folder {folder}: {exc.strerror or exc}") from None
    if len(files) > MAX_FOLDER_FILES:
        raise BankError(f"{folder} holds {len(files)} files; import at most {MAX_FOLDER_FILES} at a time")
    return files


def _read_small(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise BankError(f"{path.name} is {size:,} bytes; at most {limit:,} are allowed")
        return path.read_bytes()
    except OSError as exc:
        raise BankError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_higgs_profiles(path: Path) -> dict[str, str]:
    """``profile.yaml``: ``profiles:`` mapping a profile name to its text."""
    import yaml

    raw = _read_small(path, MAX_CONFIG_BYTES)
    try:
        data = yaml.safe_load(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BankError(f"{path.name} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise BankError(f"{path.name} is not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BankError(
            f"{path.name}: the top level must be a mapping with a 'profiles' key, not {type_name(data)}"
        )
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise BankError(
            f"{path.name}: profiles must be a mapping of name: description, not {type_name(profiles)}"
        )
    out: dict[str, str] = {}
    for key, value in profiles.items():
        if not isinstance(key, str):
            raise BankError(f"{path.name}: profiles has a name that is not text ({key!r})")
        if not isinstance(value, str):
            raise BankError(f"{path.name}: profiles.{key} must be text, not {type_name(value)}")
        out[key] = check_text(value, f"{path.name}: profiles.{key}")
    return out


def read_higgs_folder(folder: Path) -> _Collected:
    """``NAME.wav`` + ``NAME.txt`` voices and ``profile.yaml`` text profiles (see module docstring)."""
    out = _Collected()
    files = _folder_files(folder)
    audio = [p for p in files if p.suffix.lower() in SUPPORTED_SUFFIXES]
    stems = {p.stem for p in audio}
    by_name: dict[str, BankVoice] = {}
    for path in audio:
        if path.stem in by_name:
            out.warnings.append(f"{path.name}: another file is already voice {path.stem!r}; skipped")
            continue
        prepared = prepare_clip(path)
        out.clip_data[prepared.clip_id] = prepared.data
        out.warnings.extend(f"{path.name}: {w}" for w in prepared.messages)
        by_name[path.stem] = BankVoice(
            id="",
            name=check_name(path.stem, f"{path.name} (voice name)"),
            clips=(prepared.reference(),),
            provenance=Provenance(source=f"Higgs voice prompt {path.name}"),
        )
    for path in files:
        if path.suffix.lower() == ".txt" and path.stem not in stems:
            out.warnings.append(f"{path.name}: no audio file named {path.stem}.wav beside it; skipped")
    profiles_file = folder / HIGGS_PROFILES
    if profiles_file.is_file():
        for name, text in read_higgs_profiles(profiles_file).items():
            if name in by_name:
                by_name[name] = dataclasses.replace(by_name[name], profile=text)
            else:
                by_name[name] = BankVoice(
                    id="",
                    name=check_name(name, f"{HIGGS_PROFILES}: profiles.{name}"),
                    profile=text,
                    provenance=Provenance(source=f"Higgs {HIGGS_PROFILES} profile {name}"),
                )
    out.voices = list(by_name.values())
    return out


# ---- vLLM higgs-audio voice presets -------------------------------------------------------------


def _read_presets(folder: Path) -> dict[str, Preset]:
    """The folder through :func:`engine.presets.load_presets` (the engine's reader); BankError on refusal."""
    try:
        return load_presets(folder)
    except PresetsError as exc:
        raise BankError(str(exc)) from None


def read_presets_config(folder: Path) -> dict[str, dict[str, str]]:
    """``config.json`` of a presets folder, validated: name -> transcript, audio_file, system_prompt.

    ``audio_file`` is as written in the file (relative to the folder), checked to exist inside it.
    """
    return {
        name: {
            "transcript": preset.transcript,
            "audio_file": preset.audio_file_as_written,
            "system_prompt": preset.system_prompt,
        }
        for name, preset in _read_presets(folder).items()
    }


def read_presets_folder(folder: Path) -> _Collected:
    out = _Collected()
    for name, preset in _read_presets(folder).items():
        audio = Path(preset.audio_file)
        prepared = prepare_clip(audio, preset.transcript)
        out.clip_data[prepared.clip_id] = prepared.data
        out.warnings.extend(f"{name} ({audio.name}): {w}" for w in prepared.messages)
        out.voices.append(
            BankVoice(
                id="",
                name=check_name(name, f"{PRESETS_CONFIG}: voice name"),
                profile=check_text(preset.system_prompt, f"{PRESETS_CONFIG}: {name}.system_prompt"),
                clips=(prepared.reference(),),
                provenance=Provenance(source=f"vLLM voice preset {name}"),
            )
        )
    return out


@dataclass(frozen=True)
class PresetsExport:
    config: Path
    written: tuple[str, ...]  # voice names written
    warnings: tuple[str, ...]


def _file_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "voice"
    return stem[:80]


def export_presets(bank: VoiceBank, voice_ids: Sequence[str], folder: str | Path) -> PresetsExport:
    """Write voices into a vLLM voice-presets folder (``config.json`` + WAVs), merging an existing one.

    Voices without a clip are skipped with a warning (the server needs reference audio).
    """
    target = Path(folder).expanduser()
    if target.exists() and not target.is_dir():
        raise BankError(f"{target} is a file; give a folder for the voice presets")
    config: dict[str, Any] = {}
    if (target / PRESETS_CONFIG).is_file():
        config = {k: dict(v) for k, v in read_presets_config(target).items()}
        for entry in config.values():
            if not entry.get("system_prompt"):
                entry.pop("system_prompt", None)
    warnings: list[str] = []
    written: list[str] = []
    used_files = {e["audio_file"]: k for k, e in config.items()}
    files: dict[str, bytes] = {}
    for voice in (bank.get(v) for v in dict.fromkeys(voice_ids)):
        clip = voice.primary_clip
        if clip is None:
            warnings.append(
                f"{voice.name}: has no reference clip, so a voice-presets server cannot use it; skipped"
            )
            continue
        if not clip.transcript:
            warnings.append(f"{voice.name}: its clip has no transcript; the server will clone it poorly")
        stem = _file_stem(voice.name)
        file_name = f"{stem}.wav"
        n = 2
        while used_files.get(file_name, voice.name) != voice.name or file_name in files:
            file_name = f"{stem}_{n}.wav"
            n += 1
        try:
            files[file_name] = bank.clip_path(clip.clip_id).read_bytes()
        except OSError as exc:
            raise BankError(
                f"the bank's clip for {voice.name!r} cannot be read ({exc.strerror or exc})"
            ) from None
        used_files[file_name] = voice.name
        config[voice.name] = {"transcript": clip.transcript, "audio_file": file_name}
        written.append(voice.name)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for file_name, data in files.items():
            atomic_write(target / file_name, data)
        atomic_write(
            target / PRESETS_CONFIG, (json.dumps(config, indent=4, ensure_ascii=False) + "\n").encode("utf-8")
        )
    except OSError as exc:
        raise BankError(f"cannot write the voice presets to {target}: {exc.strerror or exc}") from None
    return PresetsExport(target / PRESETS_CONFIG, tuple(written), tuple(warnings))


# ---- one entry point ----------------------------------------------------------------------------


def detect_layout(path: str | Path) -> str:
    """``pack``, ``vllm`` or ``higgs`` — what :func:`import_path` will read at ``path``."""
    source = Path(path).expanduser()
    if source.is_file():
        if source.suffix.lower() in SUPPORTED_SUFFIXES:
            raise BankError(
                f"{source.name} is an audio file, not a voice pack; add it as a voice with "
                f"`chorus voices add NAME --clip {source.name}`"
            )
        return "pack"
    if not source.is_dir():
        raise BankError(f"{source} does not exist")
    if (source / PRESETS_CONFIG).is_file():
        return "vllm"
    files = _folder_files(source)
    if (source / HIGGS_PROFILES).is_file() or any(p.suffix.lower() in SUPPORTED_SUFFIXES for p in files):
        return "higgs"
    raise BankError(
        f"{source} holds no voices: expected a .chorusvoice pack, a vLLM voice-presets folder "
        f"({PRESETS_CONFIG}) or a Higgs voice-prompts folder (NAME.wav + NAME.txt, {HIGGS_PROFILES})"
    )


def import_path(bank: VoiceBank, path: str | Path, *, on_conflict: Conflict = "error") -> ImportResult:
    """Import a ``.chorusvoice`` pack, a vLLM voice-presets folder or a Higgs voice-prompts folder."""
    source = Path(path).expanduser()
    layout = detect_layout(source)
    if layout == "pack":
        collected = read_pack(source)
    elif layout == "vllm":
        collected = read_presets_folder(source)
    else:
        collected = read_higgs_folder(source)
    if not collected.voices:
        raise BankError(f"{source} holds no voices to import")
    return _store(bank, collected, on_conflict)
