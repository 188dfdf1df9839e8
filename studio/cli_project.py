"""``chorus speakers``, ``chorus cast``, ``chorus settings`` and ``chorus lines``: everything the studio
can set on a project, from the command line (for render servers, build scripts and cron jobs).

Each change is the same core edit the studio makes (:mod:`studio.render.project_edits`,
:mod:`studio.render.casting`), committed to project.db as it happens. Exit codes: 0 done, 2 bad input.

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from studio.cli_common import CliError, _open
from studio.cli_voices import _print_json


def _speaker(project: Any, ref: str) -> Any:
    """A speaker by name (any case) or id; CliError naming the speakers there are."""
    found = project.speakers.get(ref) or project.speaker_by_name(ref)
    if found is None:
        names = ", ".join(s.name for s in project.speakers.values()) or "none"
        raise CliError(f"no speaker {ref!r} in the project (speakers: {names})")
    return found


def _speaker_json(project: Any, speaker: Any) -> dict[str, Any]:
    v = speaker.voice
    return {
        "id": speaker.id,
        "name": speaker.name,
        "colour": speaker.colour,
        "voice": v.kind.value,
        "variant": v.variant,
        "piper_model": v.piper_model,
        "clip": v.clip_media,
        "transcript": v.transcript,
        "profile": v.profile,
        "bank_voice": v.bank_voice_id,
        "lines": sum(1 for line in project.lines.values() if line.speaker_id == speaker.id),
    }


def _voice_text(data: dict[str, Any]) -> str:
    kind = data["voice"]
    if kind == "piper":
        return f"piper variant {data['variant']}" + (f" ({Path(data['piper_model']).name})" if data["piper_model"] else "")
    if kind == "clip":
        return f"clip {data['clip'][:12]}… “{data['transcript'][:40]}”"
    if kind == "profile":
        return f"profile “{data['profile'][:50]}”"
    return str(kind)


def _warn_backend(project: Any, speaker: Any) -> None:
    from studio.render.casting import backend_warning

    warning = backend_warning(project.settings.backend, speaker.voice)
    if warning:
        print(f"chorus: warning: {speaker.name}: {warning}", file=sys.stderr)


# ---- speakers ------------------------------------------------------------------------------------


def cmd_speakers_list(args: argparse.Namespace) -> int:
    pf = _open(args.project, read_only=True)
    try:
        rows = [_speaker_json(pf.project, s) for s in pf.project.speakers.values()]
    finally:
        pf.close()
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("No speakers.")
    for row in rows:
        print(f"{row['name']:<20} {row['lines']:>4} lines  {_voice_text(row)}  [{row['id']}]")
    return 0


def cmd_speakers_set(args: argparse.Namespace) -> int:
    """Create or change a speaker: name, colour and one voice (clip / profile / Piper / smart)."""
    from studio.core.model import SPEAKER_COLOURS, Speaker, Voice, VoiceKind, new_id
    from studio.core.store import ProjectError
    from studio.render.casting import CastError, check_name, make_voice
    from studio.render.project_edits import apply_now, save_speaker

    pf = _open(args.project)
    try:
        project = pf.project
        existing = project.speakers.get(args.speaker) or project.speaker_by_name(args.speaker)
        if existing is None and not args.create:
            raise CliError(f"no speaker {args.speaker!r}; add --create to make one")
        old_voice = existing.voice if existing else Voice()
        try:
            name = check_name(project, args.rename or (existing.name if existing else args.speaker),
                              existing.id if existing else None)
            kinds = [k for k, given in (
                (VoiceKind.CLIP, args.clip), (VoiceKind.PROFILE, args.profile is not None),
                (VoiceKind.PIPER, args.piper_voice is not None or args.variant is not None),
                (VoiceKind.SMART, args.smart)) if given]
            if len(kinds) > 1:
                raise CliError("give one voice: --clip, --profile, --piper-voice/--variant or --smart")
            voice = old_voice
            if kinds:
                kind = kinds[0]
                media = ""
                if kind == VoiceKind.CLIP:
                    if args.transcript is None:
                        raise CliError("--clip needs --transcript (the exact words spoken in the clip)")
                    media = _import_clip(pf, args.clip, args.transcript)
                voice = make_voice(
                    kind,
                    old=old_voice,
                    piper_model=args.piper_voice or (old_voice.piper_model if kind == old_voice.kind else ""),
                    variant=args.variant if args.variant is not None else old_voice.variant,
                    clip_media=media,
                    transcript=args.transcript or "",
                    profile=args.profile or "",
                )
            elif args.transcript is not None:
                if old_voice.kind != VoiceKind.CLIP:
                    raise CliError("--transcript goes with a cloned voice (--clip)")
                voice = make_voice(VoiceKind.CLIP, old=old_voice, transcript=args.transcript)
        except CastError as exc:
            raise CliError(str(exc)) from None
        except ProjectError as exc:
            raise CliError(str(exc)) from None
        colour = args.colour or (existing.colour if existing else SPEAKER_COLOURS[len(project.speakers) % len(SPEAKER_COLOURS)])
        if not (colour.startswith("#") and len(colour) == 7):
            raise CliError(f"--colour takes #rrggbb, not {colour!r}")
        speaker = Speaker(existing.id if existing else new_id("spk"), name, colour, voice)
        changed = save_speaker(project, pf.media_dir, speaker, apply_now(project))
        _warn_backend(project, speaker)
        if args.json:
            _print_json(_speaker_json(project, speaker))
        else:
            verb = "Added" if existing is None else ("Changed" if changed else "Unchanged:")
            print(f"{verb} {speaker.name}: {_voice_text(_speaker_json(project, speaker))}")
    finally:
        pf.close()
    return 0


def _import_clip(pf: Any, path: str, transcript: str) -> str:
    """The reference clip checked and copied into the project's media (same checks as the bank)."""
    from studio.bank.clips import prepare_clip
    from studio.bank.records import BankError

    try:
        prepared = prepare_clip(Path(path).expanduser(), transcript)
    except BankError as exc:
        raise CliError(str(exc)) from None
    for message in prepared.messages:
        print(f"chorus: warning: {message}", file=sys.stderr)
    return str(pf.add_media(prepared.data, ".wav"))


def cmd_speakers_remove(args: argparse.Namespace) -> int:
    from studio.render.project_edits import apply_now, remove_speaker

    pf = _open(args.project)
    try:
        speaker = _speaker(pf.project, args.speaker)
        reason = remove_speaker(pf.project, speaker.id, apply_now(pf.project))
        if reason:
            raise CliError(reason)
        print(f"Removed {speaker.name}")
    finally:
        pf.close()
    return 0


def cmd_cast(args: argparse.Namespace) -> int:
    """Give a character a voice from the bank (embedded into the project, as the studio does)."""
    from studio.bank.records import BankError
    from studio.cli_voices import _bank
    from studio.render.casting import cast_bank_voice
    from studio.render.project_edits import apply_now

    pf = _open(args.project)
    try:
        speaker = _speaker(pf.project, args.character)
        with _bank(args) as bank:
            try:
                voice = bank.find(args.voice)
                changed = cast_bank_voice(pf, speaker.id, bank, voice.id, apply_now(pf.project))
            except BankError as exc:
                raise CliError(str(exc)) from None
        speaker = pf.project.speakers[speaker.id]
        _warn_backend(pf.project, speaker)
        if args.json:
            _print_json(_speaker_json(pf.project, speaker))
        else:
            print(f"{speaker.name} {'now speaks with' if changed else 'already speaks with'} {voice.name} ({speaker.voice.kind.value})")
    finally:
        pf.close()
    return 0


# ---- settings ------------------------------------------------------------------------------------


def cmd_settings(args: argparse.Namespace) -> int:
    from studio.core.settings_schema import SettingError, display, parse_change, setting_rows
    from studio.render.project_edits import apply_now, change_settings

    pf = _open(args.project, read_only=args.value is None)
    try:
        project = pf.project
        if args.value is not None:
            try:
                changes = parse_change(project.settings, args.key, args.value)
            except SettingError as exc:
                raise CliError(str(exc)) from None
            change_settings(project, pf.media_dir, changes, apply_now(project))
        rows = setting_rows(project.settings)
        if args.key is not None:
            key = args.key.partition(".")[2] if "." in args.key else args.key
            rows = [r for r in rows if r.key == key]
            if not rows:
                raise CliError(f"no setting {args.key!r}; `chorus settings {args.project}` lists them")
        if args.json:
            _print_json([r.__dict__ for r in rows])
            return 0
        section = ""
        for r in rows:
            if r.section != section and args.key is None:
                section = r.section
                print(f"[{section}]" if section == "project" else f"[backend: {section}]")
            mark = "" if display(r.value) == display(r.default) else "  (default " + display(r.default) + ")"
            print(f"  {r.key:<22} {display(r.value):<40}{mark}   ∈ {r.allowed}")
    finally:
        pf.close()
    return 0


# ---- lines ---------------------------------------------------------------------------------------


def _line_json(project: Any, line: Any) -> dict[str, Any]:
    speaker = project.speakers.get(line.speaker_id)
    scene = project.scenes.get(line.scene_id)
    return {
        "id": line.id,
        "speaker": speaker.name if speaker else "",
        "text": line.text,
        "direction": line.direction,
        "scene": scene.title if scene else "",
        "status": line.status.value,
        "detail": line.status_detail,
        "take": line.selected_take,
    }


def cmd_lines_list(args: argparse.Namespace) -> int:
    pf = _open(args.project, read_only=True)
    try:
        project = pf.project
        speaker_id = _speaker(project, args.speaker).id if args.speaker else None
        rows = [
            _line_json(project, line)
            for line in project.ordered_lines()
            if (args.status is None or line.status.value == args.status)
            and (speaker_id is None or line.speaker_id == speaker_id)
        ]
    finally:
        pf.close()
    if args.json:
        _print_json(rows)
        return 0
    for row in rows:
        print(f"{row['id']:<14} {row['status']:<9} {row['speaker']:<16} {row['text']}")
    print(f"{len(rows)} line(s)", file=sys.stderr)
    return 0


def cmd_lines_set(args: argparse.Namespace) -> int:
    from studio.core import ops

    pf = _open(args.project)
    try:
        project = pf.project
        line = project.lines.get(args.id)
        if line is None:
            raise CliError(f"no line {args.id!r} in the project")
        edits: list[Any] = []
        if args.text is not None:
            if not args.text.strip():
                raise CliError("a line needs text (remove the line with `chorus lines remove` instead)")
            if args.text != line.text:
                edits.append(ops.change_text(line.id, args.text))
        if args.direction is not None and args.direction != line.direction:
            edits.append(ops.change_direction(line.id, args.direction))
        if args.speaker is not None:
            speaker = _speaker(project, args.speaker)
            if speaker.id != line.speaker_id:
                edits.append(ops.assign_speaker(line.id, speaker.id))
        if edits:
            project.apply(ops.Batch(tuple(edits), "Edit line"))
        if args.json:
            _print_json(_line_json(project, project.lines[line.id]))
        else:
            print(f"{'Changed' if edits else 'Unchanged:'} {line.id}")
    finally:
        pf.close()
    return 0


def cmd_lines_add(args: argparse.Namespace) -> int:
    from studio.core import ops
    from studio.core.model import LineKind, ScriptLine
    from studio.core.script_formats import new_line_id

    pf = _open(args.project)
    try:
        project = pf.project
        if not args.text.strip():
            raise CliError("a line needs text")
        speaker = _speaker(project, args.speaker)
        line_id = args.id or new_line_id(project.lines)
        if line_id in project.lines:
            raise CliError(f"there is already a line {line_id!r}")
        index = None
        if args.after:
            if args.after not in project.lines:
                raise CliError(f"no line {args.after!r} to add after")
            index = project.line_index(args.after) + 1
        scene_id = project.lines[args.after].scene_id if args.after else (
            project.lines[project.line_order[-1]].scene_id if project.line_order else "")
        line = ScriptLine(line_id, speaker.id, args.text, direction=args.direction or "",
                          scene_id=scene_id, kind=LineKind.of_text(args.text))
        project.apply(ops.add_line(line, index))
        print(line_id)
    finally:
        pf.close()
    return 0


def cmd_lines_remove(args: argparse.Namespace) -> int:
    from studio.core import ops

    pf = _open(args.project)
    try:
        missing = [i for i in args.ids if i not in pf.project.lines]
        if missing:
            raise CliError(f"no line {', '.join(missing)} in the project")
        pf.project.apply(ops.Batch(tuple(ops.remove_line(pf.project, i) for i in args.ids), "Remove lines"))
        print(f"Removed {len(args.ids)} line(s)")
    finally:
        pf.close()
    return 0


def cmd_lines_move(args: argparse.Namespace) -> int:
    from studio.core import ops

    pf = _open(args.project)
    try:
        project = pf.project
        if args.id not in project.lines:
            raise CliError(f"no line {args.id!r} in the project")
        if not 1 <= args.position <= len(project.line_order):
            raise CliError(f"position must be 1 to {len(project.line_order)}")
        project.apply(ops.move_line(args.id, args.position - 1))
        print(f"Moved {args.id} to position {args.position}")
    finally:
        pf.close()
    return 0


# ---- parser --------------------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add the project-editing sub-commands to ``chorus``'s parser."""
    from studio.core.model import LineStatus

    sp = sub.add_parser("speakers", help="list, add, change or remove a project's speakers")
    sps = sp.add_subparsers(dest="speakers_command", metavar="ACTION", required=True)
    p = sps.add_parser("list", help="speakers with their voices")
    p.add_argument("project")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_speakers_list)
    p = sps.add_parser("set", help="change a speaker (or add one with --create)")
    p.add_argument("project")
    p.add_argument("speaker", help="name or id")
    p.add_argument("--create", action="store_true", help="add the speaker if there is none of that name")
    p.add_argument("--rename", metavar="NAME")
    p.add_argument("--colour", metavar="#RRGGBB")
    p.add_argument("--clip", metavar="FILE", help="reference clip for cloning (Higgs / remote servers)")
    p.add_argument("--transcript", help="the exact words spoken in the clip")
    p.add_argument("--profile", help='a text profile, e.g. "Male, British accent, calm"')
    p.add_argument("--piper-voice", metavar="ONNX", help='a Piper .onnx voice ("" = the bundled voice)')
    p.add_argument("--variant", type=int, metavar="0-7", help="Piper variant (rate + pitch)")
    p.add_argument("--smart", action="store_true", help="the smart voice (Higgs picks one from context)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_speakers_set)
    p = sps.add_parser("remove", help="remove a speaker who speaks no line")
    p.add_argument("project")
    p.add_argument("speaker")
    p.set_defaults(func=cmd_speakers_remove)

    p = sub.add_parser("cast", help="give a character a voice from the voice bank")
    p.add_argument("project")
    p.add_argument("character", help="speaker name or id")
    p.add_argument("voice", help="bank voice name or id")
    p.add_argument("--bank", metavar="PATH", help="voice bank folder (default: $CHORUS_VOICE_BANK or the data folder)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_cast)

    p = sub.add_parser("settings", help="list a project's settings, or set one: chorus settings P KEY VALUE")
    p.add_argument("project")
    p.add_argument("key", nargs="?", help="a setting (backend, export_preset, model, device, batch_size …)")
    p.add_argument("value", nargs="?", help="the new value")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_settings)

    lp = sub.add_parser("lines", help="list, edit, add, remove or move script lines")
    lps = lp.add_subparsers(dest="lines_command", metavar="ACTION", required=True)
    p = lps.add_parser("list", help="the script's lines")
    p.add_argument("project")
    p.add_argument("--status", choices=[s.value for s in LineStatus])
    p.add_argument("--speaker", help="name or id")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_lines_list)
    p = lps.add_parser("set", help="change a line's text, speaker or direction")
    p.add_argument("project")
    p.add_argument("id")
    p.add_argument("--text")
    p.add_argument("--speaker")
    p.add_argument("--direction")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_lines_set)
    p = lps.add_parser("add", help="add a line (at the end, or after another)")
    p.add_argument("project")
    p.add_argument("speaker")
    p.add_argument("text")
    p.add_argument("--id", help="line id (default: the next L010-style id)")
    p.add_argument("--after", metavar="ID")
    p.add_argument("--direction")
    p.set_defaults(func=cmd_lines_add)
    p = lps.add_parser("remove", help="remove lines (their takes stay in the project)")
    p.add_argument("project")
    p.add_argument("ids", nargs="+")
    p.set_defaults(func=cmd_lines_remove)
    p = lps.add_parser("move", help="move a line to a position in the script (1 = first)")
    p.add_argument("project")
    p.add_argument("id")
    p.add_argument("position", type=int)
    p.set_defaults(func=cmd_lines_move)
