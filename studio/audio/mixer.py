"""The mixer: a project rendered at the project rate, chunk by chunk, from any start.

Signal flow (ARCHITECTURE.md, Mix and export)::

    clip (resampled, sample-accurate) × clip gain × equal-power fades → the voice's effect chain
      → track sum → the track's effect chain (insert) → ducking (music/humming under the dialogue side-chain)
      → track gain, constant-power pan, mute/solo → master gain (+ normalisation gain)
      → true-peak limiter (optional) → (frames, channels) float32

One mixer serves playback and export. :meth:`Mixdown.render` returns any range; consecutive calls
(``render(s, n)`` then ``render(s + n, m)``) reuse work and carry DSP state (ducking, limiter,
resampler streams, track effect chains), so chunked output equals a whole-buffer render to float32
rounding. A call that does not continue the previous one (a seek) resets the state and re-primes it
from a short pre-roll (the ducking release, the limiter release, an effect chain's tail), which gives
the same result as an uninterrupted run (for a chain, to within its decay over the pre-roll).

A voice's chain runs over each of its clips whole (:func:`~studio.audio.effects.process_clip`), so its
reverb or delay tail extends the clip's audible end; a track's chain streams over the track's sum.

Thread contract: a :class:`Mixdown` is used by one thread at a time (it owns caches and DSP state).
It reads a snapshot of the project taken at construction; after an edit, build a new one (cheap;
pass the same :class:`~studio.audio.sources.SourceCache` to keep decoded media).
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.audio.ducking import Ducker, DuckingParams
from studio.audio.effects import ChainStream, process_clip, tail_frames
from studio.audio.errors import DecodeError, MediaError
from studio.audio.gains import balance_gains, db_to_gain, pan_gains
from studio.audio.level_match import clip_speaker, speaker_gains_db
from studio.audio.limiter import LimiterSettings, TruePeakLimiter
from studio.audio.placement import PlacedClip, place_clip
from studio.audio.sources import SourceCache
from studio.core.effects import active
from studio.core.model import Effect, Track, TrackKind
from studio.core.project import Project

# Frames per chunk of :meth:`Mixdown.chunks` (≈ 2.7 s at 48 kHz): big enough for numpy to be
# efficient, small enough to keep memory flat.
DEFAULT_CHUNK = 1 << 17

DUCKED_KINDS = (TrackKind.MUSIC, TrackKind.HUMMING)

# Bytes of clips processed through their voice's chain kept for reuse (a clip spans a few chunks).
FX_CACHE_BYTES = 64 * 1024 * 1024
# Longest pre-roll a track chain is re-primed with after a seek (seconds).
FX_MAX_PREROLL_S = 5.0


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
    clip_fx: dict[str, tuple[tuple[Effect, ...], int]] = field(default_factory=dict)  # clip → (chain, tail)
    streams: dict[int, ChainStream] = field(default_factory=dict)  # row group → the track's chain
    fx_next: int | None = None  # where the track chain's state continues
    fx_preroll: int = 0


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

    :attr:`length` is the end of the last clip on any track, muted ones included, in frames, so a
    mix and its stems line up. Iterating a Mixdown yields :meth:`chunks` of the whole project.
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
        voice_fx = {
            sid: active(s.voice.effects) for sid, s in project.speakers.items() if active(s.voice.effects)
        }
        self._fx_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._fx_bytes = 0

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
                if speaker in voice_fx:
                    chain = voice_fx[speaker]
                    plan.clip_fx[pc.clip_id] = (chain, tail_frames(chain, self.sample_rate))
                if info.channels == 1:
                    plan.mono_row = 0
                else:
                    plan.stereo_row = 0
        for plan in plans.values():
            plan.clips.sort(key=lambda c: (c.start, c.clip_id))
            plan.starts = [c.start for c in plan.clips]
            plan.max_len = max((c.frames + self._clip_tail(plan, c) for c in plan.clips), default=0)
            if plan.mono_row == 0 and plan.stereo_row == 0:
                plan.stereo_row = 1
            plan.rows = (plan.mono_row >= 0) + 2 * (plan.stereo_row >= 0)
            plan.gain = db_to_gain(plan.track.gain_db)
            track_fx = active(plan.track.effects)
            if track_fx and plan.clips:
                for group, width in ((plan.mono_row, 1), (plan.stereo_row, 2)):
                    if group >= 0:
                        plan.streams[group] = ChainStream(track_fx, self.sample_rate, width)
                tail = tail_frames(track_fx, self.sample_rate)
                plan.fx_preroll = min(
                    tail + self.sample_rate // 2, round(FX_MAX_PREROLL_S * self.sample_rate)
                )
        self.length = max((self._track_end(p) for p in plans.values() if p.clips), default=0)

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
        self.limited = False  # the limiter changed the last rendered range

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
        self.limited = False
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

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.chunks()

    def close(self) -> None:
        if self._owns_sources:
            self.sources.close()

    # ---- effects --------------------------------------------------------------------------
    @staticmethod
    def _clip_tail(p: _TrackPlan, pc: PlacedClip) -> int:
        fx = p.clip_fx.get(pc.clip_id)
        return fx[1] if fx is not None else 0

    def _track_end(self, p: _TrackPlan) -> int:
        """Where a track falls silent: its last clip's end, with voice and track chain tails."""
        end = max(c.end + self._clip_tail(p, c) for c in p.clips)
        if p.streams:
            end += next(iter(p.streams.values())).tail
        return end

    def _processed_clip(self, p: _TrackPlan, pc: PlacedClip) -> np.ndarray:
        """A clip (gain and fades applied) through its voice's chain, tail included; cached."""
        cached = self._fx_cache.get(pc.clip_id)
        if cached is not None:
            self._fx_cache.move_to_end(pc.clip_id)
            return cached
        chain, _tail = p.clip_fx[pc.clip_id]
        data = self.sources.get(pc.media, pc.clip_id).read(pc.source_start, pc.frames)
        env = pc.envelope(0, pc.frames)
        dry = data * (env.astype(np.float32) if isinstance(env, np.ndarray) else np.float32(env))
        wet = process_clip(chain, dry, self.sample_rate)
        wet.setflags(write=False)
        self._fx_cache[pc.clip_id] = wet
        self._fx_bytes += wet.nbytes
        while self._fx_bytes > FX_CACHE_BYTES and len(self._fx_cache) > 1:
            _, old = self._fx_cache.popitem(last=False)
            self._fx_bytes -= old.nbytes
        return wet

    def _render_track(self, p: _TrackPlan, a: int, n: int, silent_none: bool = False) -> np.ndarray | None:
        """A track's signal before gain/pan over ``[a, a+n)``: its clips summed, through its chain.

        The chain's state continues from the previous call when this one starts where that ended;
        otherwise (a seek) it is reset and re-primed with a pre-roll.
        """
        if not p.streams:
            return self._render_raw(p, a, n, silent_none)
        if a != p.fx_next:
            for stream in p.streams.values():
                stream.reset()
            p0 = max(0, a - p.fx_preroll)
            if p0 < a:
                self._stream_through(p, self._render_raw(p, p0, a - p0), keep=False)
        p.fx_next = a + n
        raw = self._render_raw(p, a, n)
        assert raw is not None
        return self._stream_through(p, raw, keep=True)

    @staticmethod
    def _stream_through(p: _TrackPlan, raw: np.ndarray | None, keep: bool) -> np.ndarray:
        assert raw is not None
        out = raw if keep else raw.copy()
        for group, stream in p.streams.items():
            out[group : group + stream.channels] = stream.process(raw[group : group + stream.channels])
        return out

    # ---- stages ---------------------------------------------------------------------------
    def _limit(self, start: int, frames: int) -> np.ndarray:
        assert self._limiter is not None
        lim = self._limiter
        x = self._master_cache.get(start - lim.history, start + frames + lim.lookahead)
        self._lim_next = start + frames
        out = lim.process(x, frames)
        self.limited = lim.engaged
        return out

    def _sidechain(self, a: int, n: int) -> np.ndarray:
        """Mono sum of the key (dialogue) tracks after track gain, over ``[a, a+n)``."""
        sc: np.ndarray | None = None
        for p in self._keys:
            raw = self._key_cache[p.track.id].get(a, a + n)
            if p.mono_row >= 0:
                part = raw[p.mono_row] if p.gain == 1.0 else raw[p.mono_row] * np.float32(p.gain)
                sc = (
                    part.copy()
                    if sc is None and part is raw[p.mono_row]
                    else (part if sc is None else sc + part)
                )
            if p.stereo_row >= 0:
                s = p.stereo_row
                part = (raw[s] + raw[s + 1]) * np.float32(0.5 * p.gain)
                sc = part if sc is None else sc + part
        return sc if sc is not None else np.zeros(n, dtype=np.float32)

    def _premaster(self, a: int, n: int) -> np.ndarray:
        """Everything up to the master gain (no limiter) over ``[a, a+n)``, planar float32."""
        if self._duckers and a != self._pm_next:
            for p in self._audible:
                if p.ducker is not None:
                    p.ducker.reset()
                    back = p.ducker.lookbehind
                    p.ducker.prime(self._sidechain(a - back, back))
        sc = self._sidechain(a, n + self._sc_ahead) if self._duckers else None
        out = np.empty((self.channels, n), dtype=np.float32)
        empty = True
        for p in self._audible:
            cache = self._key_cache.get(p.track.id)
            if cache is not None:
                raw: np.ndarray | None = cache.get(a, a + n)
            else:
                raw = self._render_track(p, a, n, silent_none=True)
            g = p.ducker.process(sc, n) if (p.ducker is not None and sc is not None) else None
            if raw is None:
                continue
            if g is not None:
                raw = raw * g if cache is not None else np.multiply(raw, g, out=raw)
            self._pan_into(out, p, raw, empty)
            empty = False
        if empty:
            out.fill(0.0)
        self._pm_next = a + n
        if self._master != 1.0:
            out *= np.float32(self._master)
        return out

    def _pan_into(self, out: np.ndarray, p: _TrackPlan, raw: np.ndarray, first: bool) -> None:
        """Add (or, if ``first``, write) a track's raw rows into the output with gain and pan."""
        g = p.gain
        terms: list[tuple[int, np.ndarray, float]] = []  # (output row, raw row, gain)
        if self.channels == 1:
            if p.mono_row >= 0:
                terms.append((0, raw[p.mono_row], g))
            if p.stereo_row >= 0:
                s = p.stereo_row
                terms += [(0, raw[s], 0.5 * g), (0, raw[s + 1], 0.5 * g)]
        else:
            if p.mono_row >= 0:
                cl, cr = pan_gains(p.track.pan)
                m = raw[p.mono_row]
                terms += [(0, m, g * cl), (1, m, g * cr)]
            if p.stereo_row >= 0:
                bl, br = balance_gains(p.track.pan)
                s = p.stereo_row
                terms += [(0, raw[s], g * bl), (1, raw[s + 1], g * br)]
        written = [not first] * self.channels
        for row, x, k in terms:
            if written[row]:
                out[row] += x * np.float32(k)
            else:
                np.multiply(x, np.float32(k), out=out[row])
                written[row] = True
        for row, done in enumerate(written):
            if not done:
                out[row].fill(0.0)

    def _raw_renderer(self, p: _TrackPlan) -> Callable[[int, int], np.ndarray]:
        def render(a: int, n: int) -> np.ndarray:
            raw = self._render_track(p, a, n)
            assert raw is not None
            return raw

        return render

    def _render_raw(self, p: _TrackPlan, a: int, n: int, silent_none: bool = False) -> np.ndarray | None:
        """A track's clips summed over ``[a, a+n)``, before track gain/pan: rows mono and/or L, R.

        With ``silent_none``, a range no clip touches gives None instead of zeros.
        """
        lo = bisect.bisect_right(p.starts, a - p.max_len)
        hi = bisect.bisect_left(p.starts, a + n)
        clips = [pc for pc in p.clips[lo:hi] if pc.end + self._clip_tail(p, pc) > a]
        if not clips:
            return None if silent_none else np.zeros((p.rows, n), dtype=np.float32)
        buf = np.empty((p.rows, n), dtype=np.float32)
        filled = {p.mono_row: 0, p.stereo_row: 0}  # per row group: frames written so far
        for pc in clips:
            fx = p.clip_fx.get(pc.clip_id)
            o0, o1 = max(a, pc.start), min(a + n, pc.end + (fx[1] if fx is not None else 0))
            if fx is not None:  # gain and fades are applied before the chain
                data = self._processed_clip(p, pc)[:, o0 - pc.start : o1 - pc.start]
                env: np.ndarray | np.float32 = np.float32(1.0)
            else:
                data = self.sources.get(pc.media, pc.clip_id).read(pc.source_start + o0 - pc.start, o1 - o0)
                gain = pc.envelope(o0 - pc.start, o1 - o0)
                env = gain.astype(np.float32) if isinstance(gain, np.ndarray) else np.float32(gain)
            group = p.mono_row if data.shape[0] == 1 else p.stereo_row
            rows = slice(group, group + data.shape[0])
            r0, r1 = o0 - a, o1 - a
            f = filled[group]
            if r0 >= f:  # clips are in start order: write, zeroing any gap before
                buf[rows, f:r0] = 0.0
                np.multiply(data, env, out=buf[rows, r0:r1])
            else:  # overlaps what an earlier clip wrote: add that part, write the rest
                k = min(f, r1) - r0
                env_k = env[:k] if isinstance(env, np.ndarray) else env
                buf[rows, r0 : r0 + k] += data[:, :k] * env_k
                if r1 > f:
                    env_r = env[k:] if isinstance(env, np.ndarray) else env
                    np.multiply(data[:, k:], env_r, out=buf[rows, f:r1])
            filled[group] = max(f, r1)
        for group, f in filled.items():
            if group >= 0:
                width = 1 if group == p.mono_row else 2
                buf[group : group + width, f:] = 0.0
        return buf
