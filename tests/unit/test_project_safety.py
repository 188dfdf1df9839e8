"""One writer per project, rolling backups with restore, and cleaning unreferenced media."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.core import ops
from studio.core.backups import list_backups
from studio.core.model import ScriptLine, Speaker
from studio.core.store import ProjectError, ProjectFile, ProjectLocked

HOLD = """
import sys, time
from studio.core.store import ProjectFile
pf = ProjectFile.open(sys.argv[1])
print("open", flush=True)
time.sleep(120)
"""


def chorus(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    return result


def make_project(path: Path, lines: int = 3) -> Path:
    with ProjectFile.create(path) as pf:
        pf.project.apply(ops.Insert(Speaker("a", "Ada")))
        for i in range(lines):
            pf.project.apply(ops.add_line(ScriptLine(f"L{i}", "a", f"Line {i}.")))
        return pf.root


def test_a_second_writer_is_refused_with_who_holds_it_and_readers_still_work(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(ProjectLocked) as refused:
            ProjectFile.open(root)
        message = str(refused.value)
        assert f"pid {holder.pid}" in message and socket.gethostname() in message and "read-only" in message
        refused_cli = chorus("lines", "set", str(root), "L0", "--text", "Changed.", code=2)
        assert f"pid {holder.pid}" in refused_cli.stderr
        assert "Line 0." in chorus("info", str(root)).stdout  # readers need no lock
        assert "L0" in chorus("lines", "list", str(root)).stdout
        with ProjectFile.open(root, read_only=True) as reader, pytest.raises(ProjectError, match="read-only"):
            reader.project.apply(ops.change_text("L0", "Nope."))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The holder died without closing: its lock is stale and taken over.
    chorus("lines", "set", str(root), "L0", "--text", "Changed.")
    with ProjectFile.open(root) as pf:
        assert pf.project.lines["L0"].text == "Changed."
    assert not (root / ".chorus-lock").exists()


def test_one_process_may_reopen_its_own_project(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    first = ProjectFile.open(root)
    second = ProjectFile.open(root)
    second.close()
    assert (root / ".chorus-lock").exists()  # still held by `first`
    first.close()
    assert not (root / ".chorus-lock").exists()


def test_a_damaged_database_is_restored_from_the_last_backup(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    with ProjectFile.open(root) as pf:
        pf.project.apply(ops.change_text("L1", "Edited before the backup."))
        pf.backup_now()
        time.sleep(1.1)  # backups are named by the second
        pf.project.apply(ops.change_text("L2", "Edited after the backup."))
    assert len(list_backups(root)) >= 1
    (root / "project.db").write_bytes(b"this is not a database" * 100)
    for side in ("project.db-wal", "project.db-shm"):
        (root / side).unlink(missing_ok=True)
    with pytest.raises(ProjectError, match="chorus restore"):
        ProjectFile.open(root)
    assert "Restored" in chorus("restore", str(root)).stdout
    with ProjectFile.open(root) as pf:
        assert pf.project.lines["L1"].text == "Edited before the backup."
        assert pf.project.lines["L2"].text == "Line 2."  # after the backup: not in it
    assert list(root.glob("project.db.replaced-*"))  # the damaged file is kept, not deleted


def test_backups_roll(tmp_path: Path) -> None:
    from studio.core import backups

    root = make_project(tmp_path / "p")
    with ProjectFile.open(root) as pf:
        for _ in range(backups.KEEP + 3):
            backups.make_backup(pf.db.conn, root)
    assert len(list_backups(root)) == backups.KEEP


def test_clean_lists_exactly_the_unreferenced_media(tmp_path: Path) -> None:
    from studio.core.model import Clip, Take, Track, Voice, VoiceKind

    root = make_project(tmp_path / "p")
    with ProjectFile.open(root) as pf:
        take_a = pf.add_media(b"RIFF take one")
        take_b = pf.add_media(b"RIFF take two, which replaced take one")
        music = pf.add_media(b"OggS music", ".ogg")
        clip = pf.add_media(b"RIFF reference clip")
        p = pf.project
        p.apply(ops.Insert(Take("k1", "L0", take_a, 1.0, 24000)))
        p.apply(ops.Insert(Take("k2", "L0", take_b, 1.0, 24000)))
        p.apply(ops.Insert(Track("t", "Music")))
        p.apply(ops.Insert(Clip("c", "t", music, duration=3.0)))
        p.apply(ops.Update("speaker", "a", (("voice", Voice(VoiceKind.CLIP, clip_media=clip, transcript="Hi.")),)))
        stray = [pf.add_media(b"RIFF left by a crashed import"), pf.add_media(b"RIFF a take of a removed record")]
    listed = chorus("clean", str(root), "--dry-run").stdout.split()
    assert sorted(n for n in listed if "." in n and len(n) > 20) == sorted(stray)
    assert all((root / "media" / n).exists() for n in stray)  # dry run
    chorus("clean", str(root))
    assert not any((root / "media" / n).exists() for n in stray)
    assert all((root / "media" / n).exists() for n in (take_a, take_b, music, clip))


def test_reading_an_older_project_leaves_its_file_as_it_was(tmp_path: Path) -> None:
    import hashlib
    import shutil

    source = Path(__file__).resolve().parents[1] / "data" / "projects" / "schema1.chorus"
    copy = tmp_path / "old.chorus"
    shutil.copytree(source, copy)
    before = hashlib.sha256((copy / "project.db").read_bytes()).hexdigest()
    with ProjectFile.open(copy, read_only=True) as pf:
        assert pf.project.lines  # upgraded in memory
    assert "Lines" in chorus("info", str(copy)).stdout or chorus("info", str(copy)).returncode == 0
    assert hashlib.sha256((copy / "project.db").read_bytes()).hexdigest() == before
    assert not (copy / ".chorus-lock").exists() and not (copy / "backups").exists()
