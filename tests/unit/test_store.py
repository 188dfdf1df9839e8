"""The project file: every edit committed as made; clear errors for newer, corrupt or incomplete projects."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from studio.core import ops
from studio.core.model import Clip, ScriptLine, Speaker, Track, Voice, VoiceKind
from studio.core.store import SCHEMA_VERSION, ProjectError, ProjectFile


def make(tmp_path: Path) -> ProjectFile:
    pf = ProjectFile.create(tmp_path / "show", title="Show")
    pf.project.apply(
        ops.Insert(
            Speaker(
                "a", "Alice", voice=Voice(VoiceKind.CLIP, transcript="hi", settings=(("temperature", 0.3),))
            )
        )
    )
    for i in range(3):
        pf.project.apply(ops.add_line(ScriptLine(f"L{i}", "a", f"text {i}")))
    return pf


def test_create_adds_suffix_and_reopens_everything(tmp_path: Path) -> None:
    pf = make(tmp_path)
    assert pf.root.name == "show.chorus"
    pf.project.apply(ops.move_line("L2", 0))
    pf.project.apply(ops.set_settings(gap_new_speaker=0.9))
    before = (pf.project.speakers, pf.project.lines, pf.project.line_order, pf.project.settings)
    pf.close()
    again = ProjectFile.open(tmp_path / "show.chorus")
    assert (
        again.project.speakers,
        again.project.lines,
        again.project.line_order,
        again.project.settings,
    ) == before
    assert again.project.speakers["a"].voice.settings_dict() == {"temperature": 0.3}


def test_every_edit_is_committed_without_close(tmp_path: Path) -> None:
    pf = make(tmp_path)
    pf.project.apply(ops.change_text("L1", "committed"))
    # A second connection (another process would see the same) reads the edit at once.
    other = ProjectFile.open(pf.root)
    assert other.project.lines["L1"].text == "committed"
    other.close()
    pf.close()


def test_media_is_content_addressed(tmp_path: Path) -> None:
    pf = make(tmp_path)
    a = pf.add_media(b"RIFF-one", ".wav")
    b = pf.add_media(b"RIFF-one", ".wav")
    c = pf.add_media(b"RIFF-two", ".wav")
    assert a == b != c
    assert pf.media_path(a).read_bytes() == b"RIFF-one"
    assert not [p for p in pf.media_dir.iterdir() if p.name.startswith(".")]


def test_newer_schema_is_refused_clearly(tmp_path: Path) -> None:
    pf = make(tmp_path)
    pf.close()
    con = sqlite3.connect(pf.root / "project.db")
    con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(ProjectError, match="newer Chorus"):
        ProjectFile.open(pf.root)


@pytest.mark.parametrize("damage", ["garbage", "truncate", "drop_table"])
def test_corrupt_database_is_refused_clearly(tmp_path: Path, damage: str) -> None:
    pf = make(tmp_path)
    pf.close()
    db = pf.root / "project.db"
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    if damage == "garbage":
        db.write_bytes(b"this is not sqlite" * 100)
    elif damage == "truncate":
        db.write_bytes(db.read_bytes()[:1500])
    else:
        con = sqlite3.connect(db)
        con.execute("DROP TABLE lines")
        con.commit()
        con.close()
    with pytest.raises(ProjectError, match="damaged"):
        ProjectFile.open(pf.root)


def test_missing_media_opens_with_clip_marked(tmp_path: Path) -> None:
    pf = make(tmp_path)
    name = pf.add_media(b"audio", ".wav")
    pf.project.apply(ops.Insert(Track("t", "T")))
    pf.project.apply(ops.Insert(Clip("c", "t", name, duration=1.0)))
    pf.close()
    (pf.media_dir / name).unlink()
    again = ProjectFile.open(pf.root)
    assert again.project.missing_media == {name}
    assert "c" in again.project.clips


def test_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="not a Chorus project"):
        ProjectFile.open(tmp_path)
    (tmp_path / "full.chorus").mkdir()
    (tmp_path / "full.chorus" / "x").write_text("x")
    with pytest.raises(ProjectError, match="not empty"):
        ProjectFile.create(tmp_path / "full.chorus")


def test_save_as_copies_database_and_media(tmp_path: Path) -> None:
    pf = make(tmp_path)
    name = pf.add_media(b"audio", ".wav")
    copy = pf.save_as(tmp_path / "copy")
    assert copy.root.name == "copy.chorus"
    assert copy.project.lines == pf.project.lines
    assert copy.media_path(name).read_bytes() == b"audio"
    copy.project.apply(ops.change_text("L0", "only in the copy"))
    assert pf.project.lines["L0"].text == "text 0"


BURST = textwrap.dedent(
    """
    import sys
    from studio.core import ops
    from studio.core.model import ScriptLine, Speaker
    from studio.core.store import ProjectFile
    pf = ProjectFile.create(sys.argv[1])
    pf.project.apply(ops.Insert(Speaker("a", "Alice")))
    pf.project.apply(ops.add_line(ScriptLine("L", "a", "start")))
    for i in range(1000):
        pf.project.apply(ops.change_text("L", f"edit {i}"))
        print(i, flush=True)
    print("done", flush=True)
    import time; time.sleep(60)
    """
)


def test_sigkill_mid_burst_keeps_every_committed_edit(tmp_path: Path) -> None:
    target = tmp_path / "burst.chorus"
    proc = subprocess.Popen(
        [sys.executable, "-c", BURST, str(target)], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert proc.stdout is not None
    last = -1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline().strip()
        if line == "done" or not line:
            break
        last = int(line.split()[0])
        if last >= 300:  # mid-burst
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert last >= 300
    pf = ProjectFile.open(target)
    text = pf.project.lines["L"].text
    committed = int(text.split()[1])
    # Every edit that the child had finished (it printed after apply returned) is there.
    assert committed >= last
    pf.close()


def test_create_on_a_file_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "notes.chorus").write_text("not a project")
    with pytest.raises(ProjectError, match="is a file"):
        ProjectFile.create(tmp_path / "notes.chorus")


def test_a_commit_that_fails_is_kept_for_the_next_one(tmp_path: Path) -> None:
    pf = make(tmp_path)
    blocker = sqlite3.connect(str(pf.root / "project.db"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
    pf.db.conn.execute("PRAGMA busy_timeout = 0")
    with pytest.raises(sqlite3.OperationalError):
        pf.project.apply(ops.change_text("L1", "first"))
    blocker.execute("ROLLBACK")
    blocker.close()
    pf.project.apply(ops.change_text("L2", "second"))  # this commit carries the failed one too
    other = ProjectFile.open(pf.root)
    assert (other.project.lines["L1"].text, other.project.lines["L2"].text) == ("first", "second")
    other.close()
    pf.close()
