"""The mixer: a project rendered at the project rate, chunk by chunk, from any start.

Signal flow (ARCHITECTURE.md, Mix and export)::

    clip (resampled, sample-accurate) × clip gain × equal-power fades
      → track sum → ducking (music/humming under the dialogue side-chain)
      → track gain, constant-power pan, mute/solo → master gain (+ normalisation gain)
      → true-peak limiter (optional) → (frames, channels) float32

One mixer serves playback and export. :meth:`Mixdown.render` returns any range; consecutive calls
(``render(s, n)`` then ``render(s + n, m)``) reuse work and carry DSP state (ducking, limiter,
resampler streams), so chunked output equals a whole-buffer render to float32 rounding. A call that
does not continue the previous one (a seek) resets the state and re-primes it from a short pre-roll
(the ducking release, the limiter release), which gives the same result as an uninterrupted run.

Thread contract: a :class:`Mixdown` is used by one thread at a time (it owns caches and DSP state).
It reads a snapshot of the project taken at construction; after an edit, build a new one (cheap;
pass the same :class:`~studio.audio.sources.SourceCache` to keep decoded media).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.audio.ducking import Ducker, DuckingParams
from studio.audio.errors import DecodeError, MediaError
from studio.audio.gains import balance_gains, db_to_gain, pan_gains
from studio.audio.level_match import clip_speaker, speaker_gains_db
from studio.audio.limiter import LimiterSettings, TruePeakLimiter
from studio.audio.placement import PlacedClip, place_clip
from studio.audio.sources import SourceCache
from studio.core.model import Track, TrackKind
from studio.core.project import Project

# Frames per chunk of :meth:`Mixdown.chunks` (≈ 2.7 s at 48 kHz): big enough for numpy to be
# efficient, small enough to keep memory flat.
DEFAULT_CHUNK = 1 << 17

DUCKED_KINDS = (TrackKind.MUSIC, TrackKind.HUMMING)


@dataclass
class _TrackPlan:
    track: Track
    clips: list[PlacedClip]
    starts: list[int] = field(default_factory=list)
    max_len: int = 0
    mono_row: int = -1  # row of the mono sum in the track's raw signal (-1: none)
    stereo_row: int = -1  # first of two stereo rows (-1: none)
    rows: int = 0
    gain: float = 1.0
    ducker: Ducker | None = None


class _Rolling:
    """Caches the last rendered range of a signal so overlapping, advancing requests render once."""

    def __init__(self, render: Callable[[int, int], np.ndarray], rows: int) -> None:
        self._render = render
        self._a0 = 0
        self._data = np.zeros((rows, 0), dtype=np.float32)

    def get(self, a: int, b: int) -> np.ndarray:
        a0, b0 = self._a0, self._a0 + self._data.shape[1]
        if a0 <= a <= b0:
            data = self._data[:, a - a0 :]
            if b > b0:
                data = np.concatenate((data, self._render(b0, b - b0)), axis=1)
        else:
            data = self._render(a, b - a)
        self._a0, self._data = a, data
        return data[:, : b - a]


class Mixdown:
    """Renders the mix (or, with ``tracks``, the stems of some tracks) of a project.

    ``channels``/``sample_rate`` default to the project settings. ``gain_db`` is added after the
    master gain (loudness normalisation). ``limiter`` puts a true-peak limiter at the end.
    ``speaker_gain_db`` overrides per-speaker level matching (computed when the project asks for it).
    ``on_missing="silence"`` plays unreadable media as silence (listed in :attr:`missing`) instead
    of raising :class:`MediaError`.
    """

    def __init__(
        self,
        project: Project,
        media_resolver: Callable[[str], Path],
        channels: int | None = None,
        sample_rate: int | None = None,
        *,
        tracks: Iterable[str] | None = None,
        gain_db: float = 0.0,
        limiter: LimiterSettings | None = None,
        speaker_gain_db: Mapping[str, float] | None = None,
        sources: SourceCache | None = None,
        on_missing: str = "error",
    ) -> None:
        settings = project.settings
        self.sample_rate = int(sample_rate or settings.sample_rate)
        self.channels = int(channels or settings.channels)
        if self.channels not in (1, 2):
            raise ValueError(f"the mixer renders mono or stereo, not {self.channels} channels")
        if sources is not None and sources.sample_rate != self.sample_rate:
            raise ValueError("the source cache is for another sample rate")
        self._owns_sources = sources is None
        self.sources = sources or SourceCache(media_resolver, self.sample_rate)
        self.missing: set[str] = set()
        self._master = db_to_gain(settings.master_gain_db + gain_db)
        track_map = dict(project.tracks)
        lines = dict(project.lines)
        clips = dict(project.clips)
        if speaker_gain_db is None and settings.level_match_speakers:
            speaker_gain_db = speaker_gains_db(clips, track_map, lines, self.sources)
        self.speaker_gain_db = dict(speaker_gain_db or {})

        plans = {tid: _TrackPlan(track=t, clips=[]) for tid, t in track_map.items()}
        for clip in clips.values():
            plan = plans.get(clip.track_id)
            if plan is None:
                continue
            try:
                info = self.sources.info(clip.media)
            except DecodeError as exc:
                if on_missing != "silence":
                    raise MediaError(
                        f"The clip at {clip.start:.2f} s on track {plan.track.name!r} uses media "
                        f"{clip.media!r}, which cannot be used: {exc}"
                    ) from exc
                self.missing.add(clip.media)
                continue
            speaker = clip_speaker(clip, track_map, lines)
            pc = place_clip(
                clip, self.sample_rate, info.frames, speaker, self.speaker_gain_db.get(speaker, 0.0)
            )
            if pc is not None:
                plan.clips.append(pc)
                if info.channels == 1:
                    plan.mono_row = 0
                else:
                    plan.stereo_row = 0
        for plan in plans.values():
            plan.clips.sort(key=lambda c: (c.start, c.clip_id))
            plan.starts = [c.start for c in plan.clips]
            plan.max_len = max((c.frames for c in plan.clips), default=0)
            if plan.mono_row == 0 and plan.stereo_row == 0:
                plan.stereo_row = 1
            plan.rows = (plan.mono_row >= 0) + 2 * (plan.stereo_row >= 0)
            plan.gain = db_to_gain(plan.track.gain_db)
        self.length = max((c.end for p in plans.values() for c in p.clips), default=0)

        wanted = set(tracks) if tracks is not None else None
        any_solo = any(t.solo for t in track_map.values())

        def audible(t: Track) -> bool:
            if wanted is not None:
                return t.id in wanted
            return not t.mute and (t.solo or not any_solo)

        self._plans = [p for p in plans.values() if p.clips]
        self._audible = [p for p in self._plans if audible(p.track) and p.gain > 0]
        self._keys = [
            p for p in self._plans if p.track.kind == TrackKind.DIALOGUE and not p.track.mute and p.gain > 0
        ]
        if self._keys:
            for p in self._audible:
                d = p.track.ducking
                if p.track.kind in DUCKED_KINDS and d.enabled and d.depth_db < 0:
                    p.ducker = Ducker(DuckingParams.from_settings(d, self.sample_rate))
        self._duckers = [p.ducker for p in self._audible if p.ducker is not None]
        self._sc_ahead = max((d.lookahead for d in self._duckers), default=0)
        self._key_cache = {p.track.id: _Rolling(self._raw_renderer(p), p.rows) for p in self._keys}
        self._pm_next: int | None = None
        self._master_cache = _Rolling(self._premaster, self.channels)
        self._limiter = TruePeakLimiter(self.sample_rate, self.channels, limiter) if limiter else None
        self._lim_next: int | None = None

    # ---- public ---------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        return self.length / self.sample_rate

    def render(self, start: int, frames: int) -> np.ndarray:
        """The mix over frames ``[start, start+frames)``: float32 ``(frames, channels)``."""
        return np.ascontiguousarray(self.render_planar(start, frames).T)

    def render_planar(self, start: int, frames: int) -> np.ndarray:
        """As :meth:`render`, planar ``(channels, frames)`` (read-only: it may be a cache's view)."""
        frames = max(0, int(frames))
        start = int(start)
        if frames == 0:
            return np.zeros((self.channels, 0), dtype=np.float32)
        if self._limiter is None:
            planar = self._master_cache.get(start, start + frames)
        else:
            if start != self._lim_next:
                self._limiter.reset()
                p0 = max(0, start - self._limiter.preroll)
                if p0 < start:
                    self._limit(p0, start - p0)
            planar = self._limit(start, frames)
        return planar

    def chunks(
        self, chunk_frames: int = DEFAULT_CHUNK, start: int = 0, end: int | None = None, planar: bool = False
    ) -> Iterator[np.ndarray]:
        """Consecutive renders of ``[start, end)`` (default: the whole project) in chunks."""
        end = self.length if end is None else end
        render = self.render_planar if planar else self.render
        pos = start
        while pos < end:
            n = min(chunk_frames, end - pos)
            yield render(pos, n)
            pos += n

    def close(self) -> None:
        if self._owns_sources:
            self.sources.close()

    # ---- stages ---------------------------------------------------------------------------
    def _limit(self, start: int, frames: int) -> np.ndarray:
        assert self._limiter is not None
        lim = self._limiter
        x = self._master_cache.get(start - lim.history, start + frames + lim.lookahead)
        self._lim_next = start + frames
        return lim.process(x, frames)

    def _sidechain(self, a: int, n: int) -> np.ndarray:
        sc = np.zeros(n, dtype=np.float32)
        for p in self._keys:
            raw = self._key_cache[p.track.id].get(a, a + n)
            if p.mono_row >= 0:
                sc += raw[p.mono_row] * np.float32(p.gain)
            if p.stereo_row >= 0:
                s = p.stereo_row
                sc += (raw[s] + raw[s + 1]) * np.float32(0.5 * p.gain)
        return sc

    def _premaster(self, a: int, n: int) -> np.ndarray:
        """Everything up to the master gain (no limiter) over ``[a, a+n)``, planar float32."""
        if self._duckers and a != self._pm_next:
            for p in self._audible:
                if p.ducker is not None:
                    p.ducker.reset()
                    back = p.ducker.lookbehind
                    p.ducker.prime(self._sidechain(a - back, back))
        sc = self._sidechain(a, n + self._sc_ahead) if self._duckers else None
        out = np.zeros((self.channels, n), dtype=np.float32)
        for p in self._audible:
            cache = self._key_cache.get(p.track.id)
            raw = cache.get(a, a + n) if cache is not None else self._render_raw(p, a, n)
            if p.ducker is not None and sc is not None:
                g = p.ducker.process(sc, n)
                if g is not None:
                    raw = raw * g
            self._pan_into(out, p, raw)
        self._pm_next = a + n
        if self._master != 1.0:
            out *= np.float32(self._master)
        return out

    def _pan_into(self, out: np.ndarray, p: _TrackPlan, raw: np.ndarray) -> None:
        g = p.gain
        if self.channels == 1:
            if p.mono_row >= 0:
                out[0] += raw[p.mono_row] * np.float32(g)
            if p.stereo_row >= 0:
                s = p.stereo_row
                out[0] += (raw[s] + raw[s + 1]) * np.float32(0.5 * g)
            return
        if p.mono_row >= 0:
            cl, cr = pan_gains(p.track.pan)
            m = raw[p.mono_row]
            out[0] += m * np.float32(g * cl)
            out[1] += m * np.float32(g * cr)
        if p.stereo_row >= 0:
            bl, br = balance_gains(p.track.pan)
            s = p.stereo_row
            out[0] += raw[s] * np.float32(g * bl)
            out[1] += raw[s + 1] * np.float32(g * br)

    def _raw_renderer(self, p: _TrackPlan) -> Callable[[int, int], np.ndarray]:
        def render(a: int, n: int) -> np.ndarray:
            return self._render_raw(p, a, n)

        return render

    def _render_raw(self, p: _TrackPlan, a: int, n: int) -> np.ndarray:
        """A track's clips summed over ``[a, a+n)``, before track gain/pan: rows mono and/or L, R."""
        buf = np.zeros((p.rows, n), dtype=np.float32)
        lo = bisect.bisect_right(p.starts, a - p.max_len)
        hi = bisect.bisect_left(p.starts, a + n)
        for pc in p.clips[lo:hi]:
            if pc.end <= a:
                continue
            o0, o1 = max(a, pc.start), min(a + n, pc.end)
            data = self.sources.get(pc.media, pc.clip_id).read(pc.source_start + o0 - pc.start, o1 - o0)
            gain = pc.envelope(o0 - pc.start, o1 - o0)
            env = gain.astype(np.float32) if isinstance(gain, np.ndarray) else np.float32(gain)
            if data.shape[0] == 1:
                buf[p.mono_row, o0 - a : o1 - a] += data[0] * env
            else:
                s = p.stereo_row
                buf[s : s + 2, o0 - a : o1 - a] += data * env
        return buf
