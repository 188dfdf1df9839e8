"""``python -m engine [--backend piper] [--options JSON]``: the render process.

Speaks ``engine.protocol`` on stdin/stdout. stdout is reserved for protocol messages: at start the
real stdout is moved to a private descriptor and file descriptor 1 is pointed at stderr, so a stray
``print`` in a library (or in a backend's worker processes) can never corrupt the event stream.

Bad arguments (unknown backend, options that are not a JSON object) exit with code 2 and a message on
stderr *before* the handshake, so the client reports them as a start error.

Test hook: if the environment variable ``CHORUS_ENGINE_DEBUG_HANG`` names an existing file, the
engine deletes that file and hangs after its first finished take (it stops answering pings) — one
engine per marker file, so a restarted engine behaves.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, BinaryIO

from engine.asr.recognizer import Recognizer
from engine.backends.base import BACKENDS, BackendError, create_backend
from engine.host import EngineHost
from engine.protocol import PROTOCOL_VERSION
from engine.takefile import SUBTYPES

DEBUG_HANG_ENV = "CHORUS_ENGINE_DEBUG_HANG"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m engine", description="Chorus render engine (speaks JSON lines)"
    )
    parser.add_argument("--backend", default="piper", help=f"one of: {', '.join(BACKENDS)} (default piper)")
    parser.add_argument("--options", default="{}", help="backend options as a JSON object")
    parser.add_argument(
        "--take-subtype", default="FLOAT", choices=SUBTYPES, help="sample format of take WAVs"
    )
    parser.add_argument(
        "--asr-model",
        default="",
        help="Whisper model for transcribe jobs: a size name (small), a repo id or a folder "
        "(default: the bundled tiny.en)",
    )
    parser.add_argument("--asr-device", default="cpu", help="cpu | cuda | auto (default cpu)")
    parser.add_argument("--debug-hang-after", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--debug-protocol-version", type=int, default=PROTOCOL_VERSION, help=argparse.SUPPRESS
    )
    return parser


def _claim_stdout() -> BinaryIO:
    """Keep the real stdout for protocol messages; send everything else written to fd 1 to stderr."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "wb", buffering=0)


def _debug_hang_after() -> int | None:
    marker = os.environ.get(DEBUG_HANG_ENV, "")
    if marker and os.path.exists(marker):
        try:
            os.remove(marker)
        except OSError:
            return None
        return 1
    return None


def _yield_to_the_studio() -> None:
    """Render in the background: a lower CPU priority (inherited by Piper's worker processes) keeps
    the studio's GUI thread responsive while every core renders. ``CHORUS_ENGINE_NICE`` overrides."""
    try:
        os.nice(int(os.environ.get("CHORUS_ENGINE_NICE", "5")))
    except (AttributeError, OSError, ValueError):
        pass  # not POSIX, or not allowed: render at normal priority


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # `python -m engine serve …`: the HTTP server (engine.serve)
        from engine.serve import main as serve_main

        return serve_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        options: Any = json.loads(args.options)
    except json.JSONDecodeError as exc:
        print(f"chorus engine: --options is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(options, dict):
        print("chorus engine: --options must be a JSON object", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="engine %(levelname)s %(name)s: %(message)s"
    )
    events = _claim_stdout()
    _yield_to_the_studio()
    try:
        backend = create_backend(args.backend, options)
    except BackendError as exc:
        print(f"chorus engine: {exc}", file=sys.stderr)
        return 2
    hang_after = args.debug_hang_after if args.debug_hang_after is not None else _debug_hang_after()
    host = EngineHost(
        backend,
        events,
        take_subtype=args.take_subtype,
        protocol_version=args.debug_protocol_version,
        hang_after_finished=hang_after,
        recognizer=Recognizer(model=args.asr_model, device=args.asr_device),
    )
    return host.serve(sys.stdin.buffer)


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # don't wait for a backend thread stuck in native code
