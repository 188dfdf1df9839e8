"""Drives rendering for the studio: the Qt-free :class:`~studio.render.session.RenderSession` (plan →
queued → events → takes, status and layout) over the studio's one engine
(:class:`~studio.render.shared_engine.SharedEngine`, shared with the voice bank's audition).

The engine runs in its own process, started on demand (on a worker thread: the handshake waits) by the
shared engine, for the project's backend settings. The controller submits through its own lane (a
``keep_alive`` one: the model stays loaded while the project is open); a QTimer on the GUI thread drains
the lane's events and applies them within a time budget per tick, so a burst of finished takes never
stalls the GUI. Status changes from rendering are not user edits: the session applies them to the project
directly, and they never enter the undo stack.

Thread contract: GUI thread only (the engine start runs on a short-lived worker thread and reports
back through a queued signal).
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.model import LineStatus
from studio.qa.reroll import retries_for
from studio.render.checking import TakeChecker
from studio.render.session import JobState, RenderSession
from studio.render.shared_engine import STOPPED, ClientFactory, SharedEngine
from studio.ui.qt_document import QtDocument

POLL_MS = 40
BUDGET_S = 0.020  # at most this long applying events per tick
STATUS_EVERY_S = 3.0
PLACE_EVERY_MS = 250
NO_PROGRESS = -1.0  # progressChanged value of a line that is no longer rendering

__all__ = ["ClientFactory", "QtRenderController", "SharedEngine", "default_client_factory", "shared_engine"]


def default_client_factory(backend: str, options: dict[str, Any]) -> Any:
    from studio.render.checking import asr_args
    from studio.render.client import EngineClient

    return EngineClient(backend=backend, options=options, extra_args=asr_args(options))


def shared_engine(engine: SharedEngine | ClientFactory | None) -> tuple[SharedEngine, bool]:
    """``engine`` itself, or a new SharedEngine over a client factory (None = the default one);
    the flag says whether the caller made it (and so shuts it down)."""
    if isinstance(engine, SharedEngine):
        return engine, False
    return SharedEngine(engine or default_client_factory), True


class QtRenderController(QObject):
    jobsChanged = Signal()  # jobs were added (rows appear)
    jobChanged = Signal(str)  # one job's state or progress changed (job id)
    progressChanged = Signal(str, float)  # line id, fraction; NO_PROGRESS = no longer rendering
    engineChanged = Signal(str)  # a one-line engine status for the panel
    message = Signal(str)

    def __init__(
        self,
        doc: QtDocument,
        engine: SharedEngine | ClientFactory = default_client_factory,
        parent: QObject | None = None,
    ) -> None:
        """``engine``: the studio's SharedEngine, or a client factory for an engine of its own."""
        super().__init__(parent)
        self.doc = doc
        self.engine, self._owns_engine = shared_engine(engine)
        self.lane = self.engine.lane("render", keep_alive=True)
        self.session = RenderSession(doc.project_file, layout=False)
        # Take checks and re-rolls, exactly as the headless render (studio.render.run) does them.
        self.checker: TakeChecker | None = None
        self._reported: set[str] = set()  # lines whose re-roll summary was shown
        self.engine_text = "Engine not started"
        self.engine_status: dict[str, Any] = {}
        self.job_order: list[str] = []
        # The jobs of the current run (since the queue was last idle): the overall bar and the
        # "Rendered …" message count these, one per line, not every job of the session.
        self.run_jobs: list[str] = []
        self._announce = False
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
        """Cancel jobs (None = all of the render's, never an audition). Queued ones are dropped, running
        ones aborted; lines go stale."""
        self.lane.cancel(job_ids or None)
        self._timer.start()

    def stop(self) -> None:
        """Finish what is rendering now, drop the rest of the queue (finished takes are kept)."""
        self.lane.stop()
        self._timer.start()

    @property
    def client(self) -> Any:
        """The running engine's client (None while none runs); shared with the audition."""
        return self.engine.client

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
        fractions = [
            1.0 if j.state in ("done", "failed", "cancelled") else j.fraction for j in latest.values()
        ]
        fraction = sum(fractions) / len(fractions) if fractions else 1.0
        return states.count("done"), states.count("failed"), left, fraction

    def _announce_end(self) -> None:
        """Replace "Rendering N line(s)…" by what the run did, once it is over."""
        if not self._announce or self.busy:
            return
        self._announce = False
        done, failed, _, _ = self.run_summary()
        cancelled = (
            len({self.session.jobs[j].planned.line_id for j in self.run_jobs if j in self.session.jobs})
            - done
            - failed
        )
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
        return any(j.state in ("queued", "rendering") for j in self.session.jobs.values())

    # ---- engine --------------------------------------------------------------------------
    def _submit(self, jobs: list[Any]) -> None:
        settings = self.doc.project.settings
        self.lane.submit(jobs, settings.backend, settings.backend_options_dict())
        self._timer.setInterval(POLL_MS)
        self._timer.start()

    def _set_engine_text(self, text: str) -> None:
        if text != self.engine_text:
            self.engine_text = text
            self.engineChanged.emit(text)

    # ---- events --------------------------------------------------------------------------
    def poll(self) -> None:
        """Apply waiting engine events, for at most BUDGET_S (the rest waits for the next tick)."""
        deadline = time.monotonic() + BUDGET_S
        while time.monotonic() < deadline:
            events = self.lane.poll(0, limit=1)
            if not events:
                break
            for event in events:
                self._apply(event)
        if self.engine.state == STOPPED and not self.lane.outstanding and not self.lane.waiting:
            self._announce_end()
            self._timer.stop()
            return
        now = time.monotonic()
        if self.client is not None and now - self._last_status > STATUS_EVERY_S:
            self._last_status = now
            self.lane.request_status()
        self._announce_end()
        if not self.busy:
            self._timer.setInterval(POLL_MS * 10)  # idle: keep an eye on the engine, gently
        else:
            self._timer.setInterval(POLL_MS)

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "engine_status":
            self.engine_status = dict(event)
            loaded = "model loaded" if event.get("model_loaded") else "loading model"
            queue = int(event.get("queue_length", 0) or 0) + self.engine.held  # held: waiting in the studio
            device = event.get("device", "")
            self._set_engine_text(f"{event.get('backend', '')} · {device} · {loaded} · {queue} queued")
            return
        if kind == "engine_starting":
            self._set_engine_text(f"Starting the {event.get('backend', '')} engine…")
            return
        if kind == "engine_started":
            self._set_engine_text(f"{event.get('backend', '')} engine running")
            self.lane.request_status()
            return
        if kind == "engine_failed":
            reason = str(event.get("reason", ""))
            self._set_engine_text(reason)
            self.message.emit(reason)
            return
        if kind in ("accepted", "pong"):
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
        """Stop rendering (abandoning unfinished lines: they go back to stale); an engine of its own
        is stopped, the studio's shared one is left to the audition (it stops once idle)."""
        self._closed = True
        self._timer.stop()
        if self._place_timer.isActive():
            self.place()
        if any(j.state in ("queued", "rendering") for j in self.session.jobs.values()):
            try:
                self.session.abandon()
            except Exception:  # the project may already be closed
                pass
        self.lane.close()  # the engine stays for the audition; idle, it stops (see SharedEngine)
        if self._owns_engine:
            self.engine.shutdown(wait=wait)
