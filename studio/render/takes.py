"""Which lines need a take, the render jobs for them, and what a finished job does to the project.

A take's key is the hash of everything that determines its audio: the normalised text, the delivery
direction, the voice identity (reference audio hash + transcript, profile text, or Piper voice +
variant), the scene description, the backend with its model id and version, the generation
parameters, and the seed. The *recipe* is the same hash without the seed. Existing key → no job.

Selection rule: a finished take is selected when the line has no selected take or its selected
take has another recipe (the words or voice changed). A new take of the same recipe ("render new
take") joins the history without replacing what the user selected.

Context (scene continuity) is not part of the key: re-rendering one line must not cascade.

Thread contract: pure functions of the project (call on its thread); no I/O but ``Path.exists``.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.protocol import ContextTurn, GenerationParams, RenderJob, VoiceSpec
from studio.core import ops
from studio.core.lexicon import entry_identity
from studio.core.model import LineKind, LineStage, LineStatus, ScriptLine, Speaker, Take, VoiceKind
from studio.core.project import Project
from studio.core.speech_text import (
    BACKEND_FEATURES,
    EngineText,
    engine_text,
    features_of,
    higgs_scene_description,
    ignored_summary,
)
from studio.core.workflow import (
    is_source,
    line_text,
    selected_take_key,
    stage_after_render,
    with_language_take,
)

# Bumped when the way Chorus turns a line into audio changes (invalidates every take).
RENDER_RECIPE_VERSION = 1
BUNDLED_PIPER_VOICE = "en_US-joe-medium"
CONTINUITY_CONTEXT_LINES = 2


def normalise_text(text: str) -> str:
    """Text as it affects the audio: NFC, whitespace collapsed, trimmed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def generation_params(project: Project, speaker: Speaker | None, seed: int | None = None) -> GenerationParams:
    """Project defaults, overridden by the voice's own settings, then by an explicit seed."""
    known = set(GenerationParams.__dataclass_fields__)
    values: dict[str, Any] = {k: v for k, v in project.settings.backend_options_dict().items() if k in known}
    if speaker is not None:
        values.update({k: v for k, v in speaker.voice.settings_dict().items() if k in known})
    if seed is not None:
        values["seed"] = seed
    return GenerationParams(**values)


def voice_spec(speaker: Speaker | None, media_dir: Path) -> VoiceSpec:
    if speaker is None:
        return VoiceSpec()
    voice = speaker.voice
    return VoiceSpec(
        kind=voice.kind.value,
        piper_model=voice.piper_model,
        variant=voice.variant,
        variant_style=voice.variant_style,
        ref_audio=str(media_dir / voice.clip_media) if voice.clip_media else "",
        transcript=voice.transcript,
        profile=voice.profile,
        name=speaker.name,
    )


def voice_identity(speaker: Speaker | None) -> dict[str, Any]:
    """What makes a voice sound as it does (not its name or colour)."""
    if speaker is None:
        return {"kind": "piper", "model": BUNDLED_PIPER_VOICE, "variant": 0}
    voice = speaker.voice
    if voice.kind == VoiceKind.PIPER:
        model = Path(voice.piper_model).name if voice.piper_model else BUNDLED_PIPER_VOICE
        identity: dict[str, Any] = {"kind": "piper", "model": model, "variant": voice.variant}
        if voice.variant_style != 1:  # style 1 recipes hash as they did before styles existed
            identity["variant_style"] = voice.variant_style
        return identity
    if voice.kind == VoiceKind.CLIP:
        return {"kind": "clip", "audio": voice.clip_media, "transcript": normalise_text(voice.transcript)}
    if voice.kind == VoiceKind.PROFILE:
        return {"kind": "profile", "profile": normalise_text(voice.profile)}
    return {"kind": "smart"}


def backend_identity(project: Project) -> dict[str, Any]:
    options = project.settings.backend_options_dict()
    return {
        "backend": project.settings.backend,
        "model": options.get("model", ""),
        "version": options.get("model_version", ""),
        "recipe_version": RENDER_RECIPE_VERSION,
    }


def language_view(project: Project, line: ScriptLine, language: str = "") -> ScriptLine:
    """``line`` as it is rendered in ``language`` ("" = source): that language's text and selected take."""
    if is_source(project, language):
        return line
    text = line_text(project, line, language)
    return replace(
        line, text=text, kind=LineKind.of_text(text), selected_take=selected_take_key(project, line, language)
    )


def line_recipe(project: Project, line: ScriptLine, language: str = "") -> str:
    """The recipe of ``line`` in ``language`` ("" = the source language, whose recipes carry no language)."""
    target = not is_source(project, language)
    if target:
        line = language_view(project, line, language)
    speaker = project.speakers.get(line.speaker_id)
    scene = project.scenes.get(line.scene_id)
    params = asdict(generation_params(project, speaker))
    params.pop("seed")
    # The lexicon entries that matched this line (only those: other entries never make it stale).
    said = spoken(project, line)
    return _digest(
        {
            **({"language": language} if target else {}),
            **({"lexicon": [entry_identity(e) for e in said.entries]} if said.entries else {}),
            "text": normalise_text(line.text),
            "direction": normalise_text(line.direction),
            "kind": line.kind.value,
            "voice": voice_identity(speaker),
            "scene": normalise_text(scene.description) if scene else "",
            "backend": backend_identity(project),
            "params": params,
        }
    )


def spoken(project: Project, line: ScriptLine) -> EngineText:
    """``line`` (already in its language) as the project's backend is sent it (studio.core.speech_text)."""
    return engine_text(
        project, line.speaker_id, line.text, features_of(project.settings.backend), line.direction
    )


def take_key(recipe: str, seed: int) -> str:
    return _digest({"recipe": recipe, "seed": seed})[:40]


def take_file_name(key: str) -> str:
    return f"take_{key}.wav"


@dataclass(frozen=True)
class PlannedJob:
    line_id: str
    key: str
    recipe: str
    seed: int
    job: RenderJob
    language: str = ""  # "" = the source language


@dataclass(frozen=True)
class RenderPlan:
    jobs: tuple[PlannedJob, ...]
    reuse: ops.Batch  # lines whose wanted take already exists: select it, no job
    skipped: tuple[str, ...]  # line ids that are up to date
    locked: tuple[str, ...] = ()  # locked lines: never re-rendered, even when stale
    untranslated: tuple[str, ...] = ()  # lines without text in the plan's language
    ignored: tuple[str, ...] = ()  # what the backend cannot perform: "direction not supported by piper (2 lines)"


def line_is_current(project: Project, line: ScriptLine, media_dir: Path, language: str = "") -> bool:
    view = language_view(project, line, language)
    take = project.takes.get(view.selected_take) if view.selected_take else None
    return (
        take is not None
        and take.recipe == line_recipe(project, line, language)
        and (media_dir / take.media).is_file()
    )


def plan_render(
    project: Project,
    media_dir: Path,
    line_ids: list[str] | None = None,
    *,
    new_take: bool = False,
    seed: int | None = None,
    continuity: bool = False,
    batch_size: int = 1,
    language: str = "",
) -> RenderPlan:
    """Decide which of ``line_ids`` (default: all) need rendering and build their jobs.

    ``language``: render the lines' text in that target language ("" = the source language); lines
    without a translation are left out (``untranslated``). Locked lines are never rendered (``locked``).

    ``new_take``: render another take even where one exists (a fresh seed unless ``seed`` is given).
    ``continuity``: each job carries the previous lines of its scene as context (Higgs).
    ``batch_size`` > 1 groups independent jobs so a batching backend can render them together.
    """
    wanted = line_ids if line_ids is not None else list(project.line_order)
    unknown = [line_id for line_id in wanted if line_id not in project.lines]
    if unknown:
        raise KeyError(f"no line with id {', '.join(unknown)}")
    jobs: list[PlannedJob] = []
    reuse: list[Any] = []
    skipped: list[str] = []
    locked: list[str] = []
    untranslated: list[str] = []
    ignored: dict[str, int] = {}
    target = "" if is_source(project, language) else language
    scene_history: dict[str, list[tuple[str, str, str]]] = {}  # scene -> [(text, audio path, speaker id)]
    wanted_set = set(wanted)
    for source_line in project.ordered_lines():
        line = language_view(project, source_line, target)
        history = scene_history.setdefault(line.scene_id, [])
        if line.id not in wanted_set:
            take = project.takes.get(line.selected_take) if line.selected_take else None
            if take is not None:
                history.append((line.text, str(media_dir / take.media), line.speaker_id))
            continue
        if line.stage == LineStage.LOCKED:
            locked.append(line.id)
            continue
        if line.recording_id:  # a recorded line (studio.recordings) plays its recording, never a take
            skipped.append(line.id)
            continue
        if not line.text:
            untranslated.append(line.id)
            continue
        recipe = line_recipe(project, source_line, target)
        line_seed = seed
        if line_seed is None:
            line_seed = (
                _next_seed(project, line)
                if new_take
                else generation_params(project, project.speakers.get(line.speaker_id)).seed
            )
        key = take_key(recipe, line_seed)
        existing = project.takes.get(key)
        if existing is not None and (media_dir / existing.media).is_file():
            selected = project.takes.get(line.selected_take) if line.selected_take else None
            if line.selected_take != key and (selected is None or selected.recipe != recipe):
                select: tuple[tuple[str, Any], ...] = (
                    (("language_takes", with_language_take(source_line, target, key)),)
                    if target
                    else (("selected_take", key), ("status", LineStatus.DONE))
                )
                reuse.append(ops.Update("line", line.id, select))
            else:
                skipped.append(line.id)
            history.append((line.text, str(media_dir / existing.media), line.speaker_id))
            continue
        if not new_take and seed is None and line_is_current(project, source_line, media_dir, target):
            skipped.append(line.id)
            take = project.takes.get(line.selected_take)
            assert take is not None
            history.append((line.text, str(media_dir / take.media), line.speaker_id))
            continue
        context = history[-CONTINUITY_CONTEXT_LINES:] if continuity else []
        job = build_job(project, line, media_dir, key, line_seed, context)
        for feature in spoken(project, line).ignored:
            ignored[feature] = ignored.get(feature, 0) + 1
        job = replace(job, language=target or project.settings.source_language)
        jobs.append(PlannedJob(line.id, key, recipe, line_seed, job, target))
        history.append((line.text, job.out_path, line.speaker_id))
    if batch_size > 1 and not continuity:
        jobs = [replace(p, job=replace(p.job, group=f"batch-{i // batch_size}")) for i, p in enumerate(jobs)]
    return RenderPlan(
        tuple(jobs),
        ops.Batch(tuple(reuse), "Select existing takes"),
        tuple(skipped),
        tuple(locked),
        tuple(untranslated),
        tuple(ignored_summary(ignored, project.settings.backend)),
    )


def _next_seed(project: Project, line: ScriptLine) -> int:
    seeds = [project.takes[k].seed for k in line.takes if k in project.takes]
    return max(seeds, default=0) + 1


def build_job(
    project: Project,
    line: ScriptLine,
    media_dir: Path,
    key: str,
    seed: int,
    context: list[tuple[str, str, str]] | None = None,
) -> RenderJob:
    """The engine job for ``line``; ``context`` = earlier lines of its scene as (text, audio path, speaker id).

    The job's cast is the line's speaker (index 0) plus the speakers of its context lines, in order of
    first appearance — never the whole project: a single-speaker line is prompted as a single voice
    (Higgs: the transcript-conditioned clone turn), and a speaker who is not in the conversation cannot
    make it fail or grow it.
    """
    speaker = project.speakers.get(line.speaker_id)
    scene = project.scenes.get(line.scene_id)
    cast = [line.speaker_id]
    for _text, _audio, speaker_id in context or ():
        if speaker_id not in cast:
            cast.append(speaker_id)
    speakers = tuple(voice_spec(project.speakers.get(speaker_id), media_dir) for speaker_id in cast)
    turns = tuple(ContextTurn(text=t, audio=a, speaker=cast.index(s)) for t, a, s in context or ())
    return RenderJob(
        job_id=f"{line.id}:{key[:12]}",
        text=spoken(project, line).text,
        out_path=str(media_dir / take_file_name(key)),
        speakers=speakers,
        speaker=0,
        scene_description=_scene_for(project, scene.description if scene else "", line, speaker),
        kind=line.kind.value,
        params=generation_params(project, speaker, seed),
        context=turns,
        line_id=line.id,
    )


def _scene_for(project: Project, scene: str, line: ScriptLine, speaker: Speaker | None) -> str:
    """The job's scene description: Higgs (local or behind a server) performs the line's direction
    from it ("… Maya is whispering."); other backends get the scene as it is."""
    if "direction" in BACKEND_FEATURES.get(project.settings.backend, frozenset()) and line.direction.strip():
        return higgs_scene_description(scene, line.direction, speaker.name if speaker else "")
    return scene


def finished_ops(
    project: Project,
    planned: PlannedJob,
    *,
    media: str,
    duration: float,
    sample_rate: int,
    suspect: bool = False,
    note: str = "",
) -> ops.Batch:
    """Record a finished take: add it to the line's history; select it per the selection rule."""
    line = project.lines[planned.line_id]
    take = Take(
        key=planned.key,
        line_id=line.id,
        media=media,
        duration=duration,
        sample_rate=sample_rate,
        backend=project.settings.backend,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        suspect=suspect,
        note=note,
        recipe=planned.recipe,
        seed=planned.seed,
        language=planned.language,
    )
    edits: list[Any] = []
    if planned.key in project.takes:
        edits.append(ops.Delete("take", planned.key))
    edits.append(ops.Insert(take))
    history = tuple(k for k in line.takes if k != planned.key) + (planned.key,)
    selected = project.takes.get(selected_take_key(project, line, planned.language))
    select = selected is None or selected.recipe != planned.recipe or selected.key == planned.key
    changes: dict[str, Any] = {"takes": history}
    if select and planned.language:
        changes["language_takes"] = with_language_take(line, planned.language, planned.key)
    elif select:
        changes["selected_take"] = planned.key
    current = line_recipe(project, line, planned.language) == planned.recipe
    if planned.language:  # a target language's take: the line's status stays the source's
        source = project.selected_take(line.id)
        source_current = source is not None and source.recipe == line_recipe(project, line)
        changes["status"] = LineStatus.DONE if source_current else LineStatus.STALE
        changes["status_detail"] = ""
    elif select or current:
        changes["status"] = LineStatus.SUSPECT if suspect else LineStatus.DONE
        changes["status_detail"] = note if suspect else ""
    if (select or current) and stage_after_render(line) != line.stage:
        changes["stage"] = stage_after_render(line)
    edits.append(ops.Update("line", line.id, tuple(changes.items())))
    return ops.Batch(tuple(edits), "Take rendered")


def failed_ops(project: Project, media_dir: Path, line_id: str, reason: str) -> ops.Batch:
    """A line's render failed. If its selected take is not current (rendered for another voice, speaker
    or text), it leaves the timeline: a failed line never plays or exports someone else's voice. The
    take stays in the line's history, to pick again by hand."""
    edits: list[Any] = [ops.set_line_status(line_id, LineStatus.FAILED, reason)]
    line = project.lines.get(line_id)
    if line is not None and line.selected_take and not line_is_current(project, line, media_dir):
        clip = project.clip_for_line(line_id)
        if clip is not None:
            edits.append(ops.Delete("clip", clip.id))
        edits.append(ops.select_take(line_id, "", LineStatus.FAILED, reason))
    return ops.Batch(tuple(edits), "Render failed")


def refresh_status(project: Project, media_dir: Path) -> ops.Batch:
    """Mark lines stale whose selected take no longer matches (voice changed, file missing …), and
    stale lines done whose selected take matches again (an edit undone, a lexicon entry removed)."""
    return refresh_lines(project, media_dir, project.ordered_lines())


def refresh_lines(project: Project, media_dir: Path, lines: Any) -> ops.Batch:
    """:func:`refresh_status` for some lines (the ones an edit touched): one rule for every caller —
    a line is stale exactly when its selected take's key no longer matches what it would render."""
    edits: list[Any] = []
    for line in lines:
        if line.status in (LineStatus.QUEUED, LineStatus.RENDERING) or (
            line.status == LineStatus.STALE and line.selected_take
        ):
            wanted = LineStatus.DONE if line_is_current(project, line, media_dir) else LineStatus.STALE
        elif line.status in (LineStatus.DONE, LineStatus.SUSPECT) and not line_is_current(
            project, line, media_dir
        ):
            wanted = LineStatus.STALE
        else:
            continue
        if wanted != line.status:
            edits.append(ops.set_line_status(line.id, wanted))
    return ops.Batch(tuple(edits), "Refresh status")


def track_kind_for(line: ScriptLine) -> str:
    return {LineKind.HUMMING: "humming", LineKind.MUSIC: "music"}.get(line.kind, "dialogue")
