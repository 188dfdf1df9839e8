"""``chorus import-recording`` (a recording per speaker → recorded lines) and ``chorus patch`` (fix words).

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from studio.cli_common import CliError, _open


def _asr_client(project: Any) -> Any:
    from studio.render.one_job import asr_client

    return asr_client(project.settings.backend_options_dict())


def cmd_import_recording(args: argparse.Namespace) -> int:
    from studio.recordings.audio import RecordingError
    from studio.recordings.importer import ImportCancelled, engine_transcriber, import_recording
    from studio.render.client import EngineError

    pf = _open(args.project)
    try:
        client = _asr_client(pf.project)
        try:
            client.start()
        except EngineError as exc:
            raise CliError(f"the speech recogniser did not start: {exc}") from None
        began = time.monotonic()

        def progress(fraction: float) -> None:
            print(f"\rTranscribing {Path(args.file).name}: {fraction:4.0%}", end="", file=sys.stderr, flush=True)

        try:
            result = import_recording(pf, args.file, args.speaker, engine_transcriber(client), progress=progress)
        except (RecordingError, ImportCancelled) as exc:
            print(file=sys.stderr)
            raise CliError(str(exc) or "import cancelled") from None
        finally:
            client.shutdown()
        print(file=sys.stderr)
        print(
            f"{len(result.line_ids)} recorded lines, {result.words} words, {result.duration:.1f} s of audio "
            f"for {', '.join(args.speaker)} (transcribed in {time.monotonic() - began:.1f} s)"
        )
        project = pf.project
        for line_id in result.line_ids:
            line = project.lines[line_id]
            who = project.speakers[line.speaker_id].name if line.speaker_id in project.speakers else "?"
            print(f"  {line_id}  {who}: {line.text}")
        return 0
    finally:
        pf.close()


def _render_with(project: Any, pf: Any) -> Any:
    from studio.recordings.audio import RecordingError
    from studio.render.one_job import OneJobError, render_one

    def render(job: Any) -> str:
        try:
            return render_one(project.settings.backend, project.settings.backend_options_dict(), job)
        except OneJobError as exc:
            raise RecordingError(f"the patch was not rendered: {exc}") from None

    return render


def cmd_patch(args: argparse.Namespace) -> int:
    from studio.recordings.audio import RecordingError
    from studio.recordings.edit import patch_words

    pf = _open(args.project)
    try:
        project = pf.project
        try:
            batch, _media = patch_words(pf, args.line, args.replace, args.with_, _render_with(project, pf))
        except RecordingError as exc:
            raise CliError(str(exc)) from None
        project.apply(batch)
        print(f"{args.line}: {project.lines[args.line].text}")
        return 0
    finally:
        pf.close()


def cmd_recording_voice(args: argparse.Namespace) -> int:
    """A bank voice cloned from a speaker's recording (its reference stretch, transcript, provenance)."""
    from studio.bank.records import BankError
    from studio.cli_voices import _bank
    from studio.recordings.audio import RecordingError
    from studio.recordings.voice import voice_from_recording

    pf = _open(args.project, read_only=True)
    try:
        project = pf.project
        speaker = project.speakers.get(args.speaker) or project.speaker_by_name(args.speaker)
        recordings = [r for r in project.recordings.values() if speaker is not None and r.speaker_id == speaker.id]
        if not recordings:
            raise CliError(f"no recording of a speaker called {args.speaker!r} in the project")
        with _bank(args) as bank:
            try:
                voice = voice_from_recording(pf, recordings[0].id, bank, args.name or "")
            except (RecordingError, BankError) as exc:
                raise CliError(str(exc)) from None
        print(f"Added {voice.name} ({voice.id}) to the voice bank")
        return 0
    finally:
        pf.close()


def register(sub: Any) -> None:
    p = sub.add_parser("import-recording", help="import a speaker's recording: transcribed into recorded lines on its own track")
    p.add_argument("project")
    p.add_argument("file")
    p.add_argument(
        "--speaker", required=True, action="append",
        help="speaker name (found or added); repeat it for a mixed file of several speakers (first voice heard = first name)",
    )
    p.set_defaults(func=cmd_import_recording)

    p = sub.add_parser("patch", help="fix words of a recorded line: cut them (--with \"\") or re-speak them in the speaker's voice")
    p.add_argument("project")
    p.add_argument("line", help="recorded line id")
    p.add_argument("--replace", required=True, metavar="OLD", help="the words as they are now")
    p.add_argument("--with", dest="with_", required=True, metavar="NEW", help="the new words (\"\" = cut)")
    p.set_defaults(func=cmd_patch)

    p = sub.add_parser("recording-voice", help="add a bank voice cloned from a speaker's recording (with provenance)")
    p.add_argument("project")
    p.add_argument("speaker", help="the recorded speaker's name")
    p.add_argument("--name", help="the new voice's name (default: SPEAKER (recorded))")
    p.add_argument("--bank", metavar="PATH", help="voice bank folder (default: $CHORUS_VOICE_BANK or the data folder)")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_recording_voice)
