"""``chorus fx``: list and edit the effect chains of tracks and speakers (voices) from the command line.

    chorus fx list   PROJECT [--track NAME | --speaker NAME] [--json]
    chorus fx add    PROJECT --track NAME EFFECT [name=value ...] [--at N]
    chorus fx remove PROJECT --speaker NAME N
    chorus fx bypass PROJECT --track NAME N [--off]
    chorus fx set    PROJECT --track NAME N name=value ...
    chorus fx move   PROJECT --track NAME N TO
    chorus fx preset PROJECT --speaker NAME PRESET      (``chorus fx presets`` lists them; ``none`` clears)
    chorus fx kinds                                    (the effects and their parameters)
    chorus fx variants PROJECT [--upgrade]             (Piper variant style per speaker; --upgrade moves
                                                        older ones to the latest: their lines go stale)

Positions N count from 1 as ``fx list`` shows them. Each edit is the same undoable core edit the
studio makes (:mod:`studio.core.effects`), committed to the project as it is made.

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from studio.cli_common import CliError, _open


def _target(project: Any, args: argparse.Namespace) -> tuple[str, str, str]:
    """("track" | "speaker", id, name) from --track/--speaker (a name or an id, case-insensitive)."""
    if bool(args.track) == bool(args.speaker):
        raise CliError("name one --track or one --speaker")
    kind, wanted, records = (
        ("track", args.track, project.tracks) if args.track else ("speaker", args.speaker, project.speakers)
    )
    for record in records.values():
        if record.id == wanted or record.name.casefold() == wanted.casefold():
            return kind, record.id, record.name
    names = ", ".join(sorted(r.name for r in records.values())) or "none"
    raise CliError(f"no {kind} named {wanted!r} (the project has: {names})")


def _values(pairs: list[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliError(f"parameters are name=value, not {pair!r}")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise CliError(f"{name.strip()} must be a number, not {value!r}") from None
    return values


def _position(n: int) -> int:
    if n < 1:
        raise CliError("effect positions count from 1 (see `chorus fx list`)")
    return n - 1


def cmd_fx(args: argparse.Namespace) -> int:
    from studio.core import effects as fxc
    from studio.core.ops import EditError

    args = _options_parser().parse_intermixed_args(args.rest, argparse.Namespace(action=args.action))

    if args.action == "kinds":
        for spec in fxc.EFFECTS.values():
            params = ", ".join(f"{p.name}={p.default:g} [{p.low:g}..{p.high:g}]" for p in spec.params)
            print(f"{spec.kind:12} {spec.label}{' (voices only)' if spec.voice_only else ''}: {params}")
        return 0
    if args.action == "presets":
        for key, label in fxc.PRESET_LABELS.items():
            print(f"{label:16} {' → '.join(fxc.spec_of(f.kind).label for f in fxc.PRESETS[key])}")
        return 0
    if not args.project:
        raise CliError(f"fx {args.action} needs a PROJECT")
    pf = _open(args.project)
    try:
        project = pf.project
        if args.action == "list":
            return _list(project, args)
        if args.action == "variants":
            return _variants(project, args.upgrade)
        kind, target_id, name = _target(project, args)
        items = list(args.items)
        try:
            if args.action == "add":
                if not items:
                    raise CliError("fx add needs an EFFECT (see `chorus fx kinds`)")
                fx = fxc.effect(items[0], **_values(items[1:]))
                index = None if args.at is None else _position(args.at)
                op = fxc.add_effect(project, kind, target_id, fx, index)
            elif args.action == "remove":
                op = fxc.remove_effect(project, kind, target_id, _position(_int(items, 0, "N")))
            elif args.action == "bypass":
                op = fxc.set_bypass(project, kind, target_id, _position(_int(items, 0, "N")), not args.off)
            elif args.action == "set":
                op = fxc.set_param(
                    project, kind, target_id, _position(_int(items, 0, "N")), _values(items[1:])
                )
            elif args.action == "move":
                op = fxc.move_effect(
                    project, kind, target_id, _position(_int(items, 0, "N")), _position(_int(items, 1, "TO"))
                )
            elif args.action == "preset":
                if len(items) != 1:
                    raise CliError("fx preset needs one PRESET name (see `chorus fx presets`)")
                if items[0].casefold() in ("none", "clear"):
                    op = fxc.set_chain(project, kind, target_id, (), "Clear effects")
                else:
                    op = fxc.use_preset(project, kind, target_id, items[0])
            else:  # pragma: no cover - argparse limits the choices
                raise CliError(f"unknown fx action {args.action!r}")
        except EditError as exc:
            raise CliError(str(exc)) from None
        project.apply(op)
        chain = fxc.chain_of(project, kind, target_id)
        print(f"{op.label}: {kind} {name}: {len(chain)} effect(s)")
        for i, fx in enumerate(chain, 1):
            print(f"  {i}. {fxc.describe(fx)}")
        return 0
    finally:
        pf.close()


def _int(items: list[str], i: int, what: str) -> int:
    if len(items) <= i:
        raise CliError(f"missing {what} (an effect position, see `chorus fx list`)")
    try:
        return int(items[i])
    except ValueError:
        raise CliError(f"{what} must be a whole number, not {items[i]!r}") from None


def _variants(project: Any, upgrade: bool) -> int:
    from studio.core import effects as fxc
    from studio.core.model import LATEST_VARIANT_STYLE, VoiceKind

    if upgrade:
        op = fxc.upgrade_variants(project)
        if op.ops:
            project.apply(op)
        print(
            f"{len(op.ops)} voice(s) moved to variant style {LATEST_VARIANT_STYLE}; `chorus render` re-renders their lines"
        )
    for speaker in project.speakers.values():
        voice = speaker.voice
        if voice.kind == VoiceKind.PIPER:
            old = (
                " (older: `chorus fx variants PROJECT --upgrade`)"
                if voice.variant_style < LATEST_VARIANT_STYLE
                else ""
            )
            print(f"{speaker.name}: Piper variant {voice.variant}, style {voice.variant_style}{old}")
    return 0


def _list(project: Any, args: argparse.Namespace) -> int:
    from studio.core import effects as fxc
    from studio.core.codec import to_plain

    targets: list[tuple[str, str, str]]
    if args.track or args.speaker:
        targets = [_target(project, args)]
    else:
        targets = [("track", t.id, t.name) for t in project.tracks.values()]
        targets += [("speaker", s.id, s.name) for s in project.speakers.values()]
    if args.json:
        out = [
            {
                "target": kind,
                "id": tid,
                "name": name,
                "effects": to_plain(list(fxc.chain_of(project, kind, tid))),
                "tail_s": round(fxc.chain_tail(fxc.chain_of(project, kind, tid)), 3),
            }
            for kind, tid, name in targets
        ]
        print(json.dumps(out, indent=2))
        return 0
    for kind, tid, name in targets:
        chain = fxc.chain_of(project, kind, tid)
        print(f"{kind} {name}: {'no effects' if not chain else f'{len(chain)} effect(s)'}")
        for i, fx in enumerate(chain, 1):
            print(f"  {i}. {fxc.describe(fx)}")
    return 0


def _options_parser() -> argparse.ArgumentParser:
    """What follows the action; parsed intermixed, so options may come before or after the items."""
    p = argparse.ArgumentParser(prog="chorus fx ACTION", add_help=False)
    p.add_argument("project", nargs="?")
    p.add_argument("items", nargs="*")
    p.add_argument("--track")
    p.add_argument("--speaker")
    p.add_argument("--at", type=int)
    p.add_argument("--off", action="store_true")
    p.add_argument("--json", action="store_true")
    p.add_argument("--upgrade", action="store_true")
    return p


def register(sub: Any) -> None:
    p = sub.add_parser(
        "fx",
        help="effect chains of tracks and speakers: list, add, remove, bypass, set, move, preset, presets, kinds",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        epilog="options: --track NAME | --speaker NAME (name or id); --at N (fx add: position, 1 = first); "
        "--off (fx bypass: play the effect again); --json (fx list); --upgrade (fx variants)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "action",
        choices=["list", "add", "remove", "bypass", "set", "move", "preset", "presets", "kinds", "variants"],
    )
    p.add_argument("rest", nargs=argparse.REMAINDER, metavar="PROJECT [ITEMS] [OPTIONS]")
    p.set_defaults(func=cmd_fx)
