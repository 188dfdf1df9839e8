"""``chorus voices``: list, show, add, edit, remove, export and import voices of the voice bank.

Every sub-command takes ``--bank PATH`` (default: ``CHORUS_VOICE_BANK`` or the user data folder) and
``--json`` for scripts. Warnings go to stderr as ``chorus: warning: …``; errors are raised as
:class:`studio.cli.CliError` (clear message, no traceback).

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from studio.bank.records import BankError, BankVoice


def _error(message: str) -> Exception:
    from studio.cli_common import CliError

    return CliError(message)


@contextmanager
def _bank(args: argparse.Namespace) -> Iterator[Any]:
    """The bank named by ``--bank`` (or the default), closed afterwards; BankError → CliError."""
    from studio import paths
    from studio.bank.store import VoiceBank

    root = Path(args.bank).expanduser() if args.bank else paths.voice_bank_dir()
    try:
        bank = VoiceBank.open(root)
    except BankError as exc:
        raise _error(str(exc)) from None
    try:
        yield bank
    except BankError as exc:
        raise _error(str(exc)) from None
    finally:
        bank.close()


def _warn(messages: Iterable[str]) -> None:
    for message in messages:
        print(f"chorus: warning: {message}", file=sys.stderr)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _voice_json(bank: Any, voice: BankVoice) -> dict[str, Any]:
    from studio.qa.reference import clip_flag

    data = voice.to_dict()
    for clip, ref in zip(data["clips"], voice.clips, strict=True):
        clip["path"] = str(bank.clip_path(clip["clip_id"]))
        clip["mismatch"] = clip_flag(ref)  # "" = the transcript agrees with what was heard (or unknown)
    doc = voice.provenance.consent_document
    data["provenance"]["consent_document_path"] = str(bank.document_path(doc)) if doc else ""
    return data


def _summary(voice: BankVoice) -> str:
    clip = voice.primary_clip
    clips = f"{len(voice.clips)} ({clip.duration:.1f} s)" if clip else "0"
    tags = ", ".join(voice.tags.labels())
    return f"{voice.id:<17} {voice.name:<20} {voice.kind:<8} {clips:<12} {tags}"


# ---- list / show -------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    with _bank(args) as bank:
        voices = bank.list_voices(args.search or "", args.tag or [])
        if args.json:
            _print_json([_voice_json(bank, v) for v in voices])
            return 0
        if not voices:
            total = bank.count()
            print(
                "No voices match."
                if total
                else f"The voice bank at {bank.root} is empty (add one: chorus voices add NAME --clip FILE)"
            )
            return 0
        print(f"{'ID':<17} {'NAME':<20} {'KIND':<8} {'CLIPS':<12} TAGS")
        for voice in voices:
            print(_summary(voice))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _bank(args) as bank:
        voice = bank.find(args.voice)
        if args.json:
            _print_json(_voice_json(bank, voice))
            return 0
        print(f"{voice.name}  ({voice.id}, {voice.kind})")
        if voice.description:
            print(f"  {voice.description}")
        if voice.profile:
            print(f"  profile: {voice.profile}")
        if voice.tags.labels():
            print(f"  tags: {', '.join(voice.tags.labels())}")
        if voice.settings:
            print("  settings: " + ", ".join(f"{k}={v}" for k, v in voice.settings))
        if voice.piper_model or voice.piper_variant:
            print(f"  piper: {voice.piper_model or '(bundled voice)'} variant {voice.piper_variant}")
        if voice.effects:
            from studio.core.effects import describe

            print("  effects:")
            for i, fx in enumerate(voice.effects, 1):
                print(f"    {i}. {describe(fx)}")
        from studio.qa.reference import clip_flag

        for i, clip in enumerate(voice.clips):
            mark = "*" if i == 0 else " "
            snr = f", SNR {clip.snr_db:.0f} dB" if clip.snr_db is not None else ""
            print(
                f"  {mark} clip {clip.clip_id[:12]}  {clip.duration:.1f} s, {clip.loudness_lufs:.1f} LUFS{snr}"
                f"  {clip.original_name}"
            )
            print(f'      "{clip.transcript}"' if clip.transcript else "      (no transcript)")
            flag = clip_flag(clip)
            for note in (*clip.notes(), *([flag] if flag else [])):
                print(f"      ! {note}")
        prov = voice.provenance
        for label, value in (
            ("source", prov.source),
            ("owner", prov.owner),
            ("consent", prov.consent),
            ("consent document", prov.consent_document_name),
            ("licence", prov.licence),
            ("date", prov.date),
        ):
            if value:
                print(f"  {label}: {value}")
        print(f"  created {voice.created}, modified {voice.modified}")
    return 0


# ---- add / edit / remove -----------------------------------------------------------------------


def _transcript(args: argparse.Namespace) -> str | None:
    from studio.bank.clips import read_transcript_file

    if args.transcript is not None and args.transcript_file:
        raise _error("give --transcript or --transcript-file, not both")
    if args.transcript_file:
        try:
            return read_transcript_file(Path(args.transcript_file).expanduser())
        except BankError as exc:
            raise _error(str(exc)) from None
    return args.transcript if args.transcript is None else " ".join(args.transcript.split())


def _prepare(path: str, transcript: str | None) -> Any:
    from studio.bank.clips import prepare_clip

    try:
        return prepare_clip(Path(path).expanduser(), transcript)
    except BankError as exc:
        raise _error(str(exc)) from None


def _hear_clip(bank: Any, voice: BankVoice, clip_id: str, warnings: list[str]) -> BankVoice:
    """Transcribe a clip added without a transcript (a light engine process): the heard words are
    kept beside the clip and become its transcript. A recogniser that fails is a warning."""
    from engine.protocol import TranscribeJob
    from studio.bank.records import NO_TRANSCRIPT
    from studio.render.checking import transcribe
    from studio.render.client import EngineError

    job = TranscribeJob("voice-clip", str(bank.clip_path(clip_id)), language="en")
    later = f"add its transcript with: chorus voices edit {voice.name!r} --transcript TEXT"
    try:
        event = transcribe([job]).get(job.job_id, {})
    except EngineError as exc:
        warnings.append(f"the speech recogniser did not start ({exc}); {later}")
        return voice
    heard = " ".join(str(event.get("transcript", {}).get("text", "")).split())
    if event.get("type") != "finished" or not heard:
        warnings.append(f"{event.get('reason') or 'no speech was heard in the clip'}; {later}")
        return voice
    users: list[BankVoice] = bank.set_heard(clip_id, heard, fill_voice=voice.id)
    if NO_TRANSCRIPT in warnings:
        warnings.remove(NO_TRANSCRIPT)
    warnings.append(f'transcribed the clip: "{heard}" (check it; correct it with chorus voices edit)')
    return next(v for v in users if v.id == voice.id)


def _piper_model(value: str | None) -> str | None:
    if value is None or value == "":
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise _error(f"the Piper voice {value} does not exist (give the path of a .onnx voice)")
    if path.suffix != ".onnx":
        raise _error(f"the Piper voice {value} is not a .onnx file")
    return str(path.resolve())


def _settings(
    pairs: Iterable[str], base: dict[str, Any] | None = None, unset: Iterable[str] = ()
) -> dict[str, Any]:
    from studio.bank.records import parse_setting

    values = dict(base or {})
    for key in unset:
        values.pop(key, None)
    for pair in pairs:
        try:
            key, value = parse_setting(pair)
        except BankError as exc:
            raise _error(str(exc)) from None
        values[key] = value
    return values


def _tags(args: argparse.Namespace, tags: Any, remove: Iterable[str] = ()) -> Any:
    from studio.bank.records import apply_tag_args

    add = list(args.tag or [])
    for key in ("gender", "age", "accent", "language", "style"):
        value = getattr(args, key, None)
        if value is not None:
            add.append(f"{key}:{value}")
    try:
        return apply_tag_args(tags, add, remove)
    except BankError as exc:
        raise _error(str(exc)) from None


def _provenance(args: argparse.Namespace, prov: Any) -> Any:
    import dataclasses
    import datetime

    if args.date:
        try:
            datetime.date.fromisoformat(args.date.strip())
        except ValueError:
            raise _error(f"--date must be a date written YYYY-MM-DD, not {args.date!r}") from None

    changes = {
        key: " ".join(str(getattr(args, key)).split())
        for key in ("source", "owner", "consent", "licence", "date")
        if getattr(args, key, None) is not None
    }
    return dataclasses.replace(prov, **changes)


def cmd_add(args: argparse.Namespace) -> int:
    from studio.bank.records import Provenance, VoiceTags

    transcript = _transcript(args)
    if transcript is not None and not args.clip:
        raise _error("--transcript goes with --clip (the words spoken in that clip)")
    prepared = _prepare(args.clip, transcript) if args.clip else None
    piper = _piper_model(args.piper_voice)
    with _bank(args) as bank:
        voice = bank.create_voice(
            args.name,
            description=args.description or "",
            profile=args.profile or "",
            tags=_tags(args, VoiceTags()),
            settings=_settings(args.set or []),
            piper_model=piper or "",
            piper_variant=args.variant or 0,
            provenance=_provenance(args, Provenance()),
            clips=[prepared] if prepared else [],
            consent_document=Path(args.consent_document).expanduser() if args.consent_document else None,
            effects=_fx_preset(args.fx) or (),
        )
        warnings = list(prepared.messages) if prepared else []
        if prepared is not None and not prepared.transcript and not args.no_transcribe:
            voice = _hear_clip(bank, voice, prepared.clip_id, warnings)
        if prepared is None and not voice.profile:
            warnings.append(
                f"{voice.name} has no clip and no profile: projects will speak it with its Piper voice"
            )
        _warn(warnings)
        if args.json:
            _print_json({**_voice_json(bank, voice), "warnings": warnings})
        else:
            print(f"Added {voice.name} ({voice.id}, {voice.kind})")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    transcript = _transcript(args)
    prepared = _prepare(args.clip, transcript) if args.clip else None
    piper = _piper_model(args.piper_voice)
    warnings: list[str] = list(prepared.messages) if prepared else []
    with _bank(args) as bank:
        voice = bank.find(args.voice)
        changes: dict[str, Any] = {}
        for key in ("name", "description", "profile"):
            if getattr(args, key) is not None:
                changes[key] = getattr(args, key)
        changes["tags"] = _tags(args, voice.tags, args.untag or [])
        changes["settings"] = _settings(args.set or [], voice.settings_dict(), args.unset or [])
        if piper is not None:
            changes["piper_model"] = piper
        if args.variant is not None:
            changes["piper_variant"] = args.variant
        if args.fx is not None:
            changes["effects"] = _fx_preset(args.fx)
        changes["provenance"] = _provenance(args, voice.provenance)
        voice = bank.update_voice(voice.id, **changes)
        if args.no_consent_document:
            voice = bank.set_consent_document(voice.id, None)
        elif args.consent_document:
            voice = bank.set_consent_document(voice.id, Path(args.consent_document).expanduser())
        if args.remove_clip:
            for clip_id in args.remove_clip:
                voice = bank.remove_clip(voice.id, clip_id)
        if prepared is not None:
            voice, _ = bank.add_clip(voice.id, prepared, primary=args.primary)
            if not prepared.transcript and not args.no_transcribe:
                voice = _hear_clip(bank, voice, prepared.clip_id, warnings)
        elif transcript is not None:
            if voice.primary_clip is None:
                raise _error(f"{voice.name} has no clip to give a transcript to (add one with --clip)")
            voice = bank.set_transcript(voice.id, voice.primary_clip.clip_id, transcript)
        if args.primary_clip:
            voice = bank.set_primary_clip(voice.id, args.primary_clip)
        if args.trim:
            voice = _trim(bank, voice, args.trim, warnings)
        _warn(warnings)
        if args.json:
            _print_json({**_voice_json(bank, voice), "warnings": warnings})
        else:
            print(f"Updated {voice.name} ({voice.id})")
    return 0


def _trim(bank: Any, voice: BankVoice, span: list[float], warnings: list[str]) -> BankVoice:
    from studio.bank.clips import trim_clip

    clip = voice.primary_clip
    if clip is None:
        raise _error(f"{voice.name} has no clip to trim")
    prepared = trim_clip(bank.clip_path(clip.clip_id), span[0], span[1], clip.transcript, clip.original_name)
    warnings.extend(prepared.messages)
    result: BankVoice = bank.replace_clip(voice.id, clip.clip_id, prepared)
    return result


def cmd_remove(args: argparse.Namespace) -> int:
    with _bank(args) as bank:
        voices = [bank.find(ref) for ref in args.voices]
        for voice in voices:
            bank.remove_voice(voice.id)
        if args.json:
            _print_json({"removed": [{"id": v.id, "name": v.name} for v in voices]})
        else:
            for voice in voices:
                print(f"Removed {voice.name} ({voice.id})")
    return 0


# ---- export / import ---------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from studio.bank.packs import PACK_SUFFIX, export_pack, export_presets

    items = list(args.items)
    out: str | None = None
    if args.presets is None:
        if not items:
            raise _error(f"name the pack file to write (NAME{PACK_SUFFIX})")
        out = items.pop()
        if not out.endswith(PACK_SUFFIX):
            raise _error(
                f"the last argument is the pack to write and must end in {PACK_SUFFIX} (got {out!r}); "
                "or use --presets DIR for a vLLM voice-presets folder"
            )
    with _bank(args) as bank:
        if args.all:
            if items:
                raise _error("give --all or voice names, not both")
            voices = bank.list_voices()
            if not voices:
                raise _error(f"the voice bank at {bank.root} is empty; nothing to export")
        else:
            if not items:
                raise _error("name the voices to export (or --all)")
            voices = [bank.find(ref) for ref in items]
        ids = [v.id for v in voices]
        if args.presets is not None:
            result = export_presets(bank, ids, args.presets)
            _warn(result.warnings)
            if args.json:
                _print_json(
                    {
                        "config": str(result.config),
                        "voices": list(result.written),
                        "warnings": list(result.warnings),
                    }
                )
            else:
                print(f"Wrote {len(result.written)} voice presets to {result.config.parent}")
        else:
            assert out is not None
            path = export_pack(bank, ids, out)
            if args.json:
                _print_json({"path": str(path), "voices": [v.name for v in voices]})
            else:
                print(f"Wrote {len(voices)} voices to {path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from studio.bank.packs import detect_layout, import_path
    from studio.bank.store import Conflict

    policy: Conflict = (
        "replace" if args.replace else "skip" if args.skip else "copy" if args.copy else "error"
    )
    with _bank(args) as bank:
        layout = detect_layout(args.path)
        result = import_path(bank, args.path, on_conflict=policy)
        _warn(result.warnings)
        if args.json:
            _print_json(
                {
                    "layout": layout,
                    "imported": [_voice_json(bank, v) for v in result.imported],
                    "replaced": list(result.replaced),
                    "skipped": list(result.skipped),
                    "warnings": list(result.warnings),
                }
            )
        else:
            names = ", ".join(v.name for v in result.imported) or "nothing"
            print(f"Imported {len(result.imported)} voices: {names}")
            if result.skipped:
                print(f"Kept the bank's {', '.join(result.skipped)} (already there)")
    return 0


# ---- parser ------------------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--bank",
        metavar="PATH",
        help="voice bank folder (default: $CHORUS_VOICE_BANK or the user data folder)",
    )
    parent.add_argument("--json", action="store_true", help="machine-readable output")
    return parent


def _fx_preset(name: str | None) -> tuple[Any, ...] | None:
    """The chain of an effects preset for ``--fx`` (``none`` clears); None when not given."""
    if name is None:
        return None
    if name.strip().casefold() in ("none", "clear"):
        return ()
    from studio.core import effects as fxc
    from studio.core.ops import EditError

    try:
        return fxc.preset(name)
    except EditError as exc:
        raise _error(str(exc)) from None


def _voice_fields(p: argparse.ArgumentParser) -> None:
    p.add_argument("--description")
    p.add_argument("--profile", help='text profile, e.g. "Male, British accent, calm, very clear audio"')
    p.add_argument(
        "--tag",
        action="append",
        metavar="T",
        help="a free tag, or KEY:VALUE for gender/age/accent/language/style",
    )
    for key in ("gender", "age", "accent", "language", "style"):
        p.add_argument(f"--{key}")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a generation default: backend, temperature, top_k, top_p, seed, ras_win_len, ras_max_num_repeat …",
    )
    p.add_argument("--piper-voice", metavar="PATH", help="preferred Piper voice (.onnx) for CPU drafts")
    p.add_argument("--variant", type=int, metavar="N", help="preferred Piper variant")
    p.add_argument(
        "--fx",
        metavar="PRESET",
        help="the voice's effect chain from a preset (`chorus fx presets` lists them; none clears)",
    )
    p.add_argument("--clip", metavar="FILE", help="reference clip (wav, flac, mp3, ogg, m4a)")
    p.add_argument(
        "--transcript", metavar="TEXT", help="the words spoken in the clip (default: FILE's .txt sidecar)"
    )
    p.add_argument("--transcript-file", metavar="F")
    p.add_argument(
        "--no-transcribe",
        action="store_true",
        help="leave a clip without a transcript as it is (default: the speech recogniser transcribes it)",
    )
    p.add_argument("--source", help="where the voice comes from")
    p.add_argument("--owner", help="whose voice it is")
    p.add_argument("--consent", metavar="NOTE", help="consent note")
    p.add_argument("--consent-document", metavar="FILE", help="a consent document to keep in the bank")
    p.add_argument("--licence", "--license", dest="licence")
    p.add_argument("--date", help="date of consent / recording (YYYY-MM-DD)")


def _list_default(args: argparse.Namespace) -> int:
    for key, value in (("search", None), ("tag", None), ("bank", None), ("json", False)):
        if not hasattr(args, key):
            setattr(args, key, value)
    return cmd_list(args)


def register(sub: Any) -> None:
    """Add ``chorus voices …`` to the ``chorus`` sub-command parsers."""
    common = _common()
    voices = sub.add_parser(
        "voices", help="the voice bank: list, show, add, edit, remove, export, import voices"
    )
    voices.set_defaults(func=_list_default)
    vs = voices.add_subparsers(dest="voices_command", metavar="COMMAND")

    p = vs.add_parser("list", parents=[common], help="list voices (filter with --tag, --search)")
    p.add_argument(
        "--tag",
        action="append",
        metavar="T",
        help="only voices with this tag (KEY:VALUE or a word); repeatable",
    )
    p.add_argument(
        "--search",
        metavar="Q",
        help="only voices whose name, description, tags or transcript hold these words",
    )
    p.set_defaults(func=cmd_list)

    p = vs.add_parser("show", parents=[common], help="details of one voice")
    p.add_argument("voice", metavar="ID|NAME")
    p.set_defaults(func=cmd_show)

    p = vs.add_parser(
        "add", parents=[common], help="add a voice (with a reference clip and/or a text profile)"
    )
    p.add_argument("name")
    _voice_fields(p)
    p.set_defaults(func=cmd_add)

    p = vs.add_parser("edit", parents=[common], help="change a voice")
    p.add_argument("voice", metavar="ID|NAME")
    p.add_argument("--name", help="rename the voice")
    _voice_fields(p)
    p.add_argument("--untag", action="append", metavar="T", help="remove a tag (KEY: clears that field)")
    p.add_argument("--unset", action="append", metavar="KEY", help="remove a generation default")
    p.add_argument(
        "--primary", action="store_true", help="the clip added with --clip becomes the primary one"
    )
    p.add_argument("--primary-clip", metavar="CLIP_ID", help="make this clip (id or prefix) the primary one")
    p.add_argument("--remove-clip", action="append", metavar="CLIP_ID", help="remove a clip (id or prefix)")
    p.add_argument(
        "--trim",
        nargs=2,
        type=float,
        metavar=("START", "END"),
        help="keep START..END seconds of the primary clip",
    )
    p.add_argument("--no-consent-document", action="store_true", help="detach the consent document")
    p.set_defaults(func=cmd_edit)

    p = vs.add_parser("remove", parents=[common], help="remove voices from the bank")
    p.add_argument("voices", nargs="+", metavar="ID|NAME")
    p.set_defaults(func=cmd_remove)

    p = vs.add_parser(
        "export",
        parents=[common],
        help="export voices to a .chorusvoice pack (… OUT.chorusvoice) or a vLLM voice-presets folder (--presets DIR)",
    )
    p.add_argument("items", nargs="*", metavar="ID|NAME … [OUT.chorusvoice]")
    p.add_argument("--all", action="store_true", help="every voice in the bank")
    p.add_argument(
        "--presets", metavar="DIR", help="write a vLLM higgs-audio voice-presets folder (config.json + WAVs)"
    )
    p.set_defaults(func=cmd_export)

    p = vs.add_parser(
        "import", parents=[common], help="import a .chorusvoice pack or a Higgs / vLLM voice-presets folder"
    )
    p.add_argument("path")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--replace", action="store_true", help="replace voices of the same name or id")
    group.add_argument("--skip", action="store_true", help="keep the bank's voices of the same name or id")
    group.add_argument("--copy", action="store_true", help="import voices already in the bank as copies")
    p.set_defaults(func=cmd_import)
