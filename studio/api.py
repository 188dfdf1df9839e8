"""Chorus from Python: build scripts, notebooks and render servers, no display needed.

    from studio.api import Project

    with Project.create("episode.chorus", title="Episode 12") as show:
        show.import_script("episode12.csv")
        show.cast("Ada", "Warm narrator")               # a voice from the voice bank
        show.set_voice("Ben", piper_variant=5)           # or a clip / profile / Piper voice
        show.set("export_preset", "podcast")
        result = show.render(progress=lambda p: print(f"{p.finished}/{p.total}"))
        show.export("episode12.mp3")

Every call is the same core edit the studio and the ``chorus`` command make, committed to the
project file as it happens. Errors are :class:`ChorusError` with a message for a person.

Thread contract: a Project belongs to the thread that opened it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.core.model import LineStatus, Speaker, VoiceKind
from studio.core.store import ProjectError, ProjectFile
from studio.render.run import RenderFailed, RenderOutcome, RenderProgress

__all__ = ["ChorusError", "Project", "RenderOutcome", "RenderProgress"]


class ChorusError(RuntimeError):
    """Something Chorus cannot do with this input; the message says what and why."""


class Project:
    """An open project (``NAME.chorus`` folder). Use as a context manager, or call :meth:`close`."""

    def __init__(self, project_file: ProjectFile) -> None:
        self._pf = project_file

    # ---- opening ---------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, title: str | None = None) -> Project:
        try:
            return cls(ProjectFile.create(path, title=title))
        except ProjectError as exc:
            raise ChorusError(str(exc)) from None

    @classmethod
    def open(cls, path: str | Path) -> Project:
        try:
            return cls(ProjectFile.open(path))
        except ProjectError as exc:
            raise ChorusError(str(exc)) from None

    def close(self) -> None:
        self._pf.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return Path(self._pf.root)

    # ---- script ------------------------------------------------------------------------------------
    def import_script(self, path: str | Path, format: str | None = None) -> int:
        """Add the lines of a script file (higgs, screenplay, fountain, csv …); returns how many."""
        from studio.core import script_formats as sf

        try:
            script = sf.read_script(Path(path), format)
        except sf.ScriptFormatError as exc:
            raise ChorusError(str(exc)) from None
        except OSError as exc:
            raise ChorusError(f"cannot read {path}: {exc.strerror or exc}") from None
        self._pf.project.apply(sf.script_to_ops(self._pf.project, script))
        return len(script.lines)

    def lines(self, status: str | None = None) -> list[dict[str, Any]]:
        """The script's lines in order: id, speaker, text, direction, status."""
        project = self._pf.project
        wanted = LineStatus(status) if status else None
        return [
            {
                "id": line.id,
                "speaker": project.speakers[line.speaker_id].name if line.speaker_id in project.speakers else "",
                "text": line.text,
                "direction": line.direction,
                "status": line.status.value,
            }
            for line in project.ordered_lines()
            if wanted is None or line.status == wanted
        ]

    def set_text(self, line_id: str, text: str) -> None:
        from studio.core import ops

        if line_id not in self._pf.project.lines:
            raise ChorusError(f"no line {line_id!r} in the project")
        if not text.strip():
            raise ChorusError("a line needs text")
        self._pf.project.apply(ops.change_text(line_id, text))

    # ---- casting -----------------------------------------------------------------------------------
    @property
    def speakers(self) -> list[str]:
        return [s.name for s in self._pf.project.speakers.values()]

    def _speaker(self, name: str) -> Speaker:
        project = self._pf.project
        found = project.speakers.get(name) or project.speaker_by_name(name)
        if found is None:
            raise ChorusError(f"no speaker {name!r} in the project (speakers: {', '.join(self.speakers) or 'none'})")
        return found

    def cast(self, character: str, voice: str, bank: str | Path | None = None) -> bool:
        """Give ``character`` the bank voice named (or with id) ``voice``; True if it changed."""
        from studio import paths
        from studio.bank.records import BankError
        from studio.bank.store import VoiceBank
        from studio.render.casting import cast_bank_voice
        from studio.render.project_edits import apply_now

        speaker = self._speaker(character)
        try:
            voice_bank = VoiceBank.open(Path(bank) if bank else paths.voice_bank_dir())
        except BankError as exc:
            raise ChorusError(str(exc)) from None
        try:
            found = voice_bank.find(voice)
            return cast_bank_voice(self._pf, speaker.id, voice_bank, found.id, apply_now(self._pf.project))
        except BankError as exc:
            raise ChorusError(str(exc)) from None
        finally:
            voice_bank.close()

    def set_voice(
        self,
        speaker: str,
        *,
        clip: str | Path | None = None,
        transcript: str = "",
        profile: str | None = None,
        piper_variant: int | None = None,
        piper_voice: str | None = None,
        smart: bool = False,
        create: bool = False,
    ) -> None:
        """Give a speaker (``create``: a new one) a clip, a text profile, a Piper voice/variant or the smart voice."""
        from studio.bank.clips import prepare_clip
        from studio.bank.records import BankError
        from studio.core.model import SPEAKER_COLOURS, Voice, new_id
        from studio.render.casting import CastError, make_voice
        from studio.render.project_edits import apply_now, save_speaker

        project = self._pf.project
        existing = project.speakers.get(speaker) or project.speaker_by_name(speaker)
        if existing is None and not create:
            raise ChorusError(f"no speaker {speaker!r}; pass create=True to add one")
        old = existing.voice if existing else Voice()
        try:
            if clip is not None:
                prepared = prepare_clip(Path(clip), transcript)
                voice = make_voice(VoiceKind.CLIP, old=old, clip_media=self._pf.add_media(prepared.data, ".wav"),
                                   transcript=transcript)
            elif profile is not None:
                voice = make_voice(VoiceKind.PROFILE, old=old, profile=profile)
            elif smart:
                voice = make_voice(VoiceKind.SMART, old=old)
            else:
                voice = make_voice(VoiceKind.PIPER, old=old, piper_model=piper_voice or "",
                                   variant=old.variant if piper_variant is None else piper_variant)
        except (CastError, BankError, ProjectError) as exc:
            raise ChorusError(str(exc)) from None
        if existing is None:
            colour = SPEAKER_COLOURS[len(project.speakers) % len(SPEAKER_COLOURS)]
            new = Speaker(new_id("spk"), speaker.strip(), colour, voice)
        else:
            new = Speaker(existing.id, existing.name, existing.colour, voice)
        save_speaker(project, self._pf.media_dir, new, apply_now(project))

    # ---- settings ----------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Every setting (project, then the current backend's options) with its current value."""
        from studio.core.settings_schema import setting_rows

        return {row.key: row.value for row in setting_rows(self._pf.project.settings)}

    def set(self, key: str, value: Any) -> None:
        """Set one setting, as ``chorus settings PROJECT KEY VALUE`` does (same names, same checks)."""
        from studio.core.settings_schema import SettingError, parse_change
        from studio.render.project_edits import apply_now, change_settings

        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        try:
            changes = parse_change(self._pf.project.settings, key, text)
        except SettingError as exc:
            raise ChorusError(str(exc)) from None
        change_settings(self._pf.project, self._pf.media_dir, changes, apply_now(self._pf.project))

    # ---- render and export -------------------------------------------------------------------------
    def render(
        self,
        lines: list[str] | None = None,
        *,
        progress: Callable[[RenderProgress], None] | None = None,
        new_take: bool = False,
        seed: int | None = None,
    ) -> RenderOutcome:
        """Render the lines that need a take (all, or ``lines``) in the engine process; blocks until done.

        ``progress`` is called with a :class:`RenderProgress` about four times a second. Lines that fail
        are listed in ``result.failed`` (line id, reason); nothing raises for them.
        """
        from studio.render.run import render_lines

        try:
            return render_lines(self._pf, line_ids=lines, new_take=new_take, seed=seed, progress=progress)
        except RenderFailed as exc:
            raise ChorusError(str(exc)) from None

    def export(self, out: str | Path, **options: Any) -> Path:
        """Mix and export to ``out`` (format from the extension); options as ``chorus export``'s
        (preset, format, bitrate, bit_depth, channels, stems, lines_dir, name_template, subtitles)."""
        from studio.audio.errors import ExportError
        from studio.audio.export import ExportRequest, run_export
        from studio.audio.job import NullState

        project = self._pf.project
        fields = {k: v for k, v in options.items() if v is not None}
        fields.setdefault("preset", project.settings.export_preset)
        try:
            request = ExportRequest.build(out=Path(out), **fields)
            run_export(project, self._pf.media_path, request, NullState())
        except (TypeError, ValueError, ExportError) as exc:
            raise ChorusError(str(exc)) from None
        return Path(out)
