"""The studio's own render checks every new take and re-rolls suspect ones, with the same
TakeChecker as the headless render (studio.render.checking): scores are stored with the takes,
the re-roll shows in the queue and a message says why."""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication
from ui_fakes import FakeEngineClient

from studio.core import ops
from studio.core.model import LineStatus
from studio.qa.scores import TakeScores
from studio.ui.qt_document import QtDocument
from studio.ui.qt_render_controller import QtRenderController


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting (hang guard)"
        QCoreApplication.processEvents()
        time.sleep(0.01)


def test_render_checks_takes_and_rerolls_a_suspect_one(qtbot, podcast, fake_client_factory):
    doc = QtDocument.open(podcast)
    doc.project.apply(ops.set_settings(qa_retries=1))
    bad, good = doc.project.line_order[:2]

    def factory(backend: str, options: dict) -> FakeEngineClient:
        client = fake_client_factory(backend, options)
        client.mishear[bad] = "something else entirely was said here instead"
        return client

    controller = QtRenderController(doc, factory)
    messages: list[str] = []
    controller.message.connect(messages.append)
    try:
        assert controller.render([bad, good]) == 2
        wait_for(lambda: not controller.busy)
        project = doc.project
        ok = TakeScores.from_json(project.takes[project.lines[good].selected_take].qa)
        assert ok is not None and ok.verdict == "ok" and project.lines[good].status == LineStatus.DONE
        assert len(project.lines[bad].takes) == 2  # the first take and one re-roll
        assert all(TakeScores.from_json(project.takes[k].qa).suspect for k in project.lines[bad].takes)
        assert (
            project.lines[bad].status == LineStatus.SUSPECT
            and "words differ" in project.lines[bad].status_detail
        )
        assert len(controller.job_order) == 3  # the re-roll is a job in the queue
        assert any(m.startswith(f"Re-rolled {bad}: re-rolled 1x") for m in messages)
        assert doc.undo_stack.count() == 0  # checks follow rendering: no undo steps
    finally:
        controller.shutdown()
        doc.close()


def test_no_checks_when_the_project_turns_them_off(qtbot, podcast, fake_client_factory):
    doc = QtDocument.open(podcast)
    doc.project.apply(ops.set_settings(qa_check=False))
    controller = QtRenderController(doc, fake_client_factory)
    line = doc.project.line_order[0]
    try:
        controller.render([line])
        wait_for(lambda: not controller.busy)
        assert doc.project.takes[doc.project.lines[line].selected_take].qa == ""
        assert controller.checker is None
    finally:
        controller.shutdown()
        doc.close()
