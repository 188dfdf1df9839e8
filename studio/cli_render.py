"""``chorus render`` and ``chorus export``: render lines through the engine, mix and export.

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from studio.cli import CliError, _open


class ProgressBar:
    """A one-line progress bar on stderr (redrawn in place on a terminal, sparse lines otherwise)."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self._last = 0.0
        self._last_text = ""

    def update(self, done: float, extra: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < (0.2 if self.tty else 5.0):
            return
        self._last = now
        fraction = 0.0 if self.total == 0 else min(1.0, done / self.total)
        elapsed = now - self.started
        eta = (elapsed / fraction - elapsed) if fraction > 0.02 else None
        width = 28
        bar = "#" * int(fraction * width) + "-" * (width - int(fraction * width))
        eta_text = f"ETA {int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else "ETA --:--"
        text = f"[{bar}] {fraction * 100:5.1f}%  {extra}  {eta_text}"
        if self.tty:
            self.stream.write("\r" + text.ljust(len(self._last_text)))
        elif text != self._last_text:
            self.stream.write(text + "\n")
        self._last_text = text
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def render_project(
    project_path: str,
    *,
    line_ids: list[str] | None = None,
    backend: str | None = None,
    new_take: bool = False,
    seed: int | None = None,
    continuity: bool | None = None,
    quiet: bool = False,
) -> int:
    """Render what needs rendering; returns the number of failed lines (prints a summary)."""
    from studio.core import ops
    from studio.render.client import EngineClient, EngineError
    from studio.render.session import RenderSession

    pf = _open(project_path)
    try:
        project = pf.project
        if backend and backend != project.settings.backend:
            project.apply(ops.set_settings(backend=backend))
        settings = project.settings
        options = settings.backend_options_dict()
        use_continuity = bool(options.get("continuity", False)) if continuity is None else continuity
        batch = int(options.get("batch_size", 1))
        # Takes are recorded as they arrive; the timeline is laid out once at the end (or on Ctrl+C),
        # not after every take (a full relayout per take is quadratic on long game scripts).
        session = RenderSession(pf, layout=False)
        try:
            jobs = session.prepare(
                line_ids, new_take=new_take, seed=seed, continuity=use_continuity, batch_size=batch
            )
        except KeyError as exc:
            raise CliError(str(exc).strip("'\"")) from None
        if not jobs:
            session.place()
            print(f"0 jobs: {session.skipped + session.reused} line(s) already have current takes")
            return 0
        print(
            f"Rendering {len(jobs)} line(s) with {settings.backend} ({session.skipped} up to date)",
            flush=True,
        )
        bar = ProgressBar(len(jobs))
        client = EngineClient(backend=settings.backend, options=options)
        try:
            try:
                client.start()
            except EngineError as exc:
                session.abandon()
                session.place()
                raise CliError(f"the engine did not start: {exc}") from None
            client.submit(jobs)
            while not session.done:
                for event in client.poll(0.25):
                    if event.get("type") == "engine_restarted" and not quiet:
                        bar.close()
                        print(f"engine restarted: {event.get('reason', '')}", file=sys.stderr)
                    elif event.get("type") == "load_progress" and not quiet:
                        bar.update(0, f"loading model {event.get('detail', '')}")
                    session.handle(event)
                if not quiet:
                    finished = session.count("done") + session.count("failed")
                    bar.update(
                        session.fraction * len(jobs),
                        f"{finished}/{len(jobs)} lines, {session.audio_seconds:.1f} s audio",
                    )
            if not quiet:
                bar.update(len(jobs), f"{session.count('done')}/{len(jobs)} lines", force=True)
        except KeyboardInterrupt:
            client.stop()
            session.abandon()
            session.place()
            raise
        finally:
            client.shutdown()
            if not quiet:
                bar.close()
        session.place()
        elapsed = time.monotonic() - session.started_at
        speed = session.audio_seconds / elapsed if elapsed > 0 else 0.0
        print(
            f"Rendered {session.count('done')} line(s), {session.audio_seconds:.1f} s of audio in {elapsed:.1f} s "
            f"({speed:.1f}x real time); {session.count('failed')} failed"
        )
        for line_id, reason in session.failures():
            print(f"  FAILED {line_id}: {reason}", file=sys.stderr)
        return session.count("failed")
    finally:
        pf.close()


def cmd_render(args: argparse.Namespace) -> int:
    failed = render_project(
        args.project,
        line_ids=args.lines,
        backend=args.backend,
        new_take=args.new_take,
        seed=args.seed,
        continuity=args.continuity,
    )
    if failed:
        print(f"chorus: {failed} line(s) failed", file=sys.stderr)
        if not args.export:
            return 1
    if args.export:
        code = export_project(args.project, Path(args.export), format=None, preset=None)
        return code or (1 if failed else 0)
    return 0


def export_project(project_path: str, out: Path | None, **options: Any) -> int:
    """Mix and export (see ``chorus export --help``)."""
    from studio.audio.errors import ExportError
    from studio.audio.export import ExportRequest, run_export

    pf = _open(project_path)
    try:
        project = pf.project
        fields = {k: v for k, v in options.items() if v is not None}
        fields.setdefault("preset", project.settings.export_preset)
        try:
            request = ExportRequest.build(out=out, **fields)
        except (TypeError, ValueError, ExportError) as exc:
            raise CliError(str(exc)) from None
        if project.missing_media:
            print(
                f"warning: {len(project.missing_media)} media file(s) are missing; their clips are silent",
                file=sys.stderr,
            )
        bar = ProgressBar(1)
        try:
            result = run_export(project, pf.media_path, request, _CliState(bar))
        except ExportError as exc:
            raise CliError(str(exc)) from None
        finally:
            bar.close()
        for line in result.summary_lines():
            print(line)
        return 0
    finally:
        pf.close()


class _CliState:
    """The export job's state object: progress to the bar; cancel on Ctrl+C (KeyboardInterrupt)."""

    def __init__(self, bar: ProgressBar) -> None:
        self.bar = bar
        self.status = "mixing"

    def set_progress(self, fraction: float) -> None:
        self.bar.update(fraction, self.status)

    def set_status(self, text: str) -> None:
        self.status = text

    def is_cancel_requested(self) -> bool:
        return False


def render_and_export(project_path: str, out: Path) -> int:
    failed = render_project(project_path)
    code = export_project(project_path, out)
    return code or (1 if failed else 0)


def cmd_export(args: argparse.Namespace) -> int:
    return export_project(
        args.project,
        Path(args.out) if args.out else None,
        format=args.format,
        preset=args.preset,
        bitrate=args.bitrate,
        bit_depth=args.bit_depth,
        channels=args.channels,
        stems=Path(args.stems) if args.stems else None,
        lines_dir=Path(args.lines) if args.lines else None,
        name_template=args.name,
        subtitles=args.subtitles,
        speaker_names=not args.no_speaker_names,
    )


def register(sub: Any) -> None:
    p = sub.add_parser("render", help="render the lines that need a take (Piper by default)")
    p.add_argument("project")
    p.add_argument("--lines", nargs="+", metavar="ID", help="only these line ids")
    p.add_argument("--backend", choices=["piper", "higgs", "openai"], help="set the project's backend first")
    p.add_argument("--new-take", action="store_true", help="render another take even where one exists")
    p.add_argument("--seed", type=int, help="generation seed (same seed + same line = same take)")
    p.add_argument(
        "--continuity",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="scene continuity: each line gets the previous lines as context (Higgs)",
    )
    p.add_argument("--export", metavar="OUT", help="then mix and export to OUT (format from the extension)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("export", help="mix and export the project (mix, stems, per-line files, subtitles)")
    p.add_argument("project")
    p.add_argument("out", nargs="?", help="the mix file (format from the extension unless --format)")
    p.add_argument("--format", choices=["wav", "flac", "mp3", "ogg", "opus"])
    p.add_argument("--preset", choices=["podcast", "ebu", "acx", "none"])
    p.add_argument("--bitrate", type=int, choices=[128, 192, 320], help="MP3 CBR kbit/s")
    p.add_argument("--bit-depth", choices=["16", "24", "float"], help="WAV/FLAC sample format")
    p.add_argument("--channels", type=int, choices=[1, 2])
    p.add_argument("--stems", metavar="DIR", help="also one file per track into DIR")
    p.add_argument("--lines", metavar="DIR", help="also one file per line into DIR, with a manifest")
    p.add_argument("--name", default=None, help="per-line file name template, e.g. '{character}/{id}.wav'")
    p.add_argument("--subtitles", choices=["srt", "vtt"], help="also subtitles next to OUT")
    p.add_argument("--no-speaker-names", action="store_true", help="subtitles without speaker names")
    p.set_defaults(func=cmd_export)
