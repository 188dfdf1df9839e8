"""Reference-clip import: decode, mono, 24 kHz, trim silence, normalise loudness, check quality.

:func:`prepare_clip` turns an audio file (wav, flac, mp3, ogg, m4a) into a :class:`PreparedClip`: the
bytes of a 16-bit 24 kHz mono WAV with leading/trailing silence trimmed and loudness normalised to
about −20 LUFS, named by its SHA-256, plus measurements and warnings (short, long, noisy, clipped).
Processing is deterministic, so the same source always gives the same clip (de-duplication).
Nothing here writes to the bank: :class:`studio.bank.store.VoiceBank` stores prepared clips.

Thread contract: every function is pure (reads its input file only) and may run on any thread —
the voice-bank panel prepares clips on a worker thread and stores them on the bank's thread.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from studio.audio.decode import AudioReader
from studio.audio.errors import AudioError
from studio.audio.resample import resample
from studio.bank.records import NO_TRANSCRIPT, BankError, ReferenceClip

SUPPORTED_SUFFIXES: tuple[str, ...] = (".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".m4a")
SAMPLE_RATE = 24000
TARGET_LUFS = -20.0
PEAK_CEILING_DBFS = -1.0
SHORT_SECONDS = 3.0  # warn below
LONG_SECONDS = 30.0  # warn above
MIN_SECONDS = 0.5  # refuse below (after trimming)
MAX_SOURCE_SECONDS = 600.0  # refuse sources longer than this (trim them first)
MAX_SOURCE_BYTES = 512 * 1024 * 1024
MAX_TRANSCRIPT_BYTES = 64 * 1024
NOISY_SNR_DB = 25.0  # warn below
SILENCE_BELOW_PEAK_DB = 45.0  # frames this far below the loudest frame count as silence when trimming
SILENCE_FLOOR_DBFS = -60.0
TRIM_PAD_SECONDS = 0.1
_FRAME_SECONDS = 0.02


@dataclass(frozen=True)
class ClipStats:
    duration: float
    loudness_lufs: float
    peak_dbfs: float
    snr_db: float | None


@dataclass(frozen=True)
class PreparedClip:
    """A clip ready to store: ``data`` is the WAV file, ``clip_id`` its SHA-256 (hex).

    ``warnings`` are about the audio (short, long, noisy, clipped); :attr:`messages` adds the
    missing-transcript note.
    """

    data: bytes
    clip_id: str
    stats: ClipStats
    clipped: bool
    transcript: str
    original_name: str
    warnings: tuple[str, ...]

    @property
    def messages(self) -> tuple[str, ...]:
        """The audio warnings, and a note when the transcript is missing (to show the user)."""
        return self.warnings + transcript_warning(self.transcript)

    def reference(self) -> ReferenceClip:
        return ReferenceClip(
            clip_id=self.clip_id,
            transcript=self.transcript,
            duration=self.stats.duration,
            sample_rate=SAMPLE_RATE,
            loudness_lufs=self.stats.loudness_lufs,
            peak_dbfs=self.stats.peak_dbfs,
            snr_db=self.stats.snr_db,
            clipped=self.clipped,
            original_name=self.original_name,
            warnings=self.warnings,
        )


def transcript_warning(transcript: str) -> tuple[str, ...]:
    if transcript.strip():
        return ()
    return (NO_TRANSCRIPT,)


def clip_file_name(clip_id: str) -> str:
    return f"{clip_id}.wav"


# ---- reading sources ----------------------------------------------------------------------------


def check_wav_complete(path: Path) -> None:
    """Refuse a WAV whose data chunk claims more bytes than the file holds (a truncated file).

    libsndfile quietly reads what is there; a clip cut short by a failed copy must not pass as good.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
            size = path.stat().st_size
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
                return  # not RIFF/WAVE: let the decoder judge it
            fmt = "<I" if head[:4] == b"RIFF" else ">I"
            offset = 12
            while offset + 8 <= size:
                handle.seek(offset)
                chunk = handle.read(8)
                if len(chunk) < 8:
                    break
                (length,) = struct.unpack(fmt, chunk[4:])
                if chunk[:4] == b"data":
                    if length not in (0, 0xFFFFFFFF) and offset + 8 + length > size:
                        missing = offset + 8 + length - size
                        raise BankError(
                            f"{path.name} is truncated: its audio data is {missing} bytes shorter than "
                            "its header says (an interrupted copy or download?); use a complete file"
                        )
                    return
                offset += 8 + length + (length & 1)
    except OSError as exc:
        raise BankError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_source(path: Path) -> tuple[np.ndarray, int]:
    """Decode an audio file to float32 ``(frames, channels)``; BankError for anything unusable."""
    path = Path(path)
    if path.is_dir():
        raise BankError(f"{path} is a folder, not an audio file")
    if not path.is_file():
        raise BankError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise BankError(
            f"{path.name}: {suffix or 'files without an extension'} is not a supported clip format; "
            "use WAV, FLAC, MP3, OGG or M4A"
        )
    size = path.stat().st_size
    if size == 0:
        raise BankError(f"{path.name} is empty")
    if size > MAX_SOURCE_BYTES:
        raise BankError(
            f"{path.name} is {size / 2**20:.0f} MiB; a reference clip should be a few seconds long"
        )
    if suffix in (".wav", ".wave"):
        check_wav_complete(path)
    try:
        with AudioReader(path) as reader:
            info = reader.info
            if info.duration > MAX_SOURCE_SECONDS:
                raise BankError(
                    f"{path.name} is {info.duration / 60:.1f} minutes long; a reference clip should be "
                    f"{SHORT_SECONDS:g}–{LONG_SECONDS:g} s: cut the part you want first"
                )
            data = reader.read(info.frames)
    except AudioError as exc:
        raise BankError(f"{path.name} is corrupt or not audio: {exc}") from None
    if data.size == 0:
        raise BankError(f"{path.name} holds no audio (truncated or corrupt file)")
    if not np.all(np.isfinite(data)):
        raise BankError(f"{path.name} holds invalid samples (NaN or infinity); re-export it from your editor")
    return data, info.sample_rate


def load_transcript(source: Path) -> str:
    """The transcript in the sidecar ``NAME.txt`` next to ``source`` ("" if there is none)."""
    sidecar = source.with_suffix(".txt")
    if not sidecar.is_file():
        return ""
    return read_transcript_file(sidecar)


def read_transcript_file(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_TRANSCRIPT_BYTES:
            raise BankError(
                f"{path.name} is {size} bytes; a transcript file may hold at most {MAX_TRANSCRIPT_BYTES}"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise BankError(f"cannot read the transcript {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BankError(f"{path.name} is not UTF-8 text; save the transcript as UTF-8") from None
    return " ".join(text.split())


# ---- processing ---------------------------------------------------------------------------------


def detect_clipping(data: np.ndarray) -> int:
    """Number of places where the source sits at full scale (runs of ≥ 3 samples) or beyond it."""
    count = 0
    for channel in np.atleast_2d(data.T):
        over = int(np.count_nonzero(np.abs(channel) > 1.0))
        at_top = np.abs(channel) >= 0.999
        if at_top.any():
            edges = np.diff(np.concatenate(([0], at_top.astype(np.int8), [0])))
            starts = np.flatnonzero(edges == 1)
            ends = np.flatnonzero(edges == -1)
            count += int(np.count_nonzero(ends - starts >= 3))
        count += over // 3
    return count


def _frame_db(mono: np.ndarray, rate: int, seconds: float = _FRAME_SECONDS) -> np.ndarray:
    size = max(1, int(rate * seconds))
    frames = len(mono) // size
    if frames == 0:
        return np.zeros(0, dtype=np.float64)
    blocks = mono[: frames * size].astype(np.float64).reshape(frames, size)
    rms = np.sqrt(np.mean(blocks * blocks, axis=1))
    return np.asarray(20.0 * np.log10(np.maximum(rms, 1e-10)), dtype=np.float64)


def trim_silence(mono: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing silence, keeping a short pad; raises BankError if all is silence."""
    size = max(1, int(rate * 0.01))
    levels = _frame_db(mono, rate, 0.01)
    if levels.size == 0 or levels.max() < SILENCE_FLOOR_DBFS - 20:
        raise BankError("the clip is silent")
    threshold = max(levels.max() - SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS)
    loud = np.flatnonzero(levels >= threshold)
    pad = int(TRIM_PAD_SECONDS * rate)
    start = max(0, int(loud[0]) * size - pad)
    end = min(len(mono), (int(loud[-1]) + 1) * size + pad)
    return mono[start:end]


def estimate_snr(mono: np.ndarray, rate: int) -> float | None:
    """Signal-to-noise estimate (dB): loud frames (95th percentile) over quiet frames (10th)."""
    levels = _frame_db(mono, rate)
    if levels.size < 10:
        return None
    noise = float(np.percentile(levels, 10))
    signal = float(np.percentile(levels, 95))
    if noise <= -100.0:
        return None  # digital silence between words: no noise to measure
    return round(min(signal - noise, 99.0), 2)


def loudness(mono: np.ndarray, rate: int) -> float:
    """Integrated loudness (LUFS, ITU-R BS.1770) by pyloudnorm (imported here: it pulls in scipy)."""
    import pyloudnorm

    meter = pyloudnorm.Meter(rate)
    with np.errstate(divide="ignore"):
        value = float(meter.integrated_loudness(mono.astype(np.float64)))
    return value


def _peak_dbfs(mono: np.ndarray) -> float:
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    return round(20.0 * math.log10(peak), 2) if peak > 0 else -120.0


def encode_wav(mono: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(mono, -1.0, 1.0).astype(np.float32), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def prepare_samples(
    data: np.ndarray,
    rate: int,
    *,
    transcript: str = "",
    name: str = "recording",
    trim: bool = True,
) -> PreparedClip:
    """Process float audio ``(frames[, channels])`` at ``rate`` into a clip (see module docstring)."""
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    warnings: list[str] = []
    clipped_runs = detect_clipping(data)
    if clipped_runs:
        warnings.append(
            f"clipping: the source hits full scale in {clipped_runs} places; re-record it at a lower level"
        )
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    mono = resample(mono[:, None], rate, SAMPLE_RATE)[:, 0] if rate != SAMPLE_RATE else mono
    if trim:
        mono = trim_silence(mono, SAMPLE_RATE)
    duration = len(mono) / SAMPLE_RATE
    if duration < MIN_SECONDS:
        raise BankError(
            f"{name}: only {duration:.2f} s of sound; a reference clip needs at least {SHORT_SECONDS:g} s"
        )
    measured = loudness(mono, SAMPLE_RATE)
    if not math.isfinite(measured):
        raise BankError(f"{name}: the clip is too quiet to measure; is it silent?")
    gain_db = TARGET_LUFS - measured
    peak = float(np.max(np.abs(mono)))
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20)
    if peak * 10 ** (gain_db / 20) > ceiling:
        limited = 20 * math.log10(ceiling / peak)
        if gain_db - limited > 3.0:
            warnings.append(
                f"peaky: normalised to {measured + limited:.1f} LUFS instead of {TARGET_LUFS:g} to keep peaks "
                f"below {PEAK_CEILING_DBFS:g} dBFS"
            )
        gain_db = limited
    mono = (mono * 10 ** (gain_db / 20)).astype(np.float32)
    wav = encode_wav(mono)
    # Measure what was stored (after 16-bit rounding), so a stored clip re-analysed gives the same numbers.
    stored, _ = sf.read(io.BytesIO(wav), dtype="float32")
    stats = analyse(stored)
    if duration < SHORT_SECONDS:
        warnings.append(f"short: {duration:.1f} s of speech; {SHORT_SECONDS:g}–{LONG_SECONDS:g} s clone best")
    elif duration > LONG_SECONDS:
        warnings.append(f"long: {duration:.1f} s; {SHORT_SECONDS:g}–{LONG_SECONDS:g} s clone best (trim it)")
    if stats.snr_db is not None and stats.snr_db < NOISY_SNR_DB:
        warnings.append(
            f"noisy: estimated signal-to-noise ratio {stats.snr_db:.0f} dB (below {NOISY_SNR_DB:g} dB); "
            "background noise will be cloned too"
        )
    return PreparedClip(
        data=wav,
        clip_id=hashlib.sha256(wav).hexdigest(),
        stats=stats,
        clipped=bool(clipped_runs),
        transcript=" ".join(transcript.split()),
        original_name=name,
        warnings=tuple(warnings),
    )


def prepare_clip(source: str | Path, transcript: str | None = None) -> PreparedClip:
    """Read and process an audio file; ``transcript`` None = the sidecar ``NAME.txt`` (or none)."""
    path = Path(source)
    data, rate = read_source(path)
    text = load_transcript(path) if transcript is None else transcript
    try:
        return prepare_samples(data, rate, transcript=text, name=path.name)
    except BankError as exc:
        message = str(exc)
        raise BankError(message if message.startswith(path.name) else f"{path.name}: {message}") from None


def analyse(mono: np.ndarray) -> ClipStats:
    """Duration, loudness, peak and SNR of a stored (24 kHz mono) clip."""
    mono = np.asarray(mono, dtype=np.float32).reshape(-1)
    measured = loudness(mono, SAMPLE_RATE) if len(mono) >= SAMPLE_RATE * 0.4 else -math.inf
    return ClipStats(
        duration=round(len(mono) / SAMPLE_RATE, 4),
        loudness_lufs=round(measured, 2) if math.isfinite(measured) else -120.0,
        peak_dbfs=_peak_dbfs(mono),
        snr_db=estimate_snr(mono, SAMPLE_RATE),
    )


def read_stored_clip(data: bytes, where: str) -> np.ndarray:
    """Samples of a stored clip's bytes; BankError unless it is a 24 kHz mono WAV."""
    try:
        with sf.SoundFile(io.BytesIO(data)) as handle:
            if handle.format != "WAV" or handle.samplerate != SAMPLE_RATE or handle.channels != 1:
                raise BankError(
                    f"{where} is not a {SAMPLE_RATE} Hz mono WAV "
                    f"({handle.format}, {handle.samplerate} Hz, {handle.channels} channels)"
                )
            samples = handle.read(dtype="float32")
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise BankError(f"{where} is corrupt or not audio ({exc})") from None
    if samples.size == 0:
        raise BankError(f"{where} holds no audio")
    return np.asarray(samples, dtype=np.float32)


# ---- for the panel: waveform and trimming --------------------------------------------------------


def read_clip(path: str | Path) -> np.ndarray:
    """The samples of a stored clip file (float32, mono, 24 kHz)."""
    try:
        samples, _ = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise BankError(f"cannot read the clip {Path(path).name}: {exc}") from None
    return np.asarray(samples[:, 0], dtype=np.float32)


def waveform_peaks(path: str | Path, buckets: int) -> np.ndarray:
    """Min/max per bucket over the whole clip: float32 ``(buckets, 2)`` for drawing a waveform."""
    samples = read_clip(path)
    buckets = max(1, int(buckets))
    if samples.size == 0:
        return np.zeros((buckets, 2), dtype=np.float32)
    edges = np.linspace(0, samples.size, buckets + 1).astype(np.int64)
    out = np.zeros((buckets, 2), dtype=np.float32)
    for i in range(buckets):
        lo, hi = edges[i], max(edges[i + 1], edges[i] + 1)
        block = samples[lo : min(hi, samples.size)]
        if block.size:
            out[i] = (block.min(), block.max())
    return out


def trim_clip(path: str | Path, start: float, end: float, transcript: str, name: str = "") -> PreparedClip:
    """A new clip made of ``start``..``end`` seconds of a stored clip (trim handles), re-normalised."""
    samples = read_clip(path)
    total = samples.size / SAMPLE_RATE
    if not (0.0 <= start < end) or start >= total:
        raise BankError(f"cannot trim {start:.2f}–{end:.2f} s out of a {total:.2f} s clip")
    part = samples[int(start * SAMPLE_RATE) : int(min(end, total) * SAMPLE_RATE)]
    return prepare_samples(part, SAMPLE_RATE, transcript=transcript, name=name or Path(path).name, trim=False)
