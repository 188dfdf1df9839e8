"""``chorus backups``, ``chorus restore`` and ``chorus clean``: keeping a project safe and tidy.

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from studio.cli_common import CliError, _open


def cmd_backups(args: argparse.Namespace) -> int:
    from studio.core.backups import list_backups
    from studio.core.store import normalise_path

    root = normalise_path(args.project)
    if args.now:
        pf = _open(args.project)
        try:
            made = pf.backup_now()
        finally:
            pf.close()
        print(f"Backed up to {made.path.name} ({made.size / 1024:.0f} KiB)")
        return 0
    saved = list_backups(root)
    if args.json:
        print(json.dumps([{"file": str(b.path), "created": b.label, "bytes": b.size} for b in saved], indent=2))
        return 0
    if not saved:
        print(f"{root.name} has no backups yet (one is made when it is opened for editing)")
    for b in saved:
        print(f"{b.label}  {b.size / 1024:8.0f} KiB  {b.path.name}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Put a backup in place of project.db (the project must not be open anywhere)."""
    import sqlite3

    from studio.core import project_lock
    from studio.core.backups import list_backups, restore
    from studio.core.store import ProjectError, ProjectFile, normalise_path

    root = normalise_path(args.project)
    if not root.is_dir():
        raise CliError(f"{root} is not a Chorus project folder")
    chosen: Path | None = None
    if args.from_backup:
        chosen = Path(args.from_backup)
        if not chosen.is_absolute():
            chosen = root / "backups" / chosen.name
    try:
        project_lock.acquire(root)
    except project_lock.ProjectLockedError as exc:
        raise CliError(f"cannot restore while it is open: {exc}") from None
    try:
        used = restore(root, chosen)
    except (FileNotFoundError, sqlite3.DatabaseError) as exc:
        raise CliError(str(exc)) from None
    finally:
        project_lock.release(root)
    stamp = next((b.label for b in list_backups(root) if b.path == used), used.name)
    try:
        pf = ProjectFile.open(root, read_only=True)
    except ProjectError as exc:
        raise CliError(f"restored {used.name}, but it does not open: {exc}") from None
    lines = len(pf.project.lines)
    pf.close()
    print(f"Restored {root.name} from the backup of {stamp} ({lines} lines); the replaced database is kept beside it")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    """Remove media files that no record of the project references (takes, clips, voices, effects …)."""
    from studio.core.backups import referenced_media

    pf = _open(args.project, read_only=args.dry_run)
    try:
        files = {p.name: p for p in pf.media_dir.iterdir() if p.is_file() and not p.name.startswith(".")} if pf.media_dir.is_dir() else {}
        used = referenced_media(pf.db.conn, set(files))
        unused = sorted(set(files) - used)
        size = sum(files[name].stat().st_size for name in unused)
        result: dict[str, Any] = {"unused": unused, "bytes": size, "removed": not args.dry_run}
        if not args.dry_run:
            for name in unused:
                files[name].unlink()
    finally:
        pf.close()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for name in unused:
        print(name)
    verb = "would free" if args.dry_run else "freed"
    print(f"{len(unused)} unreferenced media file(s); {verb} {size / 1_048_576:.1f} MB")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("backups", help="list a project's backups (or make one now with --now)")
    p.add_argument("project")
    p.add_argument("--now", action="store_true", help="make a backup now")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_backups)

    p = sub.add_parser("restore", help="bring back a backup of project.db (default: the newest)")
    p.add_argument("project")
    p.add_argument("--from", dest="from_backup", metavar="BACKUP", help="a file name from `chorus backups`")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("clean", help="remove media files nothing in the project uses")
    p.add_argument("project")
    p.add_argument("--dry-run", action="store_true", help="only list them")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_clean)
