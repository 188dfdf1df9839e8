"""Render a project's lines to the end, headless: plan, start the engine, submit, follow events.

``render_lines`` is the loop behind ``chorus render`` and :meth:`studio.api.Project.render` (the studio
runs the same session step by step from its event loop instead). Progress goes to an optional
callback; Ctrl+C / an exception stops the engine and keeps the takes that finished.

Thread contract: the thread that owns the project file; blocks until the render ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from studio.core import ops
from studio.core.store import ProjectFile


class RenderFailed(RuntimeError):
    """The render could not run at all (the engine did not start, an unknown line id)."""


@dataclass(frozen=True)
class RenderProgress:
    """What a progress callback is told: jobs finished of total, audio rendered, and what happens now."""

    finished: int
    total: int
    fraction: float
    audio_seconds: float
    detail: str = ""


@dataclass
class RenderOutcome:
    jobs: int = 0
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (line id, reason)
    up_to_date: int = 0
    audio_seconds: float = 0.0
    seconds: float = 0.0
    backend: str = ""
    events: list[str] = field(default_factory=list)  # engine restarts and similar notes
    checked: int = 0  # takes transcribed and scored (studio.qa)
    rerolls: list[str] = field(default_factory=list)  # what was re-rolled and why, one line per line
    suspect: list[str] = field(default_factory=list)  # line ids whose kept take is still suspect
    locked: int = 0  # locked lines left as they are (never re-rendered)
    untranslated: int = 0  # lines without text in the language rendered
    ignored: tuple[str, ...] = ()  # "direction not supported by piper (2 lines)", once per feature

    @property
    def speed(self) -> float:
        return self.audio_seconds / self.seconds if self.seconds > 0 else 0.0


def render_lines(
    project_file: ProjectFile,
    *,
    line_ids: list[str] | None = None,
    backend: str | None = None,
    new_take: bool = False,
    seed: int | None = None,
    continuity: bool | None = None,
    progress: Callable[[RenderProgress], None] | None = None,
    on_start: Callable[[int, int, str], None] | None = None,
    check: bool | None = None,
    retries: int | None = None,
    language: str = "",
) -> RenderOutcome:
    """Render what needs rendering; ``on_start(jobs, up_to_date, backend)`` is called once planned.

    ``check`` (default: the project's ``qa_check``) transcribes and scores every new take; a suspect
    one is re-rolled up to ``retries`` times (default: :func:`studio.qa.reroll.retries_for`).
    """
    from studio.qa.reroll import retries_for
    from studio.render.checking import TakeChecker, engine_args
    from studio.render.client import EngineClient, EngineError
    from studio.render.session import RenderSession

    project = project_file.project
    if backend and backend != project.settings.backend:
        project.apply(ops.set_settings(backend=backend))
    settings = project.settings
    options = settings.backend_options_dict()
    use_continuity = bool(options.get("continuity", False)) if continuity is None else continuity
    batch = int(options.get("batch_size", 1))
    # Takes are recorded as they arrive; the timeline is laid out once at the end (or on Ctrl+C),
    # not after every take (a full relayout per take is quadratic on long game scripts).
    session = RenderSession(project_file, layout=False)
    try:
        jobs = session.prepare(
            line_ids, new_take=new_take, seed=seed, continuity=use_continuity, batch_size=batch, language=language
        )
    except KeyError as exc:
        raise RenderFailed(str(exc).strip("'\"")) from None
    outcome = RenderOutcome(jobs=len(jobs), up_to_date=session.skipped + session.reused, backend=settings.backend)
    outcome.locked, outcome.untranslated = session.locked, session.untranslated
    outcome.ignored = session.ignored
    if on_start is not None:
        on_start(len(jobs), session.skipped, settings.backend)
    if not jobs:
        session.place()
        return outcome
    report = progress or (lambda _p: None)
    client = EngineClient(backend=settings.backend, options=options, extra_args=engine_args(project))
    do_check = settings.qa_check if check is None else check
    checker = TakeChecker(session, client.submit, retries_for(project, retries)) if do_check else None
    try:
        try:
            client.start()
        except EngineError as exc:
            session.abandon()
            session.place()
            raise RenderFailed(f"the engine did not start: {exc}") from None
        client.submit(jobs)
        while not session.done or (checker is not None and not checker.done):
            detail = ""
            for event in client.poll(0.25):
                kind = event.get("type")
                if kind == "engine_restarted":
                    outcome.events.append(f"engine restarted: {event.get('reason', '')}")
                elif kind == "load_progress":
                    detail = f"loading model {event.get('detail', '')}"
                state = session.handle(event)
                if checker is not None:
                    checker.handle(event, state)
            finished = session.count("done") + session.count("failed")
            total = len(session.jobs)
            report(RenderProgress(finished, total, session.fraction, session.audio_seconds, detail))
        report(RenderProgress(len(session.jobs), len(session.jobs), 1.0, session.audio_seconds, "done"))
    except BaseException:
        client.stop()
        session.abandon()
        session.place()
        raise
    finally:
        client.shutdown()
    session.place()
    outcome.done = session.count("done")
    outcome.jobs = len(session.jobs)
    if checker is not None:
        outcome.checked = checker.checked
        outcome.rerolls = checker.summary()
        outcome.suspect = checker.suspect_lines()
    outcome.failed = list(session.failures())
    outcome.audio_seconds = session.audio_seconds
    outcome.seconds = time.monotonic() - session.started_at
    return outcome
