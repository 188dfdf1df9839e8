"""Drives rendering for the studio: the Qt-free :class:`~studio.render.session.RenderSession` (plan →
queued → events → takes, status and layout) over the :class:`~studio.render.client.EngineClient`.

The engine runs in its own process. Starting it waits for a handshake, so :meth:`render` starts it
on a worker thread and submits when it is up; a QTimer on the GUI thread drains ``client.poll(0)``
and applies events within a time budget per tick, so a burst of finished takes never stalls the
GUI. Status changes from rendering are not user edits: the session applies them to the project
directly, and they never enter the undo stack.

Thread contract: GUI thread only (the engine start runs on a short-lived worker thread and reports
back through a queued signal).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.model import LineStatus
from studio.qa.reroll import retries_for
from studio.render.checking import TakeChecker
from studio.render.session import JobState, RenderSession
from studio.ui.qt_document import QtDocument

POLL_MS = 40
BUDGET_S = 0.020  # at most this long applying events per tick
STATUS_EVERY_S = 3.0
PLACE_EVERY_MS = 250
NO_PROGRESS = -1.0  # progressChanged value of a line that is no longer rendering

ClientFactory = Callable[[str, dict[str, Any]], Any]


def default_client_factory(backend: str, options: dict[str, Any]) -> Any:
    from studio.render.checking import asr_args
    from studio.render.client import EngineClient

    return EngineClient(backend=backend, options=options, extra_args=asr_args(options))


class QtRenderController(QObject):
    jobsChanged = Signal()  # jobs were added (rows appear)
    jobChanged = Signal(str)  # one job's state or progress changed (job id)
    progressChanged = Signal(str, float)  # line id, fraction; NO_PROGRESS = no longer rendering
    engineChanged = Signal(str)  # a one-line engine status for the panel
    message = Signal(str)

    def __init__(
        self,
        doc: QtDocument,
        client_factory: ClientFactory = default_client_factory,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.doc = doc
        self.client_factory = client_factory
        self.session = RenderSession(doc.project_file, layout=False)
        # Take checks and re-rolls, exactly as the headless render (studio.render.run) does them.
        self.checker: TakeChecker | None = None
        self._reported: set[str] = set()  # lines whose re-roll summary was shown
        self.client: Any = None
        self.engine_text = "Engine not started"
        self.engine_status: dict[str, Any] = {}
        self.job_order: list[str] = []
        # The jobs of the current run (since the queue was last idle): the overall bar and the
        # "Rendered …" message count these, one per line, not every job of the session.
        self.run_jobs: list[str] = []
        self._announce = False
        self._client_key: tuple[str, str] | None = None
        self._starting = False
        self._start_future: Future[Any] | None = None
        self._pending: list[Any] = []  # jobs waiting for the engine to start
        self._last_status = 0.0
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        # Finished takes are placed on the timeline in batches: layout walks the whole script, so
        # running it once per take would cost O(lines²) during a long render.
        self._place_timer = QTimer(self)
        self._place_timer.setSingleShot(True)
        self._place_timer.setInterval(PLACE_EVERY_MS)
        self._place_timer.timeout.connect(self.place)

    # ---- what to render ------------------------------------------------------------------
    def render(self, line_ids: list[str] | None = None, *, new_take: bool = False) -> int:
        """Plan and queue lines (None = every line that needs a take); returns the number of jobs."""
        options = self.doc.project.settings.backend_options_dict()
        continuity = bool(options.get("continuity", False))
        batch = int(options.get("batch_size", 1) or 1)
        try:
            jobs = self.session.prepare(line_ids, new_take=new_take, continuity=continuity, batch_size=batch)
        except KeyError as exc:
            self.message.emit(f"Cannot render: {str(exc).strip(chr(39))}")
            return 0
        if not jobs:
            self.place()
            self.message.emit("Nothing to render: every line has a current take")
            return 0
        if self.session.reused:
            self._place_timer.start()
        self._arm_checker()
        if self.checker is not None:
            for job in jobs:  # a new render of a line starts a new re-roll chain
                chain = self.checker.chains.get(job.line_id)
                if chain is not None and not chain.pending:
                    del self.checker.chains[job.line_id]
                    self._reported.discard(job.line_id)
        self._queue_jobs(jobs)
        self.message.emit(f"Rendering {len(jobs)} line(s) with {self.doc.project.settings.backend}")
        return len(jobs)

    def _queue_jobs(self, jobs: list[Any]) -> None:
        if not self._announce:  # a new run
            self.run_jobs = []
        self._announce = True
        for job in jobs:
            if job.job_id not in self.job_order:
                self.job_order.append(job.job_id)
            if job.job_id not in self.run_jobs:
                self.run_jobs.append(job.job_id)
        self.jobsChanged.emit()
        for job in jobs:
            self.progressChanged.emit(job.line_id, 0.0)
        self._submit(jobs)

    def _arm_checker(self) -> None:
        """Check new takes when the project says so (``qa_check``), with its current re-roll count."""
        project = self.doc.project
        if not project.settings.qa_check:
            self.checker = None
            return
        if self.checker is None:
            self.checker = TakeChecker(self.session, self._submit_for_checker)
        self.checker.retries = retries_for(project)

    def _submit_for_checker(self, jobs: Any) -> None:
        """The checker's transcribe jobs go straight to the engine; its re-rolls show in the queue."""
        jobs = list(jobs)
        renders = [job for job in jobs if job.job_id in self.session.jobs]
        if renders:
            self._queue_jobs(renders)
        checks = [job for job in jobs if job.job_id not in self.session.jobs]
        if checks:
            self._submit(checks)

    def render_stale(self) -> int:
        return self.render(None)

    def render_selection(self) -> int:
        lines = list(self.doc.selected_lines)
        if not lines:
            self.message.emit("Select lines in the script to render them")
            return 0
        return self.render(lines)

    def new_take(self) -> int:
        lines = list(self.doc.selected_lines)
        if not lines:
            self.message.emit("Select lines in the script to render a new take")
            return 0
        return self.render(lines, new_take=True)

    def retry_failed(self) -> int:
        failed = [line.id for line in self.doc.project.ordered_lines() if line.status == LineStatus.FAILED]
        if not failed:
            self.message.emit("No failed lines")
            return 0
        return self.render(failed)

    def cancel(self, job_ids: list[str] | None = None) -> None:
        """Cancel jobs (None = all). Queued ones are dropped, running ones aborted; lines go stale."""
        pending_ids = {j.job_id for j in self._pending}
        targets = set(job_ids) if job_ids else pending_ids | set(self.job_order)
        dropped = [j for j in self._pending if j.job_id in targets]
        self._pending = [j for j in self._pending if j.job_id not in targets]
        for job in dropped:
            self._apply({"type": "cancelled", "job_id": job.job_id})
        if self.client is not None:
            self.client.cancel(job_ids or None)

    def stop(self) -> None:
        """Finish what is rendering now, drop the rest of the queue (finished takes are kept)."""
        for job in self._pending:
            self._apply({"type": "cancelled", "job_id": job.job_id})
        self._pending = []
        if self.client is not None:
            self.client.stop()

    def job(self, job_id: str) -> JobState | None:
        return self.session.jobs.get(job_id)

    def run_summary(self) -> tuple[int, int, int, float]:
        """(done, failed, left, fraction) of the current run, one per line (its latest job)."""
        latest: dict[str, JobState] = {}
        for job_id in self.run_jobs:
            job = self.session.jobs.get(job_id)
            if job is not None:
                latest[job.planned.line_id] = job
        states = [j.state for j in latest.values()]
        left = sum(1 for s in states if s in ("queued", "rendering"))
        fractions = [1.0 if j.state in ("done", "failed", "cancelled") else j.fraction for j in latest.values()]
        fraction = sum(fractions) / len(fractions) if fractions else 1.0
        return states.count("done"), states.count("failed"), left, fraction

    def _announce_end(self) -> None:
        """Replace "Rendering N line(s)…" by what the run did, once it is over."""
        if not self._announce or self.busy or self._pending:
            return
        self._announce = False
        done, failed, _, _ = self.run_summary()
        cancelled = len({self.session.jobs[j].planned.line_id for j in self.run_jobs if j in self.session.jobs}) - done - failed
        parts = [f"Rendered {done} line(s)"]
        if failed:
            parts.append(f"{failed} failed (see the render queue)")
        if cancelled > 0:
            parts.append(f"{cancelled} stopped")
        self.message.emit(" · ".join(parts))

    @property
    def busy(self) -> bool:
        if self.checker is not None and not self.checker.done:
            return True
        return self._starting or any(j.state in ("queued", "rendering") for j in self.session.jobs.values())

    # ---- engine --------------------------------------------------------------------------
    def _submit(self, jobs: list[Any]) -> None:
        settings = self.doc.project.settings
        options = settings.backend_options_dict()
        key = (settings.backend, repr(sorted(options.items())))
        if self.client is not None and (self._client_key != key or not self.client.running):
            self._retire_client()
        if self.client is not None:
            try:
                self.client.submit(jobs)
                self._timer.start()
                return
            except Exception as exc:  # EngineNotRunning: it gave up; start a fresh one
                self.message.emit(f"Restarting the engine: {exc}")
                self._retire_client()
        self._pending.extend(jobs)
        if not self._starting:
            self._starting = True
            self._client_key = key
            self._set_engine_text(f"Starting the {settings.backend} engine…")
            backend, opts = settings.backend, dict(options)
            self._start_future = Future()
            threading.Thread(
                target=self._start_client,
                args=(backend, opts, self._start_future),
                name="chorus-engine-start",
                daemon=True,
            ).start()
        self._timer.start()

    def _start_client(self, backend: str, options: dict[str, Any], result: Future[Any]) -> None:
        """Worker thread: build and start the client (waits for the handshake); the GUI polls ``result``."""
        client = None
        try:
            client = self.client_factory(backend, options)
            client.start()
            error = ""
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            if client is not None:
                try:
                    client.shutdown(timeout=2.0)
                except Exception:
                    pass
            client = None
        result.set_result((client, error))

    def _on_started(self, client: Any, error: str) -> None:
        self._starting = False
        self._start_future = None
        if self._closed:
            if client is not None:
                threading.Thread(target=client.shutdown, daemon=True).start()
            return
        if client is None:
            reason = f"The render engine did not start: {error}"
            self._set_engine_text(reason)
            for job in self._pending:
                self._apply({"type": "failed", "job_id": job.job_id, "reason": reason})
            self._pending = []
            self.message.emit(reason)
            return
        self.client = client
        hello = getattr(client, "hello", {}) or {}
        self._set_engine_text(f"{hello.get('backend', self.doc.project.settings.backend)} engine running")
        jobs, self._pending = self._pending, []
        if jobs:
            client.submit(jobs)
        client.request_status()

    def _retire_client(self) -> None:
        """Stop using the current engine (backend changed, or it gave up): apply what it already
        reported, cancel what it still had (those lines go back to stale), shut it down in the background."""
        client, self.client = self.client, None
        if client is None:
            return
        for event in client.poll(0):
            self._apply(event)
        for job_id in list(getattr(client, "outstanding", ())):
            self._apply({"type": "cancelled", "job_id": job_id})
        threading.Thread(target=client.shutdown, name="chorus-engine-stop", daemon=True).start()

    def _set_engine_text(self, text: str) -> None:
        if text != self.engine_text:
            self.engine_text = text
            self.engineChanged.emit(text)

    # ---- events --------------------------------------------------------------------------
    def poll(self) -> None:
        """Apply waiting engine events, for at most BUDGET_S (the rest waits for the next tick)."""
        if self._start_future is not None and self._start_future.done():
            self._on_started(*self._start_future.result())
        client = self.client
        if client is None:
            if not self._starting and not self._pending:
                self._timer.stop()
            return
        deadline = time.monotonic() + BUDGET_S
        while time.monotonic() < deadline:
            events = client.poll(0, limit=1)
            if not events:
                break
            for event in events:
                self._apply(event)
        now = time.monotonic()
        if now - self._last_status > STATUS_EVERY_S:
            self._last_status = now
            client.request_status()
        self._announce_end()
        if not self.busy and not self._pending:
            self._timer.setInterval(POLL_MS * 10)  # idle: keep an eye on the engine, gently
        else:
            self._timer.setInterval(POLL_MS)

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "engine_status":
            self.engine_status = dict(event)
            loaded = "model loaded" if event.get("model_loaded") else "loading model"
            queue = event.get("queue_length", 0)
            device = event.get("device", "")
            self._set_engine_text(f"{event.get('backend', '')} · {device} · {loaded} · {queue} queued")
            return
        if kind == "load_progress":
            fraction = float(event.get("fraction", 0.0))
            self._set_engine_text(f"Loading model {fraction * 100:.0f} % {event.get('detail', '')}".strip())
            return
        if kind == "engine_restarted":
            self.message.emit(f"The engine was restarted ({event.get('reason', '')}); re-rendering its jobs")
            self._set_engine_text(f"Engine restarted (attempt {event.get('attempt', '?')})")
            for job_id in event.get("resubmitted", []):
                job = self.session.jobs.get(job_id)
                if job is not None:
                    job.fraction = 0.0
                    self.progressChanged.emit(job.planned.line_id, 0.0)
                    self.jobChanged.emit(job_id)
            return
        if kind == "engine_gave_up":
            self._set_engine_text("Engine stopped after repeated failures")
            self.message.emit(str(event.get("reason", "")))
            return
        if kind == "error":
            self.message.emit(f"Engine: {event.get('reason', '')}")
            return
        job = self.session.handle(event)
        if self.checker is not None:
            self.checker.handle(event, job)
            self._report_rerolls()
        if job is None:
            return
        line_id = job.planned.line_id
        if kind == "finished" and not self._place_timer.isActive():
            self._place_timer.start()
        if job.state in ("done", "failed", "cancelled"):
            self.progressChanged.emit(line_id, NO_PROGRESS)
        else:
            self.progressChanged.emit(line_id, job.fraction)
        self.jobChanged.emit(job.planned.job.job_id)

    def _report_rerolls(self) -> None:
        """Say once per line what was re-rolled and why, when its chain is settled."""
        checker = self.checker
        if checker is None:
            return
        for chain in checker.chains.values():
            if chain.rerolls and not chain.pending and chain.line_id not in self._reported:
                self._reported.add(chain.line_id)
                line = next((text for text in checker.summary() if text.startswith(f"{chain.line_id}:")), "")
                if line:
                    self.message.emit(f"Re-rolled {line}")

    def place(self) -> None:
        """Lay the finished takes out on the timeline (not an undo step: it follows rendering)."""
        self._place_timer.stop()
        try:
            self.session.place()
        except Exception as exc:  # a layout problem must not stop rendering
            self.message.emit(f"Cannot place the rendered takes: {exc}")

    # ---- lifetime ------------------------------------------------------------------------
    def shutdown(self, wait: bool = True) -> None:
        """Stop the engine (abandoning unfinished lines: they go back to stale)."""
        self._closed = True
        self._timer.stop()
        if self._place_timer.isActive():
            self.place()
        self._pending = []
        if any(j.state in ("queued", "rendering") for j in self.session.jobs.values()):
            try:
                self.session.abandon()
            except Exception:  # the project may already be closed
                pass
        future, self._start_future = self._start_future, None
        if future is not None:  # an engine still starting: stop it once it is up
            future.add_done_callback(_shutdown_started_client)
        client, self.client = self.client, None
        if client is not None:
            if wait:
                client.shutdown(timeout=5.0)
            else:
                threading.Thread(target=client.shutdown, daemon=True).start()


def _shutdown_started_client(future: Future[Any]) -> None:
    client, _error = future.result()
    if client is not None:
        client.shutdown(timeout=2.0)
