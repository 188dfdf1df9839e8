"""A render session: plan the jobs for some lines, then turn engine events into project changes.

Shared by the CLI and the studio UI (Qt-free). The session changes the project directly (line status,
takes, clips); those are not user edits, so they never go on the undo stack.

    session = RenderSession(project_file)
    jobs = session.prepare(line_ids=None)        # marks lines queued, returns RenderJobs to submit
    client.submit(jobs)
    for event in client events: session.handle(event)
    session.done  -> True when every job finished, failed or was cancelled

Thread contract: call on the thread that owns the project file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.protocol import RenderJob
from studio.core import ops
from studio.core.layout import layout_ops
from studio.core.model import LineStatus
from studio.core.store import ProjectFile
from studio.render.takes import PlannedJob, failed_ops, finished_ops, plan_render, refresh_status


@dataclass
class JobState:
    planned: PlannedJob
    state: str = "queued"  # queued | rendering | done | failed | cancelled
    fraction: float = 0.0
    reason: str = ""
    duration: float = 0.0


@dataclass
class RenderSession:
    project_file: ProjectFile
    layout: bool = True  # place finished takes on the timeline as they arrive
    jobs: dict[str, JobState] = field(default_factory=dict)
    started_at: float = 0.0
    reused: int = 0
    skipped: int = 0
    locked: int = 0  # locked lines left alone (never re-rendered)
    untranslated: int = 0  # lines without text in the language rendered
    ignored: tuple[str, ...] = ()  # what the backend cannot perform, once per feature (RenderPlan.ignored)

    @property
    def project(self) -> Any:
        return self.project_file.project

    @property
    def media_dir(self) -> Path:
        return self.project_file.media_dir

    # ---- planning --------------------------------------------------------------------------
    def prepare(
        self,
        line_ids: list[str] | None = None,
        *,
        new_take: bool = False,
        seed: int | None = None,
        continuity: bool = False,
        batch_size: int = 1,
        language: str = "",
    ) -> list[RenderJob]:
        """Plan the lines that need a take (in ``language``, "" = source); mark them queued; return the jobs."""
        self.project.apply(refresh_status(self.project, self.media_dir))
        plan = plan_render(
            self.project,
            self.media_dir,
            line_ids,
            new_take=new_take,
            seed=seed,
            continuity=continuity,
            batch_size=batch_size,
            language=language,
        )
        self.locked += len(plan.locked)
        self.untranslated += len(plan.untranslated)
        self.ignored = plan.ignored
        if plan.reuse.ops:
            self.project.apply(plan.reuse)
        self.reused += len(plan.reuse.ops)
        self.skipped += len(plan.skipped)
        queued = [ops.set_line_status(p.line_id, LineStatus.QUEUED) for p in plan.jobs]
        if queued:
            self.project.apply(ops.Batch(tuple(queued), "Queue lines"))
        for planned in plan.jobs:
            self.jobs[planned.job.job_id] = JobState(planned)
        if not self.started_at:
            self.started_at = time.monotonic()
        if self.layout and plan.reuse.ops:
            self.place()
        return [p.job for p in plan.jobs]

    # ---- events ----------------------------------------------------------------------------
    def handle(self, event: dict[str, Any]) -> JobState | None:
        """Apply one engine event; returns the job state it touched (None for other events)."""
        job = self.jobs.get(str(event.get("job_id", "")))
        if job is None:
            return None
        kind = event.get("type")
        line_id = job.planned.line_id
        if kind == "started" and job.state == "queued":
            job.state = "rendering"
            self.project.apply(ops.set_line_status(line_id, LineStatus.RENDERING))
        elif kind == "progress":
            job.fraction = float(event.get("fraction", 0.0))
        elif kind == "finished" and job.state not in ("done", "failed", "cancelled"):
            job.state = "done"
            job.fraction = 1.0
            job.duration = float(event.get("duration", 0.0))
            path = Path(str(event["path"]))
            media = path.name
            if path.parent.resolve() != self.media_dir.resolve():
                media = self.project_file.add_media(path)
            self.project.apply(
                finished_ops(
                    self.project,
                    job.planned,
                    media=media,
                    duration=job.duration,
                    sample_rate=int(event.get("sample_rate", 0)),
                    suspect=bool(event.get("suspect", False)),
                    note=str(event.get("note", "")),
                )
            )
            if self.layout:
                self.place()
        elif kind == "failed" and job.state not in ("done", "cancelled"):
            job.state = "failed"
            job.reason = str(event.get("reason", "unknown error"))
            self.project.apply(failed_ops(self.project, self.media_dir, line_id, job.reason))
        elif kind == "cancelled" and job.state in ("queued", "rendering"):
            job.state = "cancelled"
            self.project.apply(ops.set_line_status(line_id, LineStatus.STALE))
        else:
            return job
        return job

    def abandon(self) -> None:
        """Mark unfinished lines stale again (the user stopped, or the engine gave up)."""
        edits = []
        for job in self.jobs.values():
            if job.state in ("queued", "rendering"):
                job.state = "cancelled"
                edits.append(ops.set_line_status(job.planned.line_id, LineStatus.STALE))
        if edits:
            self.project.apply(ops.Batch(tuple(edits), "Abandon render"))

    def place(self) -> None:
        batch = layout_ops(self.project)
        if batch.ops:
            self.project.apply(batch)

    # ---- summary ---------------------------------------------------------------------------
    def count(self, state: str) -> int:
        return sum(1 for j in self.jobs.values() if j.state == state)

    @property
    def done(self) -> bool:
        return all(j.state in ("done", "failed", "cancelled") for j in self.jobs.values())

    @property
    def audio_seconds(self) -> float:
        return sum(j.duration for j in self.jobs.values())

    @property
    def fraction(self) -> float:
        if not self.jobs:
            return 1.0
        return sum(
            1.0 if j.state in ("done", "failed", "cancelled") else j.fraction for j in self.jobs.values()
        ) / len(self.jobs)

    def failures(self) -> list[tuple[str, str]]:
        return [(j.planned.line_id, j.reason) for j in self.jobs.values() if j.state == "failed"]
