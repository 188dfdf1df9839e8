"""Check every take a render makes, and re-roll suspect ones with new seeds.

A :class:`TakeChecker` rides along a :class:`~studio.render.session.RenderSession`: each finished take
gets a transcribe job on the same engine; when the transcript is back the take is scored
(:mod:`studio.qa`) and the scores are stored with it. A suspect take is rendered again with the next
seed, up to ``retries`` times per line; the chain (first take + re-rolls) stops at the first ok take,
and the best-scoring take of the chain is selected — unless the line no longer selects a take of the
chain, which means the user picked another one: that pick is never replaced.

    checker = TakeChecker(session, submit=client.submit, retries=2)
    for event in events:
        state = session.handle(event)
        checker.handle(event, state)
    checker.done  -> no check or re-roll outstanding

Thread contract: the thread that owns the project file (as the session).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.protocol import Job
from studio.core.take_ops import pick_take, store_scores
from studio.qa.check import JOB_PREFIX, job_id_for, score_take, store, transcribe_job
from studio.qa.reroll import best_take
from studio.qa.scores import TakeScores
from studio.render.session import JobState, RenderSession


@dataclass
class Chain:
    """The takes one line got in this render: the first and its re-rolls, with their verdicts."""

    line_id: str
    keys: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why each suspect take was re-rolled
    pending: str = ""  # the take being checked or the job being rendered now
    kept: str = ""
    kept_ok: bool = True

    @property
    def rerolls(self) -> int:
        return max(0, len(self.keys) - 1)


@dataclass
class TakeChecker:
    session: RenderSession
    submit: Callable[[Sequence[Job]], None]
    retries: int = 0
    chains: dict[str, Chain] = field(default_factory=dict)
    checked: int = 0
    _checks: dict[str, str] = field(default_factory=dict)  # check job id -> take key

    @property
    def done(self) -> bool:
        return not self._checks and not any(c.pending for c in self.chains.values())

    def handle(self, event: dict[str, Any], state: JobState | None) -> None:
        """Follow one engine event (after the session handled it; ``state`` is what it returned)."""
        job_id = str(event.get("job_id", ""))
        kind = event.get("type")
        if job_id.startswith(JOB_PREFIX):
            if kind in ("finished", "failed", "cancelled") and job_id in self._checks:
                self._checked(self._checks.pop(job_id), event)
            return
        if state is None or kind not in ("finished", "failed", "cancelled"):
            return
        line_id = state.planned.line_id
        chain = self.chains.setdefault(line_id, Chain(line_id))
        if kind != "finished" or state.state != "done":
            chain.pending = ""
            self._conclude(chain)
            return
        key = state.planned.key
        chain.keys.append(key)
        chain.pending = key
        self._checks[job_id_for(key)] = key
        self.submit([transcribe_job(self.session.project, self.session.media_dir, key)])

    def _checked(self, key: str, event: dict[str, Any]) -> None:
        project = self.session.project
        take = project.takes.get(key)
        if take is None:
            return
        scores = score_take(project, self.session.media_dir, key, event)
        project.apply(store(project, key, scores))
        self.checked += 1
        chain = self.chains.get(take.line_id)
        if chain is None or chain.pending != key:
            return
        line = project.lines[take.line_id]
        user_picked = line.selected_take not in chain.keys
        if scores.suspect and chain.rerolls < self.retries and not user_picked:
            chain.reasons.append("; ".join(scores.reasons))
            jobs = self.session.prepare([take.line_id], new_take=True)
            if jobs:
                chain.pending = jobs[0].job_id
                self.submit(jobs)
                return
        chain.pending = ""
        self._conclude(chain)

    def _conclude(self, chain: Chain) -> None:
        """Select the chain's best take (if the line still selects one of the chain's takes)."""
        if not chain.keys:
            return
        project = self.session.project
        line = project.lines[chain.line_id]
        best = best_take(project, chain.keys)
        chain.kept = best if line.selected_take in chain.keys else line.selected_take
        scores = TakeScores.from_json(project.takes[best].qa) if best in project.takes else None
        chain.kept_ok = scores is None or not scores.suspect
        if line.selected_take in chain.keys and line.selected_take != best:
            project.apply(pick_take(project, chain.line_id, best))
        if scores is not None and line.selected_take in chain.keys:
            project.apply(store_scores(project, best, scores.to_json(), scores.suspect, "; ".join(scores.reasons)))

    def summary(self) -> list[str]:
        """One line per re-rolled line: how often, why, and what was kept."""
        out = []
        for chain in self.chains.values():
            if not chain.rerolls:
                continue
            project = self.session.project
            kept = project.takes.get(chain.kept)
            seed = f"seed {kept.seed}" if kept is not None else "nothing"
            verdict = "ok" if chain.kept_ok else "still suspect"
            why = " | ".join(chain.reasons)
            out.append(f"{chain.line_id}: re-rolled {chain.rerolls}x ({why}); kept {seed} ({verdict})")
        return out

    def suspect_lines(self) -> list[str]:
        return [c.line_id for c in self.chains.values() if c.keys and not c.kept_ok]


def engine_args(project: Any) -> list[str]:
    """Engine command-line arguments for take checks: the Whisper model named by the backend option
    ``asr_model`` (a size name, repo id or folder; default the bundled tiny.en)."""
    return asr_args(project.settings.backend_options_dict())


def asr_args(options: dict[str, Any]) -> list[str]:
    """:func:`engine_args` from the backend options alone (what an engine client factory is given)."""
    model = str(options.get("asr_model", "") or "")
    return ["--asr-model", model] if model else []


def transcribe(jobs: Sequence[Job], *, asr_model: str = "", timeout_s: float = 600.0) -> dict[str, dict[str, Any]]:
    """Run transcribe jobs on a light engine (Piper in-process, never a GPU model) and wait for them;
    returns each job's final event by job id. Raises :class:`~studio.render.client.EngineError`."""
    import time

    from studio.render.client import EngineClient

    client = EngineClient("piper", {"workers": 0}, extra_args=["--asr-model", asr_model] if asr_model else [])
    results: dict[str, dict[str, Any]] = {}
    client.start()
    try:
        client.submit(list(jobs))
        wanted = {job.job_id for job in jobs}
        deadline = time.monotonic() + timeout_s
        while wanted - set(results) and time.monotonic() < deadline:
            for event in client.poll(0.25):
                job_id = str(event.get("job_id", ""))
                if job_id in wanted and event.get("type") in ("finished", "failed", "cancelled"):
                    results[job_id] = event
                elif event.get("type") == "engine_gave_up":
                    for missing in wanted - set(results):
                        results[missing] = {"type": "failed", "job_id": missing, "reason": event.get("reason", "")}
    finally:
        client.shutdown()
    for missing in {job.job_id for job in jobs} - set(results):
        results[missing] = {"type": "failed", "job_id": missing, "reason": "transcription timed out"}
    return results
