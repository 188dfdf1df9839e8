"""The studio and a project that is in use elsewhere or damaged: asked, never a dead end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from studio.core import ops
from studio.core.store import ProjectFile

HOLD = "import sys, time\nfrom studio.core.store import ProjectFile\npf = ProjectFile.open(sys.argv[1])\nprint('open', flush=True)\ntime.sleep(120)\n"


def test_a_project_open_elsewhere_opens_read_only_when_the_user_agrees(make_window, podcast: Path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(podcast)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        window = make_window()
        asked: list[str] = []
        window.ask = lambda title, text: asked.append(text) or False
        assert not window.open_project(podcast)
        assert f"pid {holder.pid}" in asked[0] and "read-only" in asked[0]
        window.ask = lambda title, text: True
        assert window.open_project(podcast)
        assert window.view.doc.project_file.read_only
    finally:
        holder.kill()
        holder.wait()


def test_a_damaged_project_is_restored_from_its_backup_when_the_user_agrees(make_window, podcast: Path):
    with ProjectFile.open(podcast) as pf:
        first = pf.project.line_order[0]
        pf.project.apply(ops.change_text(first, "Saved in the backup."))
        pf.backup_now()
    (podcast / "project.db").write_bytes(b"garbage" * 500)
    for side in ("project.db-wal", "project.db-shm"):
        (podcast / side).unlink(missing_ok=True)
    window = make_window()
    window.ask = lambda title, text: False
    assert not window.open_project(podcast)
    window.ask = lambda title, text: "Restore the backup" in text
    assert window.open_project(podcast)
    assert window.view.doc.project.lines[first].text == "Saved in the backup."


def test_edits_in_a_read_only_project_are_refused_and_leave_it_unchanged(make_window, podcast: Path):
    window = make_window()
    window.ask = lambda title, text: True
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(podcast)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        assert window.open_project(podcast)
        doc = window.view.doc
        first = doc.project.line_order[0]
        before = doc.project.lines[first].text
        failures: list[str] = []
        doc.editFailed.connect(failures.append)
        assert not doc.edit(ops.change_text(first, "Changed while read-only."))
        assert doc.project.lines[first].text == before and "read-only" in failures[0]
    finally:
        holder.kill()
        holder.wait()
