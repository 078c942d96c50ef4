"""Reading targets and writing episodes: mono float32 audio at the task's sample rate."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
from pathlib import Path

import numpy as np
import soundfile

from raveforce.errors import ArgumentError, TargetError


def load_target(target, *, sample_rate: int, length: int) -> np.ndarray:
    """float32 (length,): `target` as mono audio at `sample_rate`, cut or zero-padded to `length`.

    target: a sound file path, or a pair (samples, sample_rate) with samples shaped (n,) or
    (n, channels). Channels are averaged; other rates are resampled (soxr, high quality).
    Only the part of the target the episode uses (plus a little for the resampler) is read,
    checked and resampled: a target of hours costs what its first seconds cost.
    """
    if isinstance(target, (str, os.PathLike)):
        audio, rate = _read(Path(target), sample_rate, length)
        what = f"target file {str(target)!r}"
    elif isinstance(target, tuple) and len(target) == 2:
        audio, rate = target
        what = "target array"
        _check_rate(rate, what)
        try:
            audio = np.asarray(audio)
            if audio.ndim in (1, 2):
                audio = audio[: max(1, _needed(length, int(rate), sample_rate))]
            audio = audio.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TargetError(f"{what} is not numeric audio: {exc}") from exc
    else:
        raise TargetError(
            f"target={_short(target)} is neither a sound file path nor a pair (samples, sample_rate)"
        )
    _check_rate(rate, what)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if audio.ndim != 1:
        raise TargetError(f"{what} has shape {audio.shape}; expected (samples,) or (samples, channels)")
    if audio.size == 0:
        raise TargetError(f"{what} is empty (0 samples)")
    if not np.all(np.isfinite(audio)):
        raise TargetError(f"{what} contains NaN or infinite samples")
    peak = float(np.max(np.abs(audio)))
    if rate != sample_rate:
        import soxr

        audio = soxr.resample(audio, int(rate), sample_rate, quality="HQ")
    out = np.zeros(length, dtype=np.float32)
    n = min(length, len(audio))
    with np.errstate(over="ignore"):
        out[:n] = audio[:n]
    if not np.all(np.isfinite(out[:n])):  # e.g. samples near float32's limit, overshooting when resampled
        raise TargetError(
            f"{what} (peak {peak:.3g} at {rate} Hz) does not fit float32 (about 3.4e38 at most) at {sample_rate} Hz"
        )
    return out


def read_sound(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """(float64 (samples,) mono, sample rate) of a whole sound file (WAV, FLAC, OGG, MP3, ...:
    what libsndfile reads); TargetError naming the file when it is missing or not audio."""
    audio, rate = _read(Path(path), None, None)
    audio = audio.mean(axis=1)
    if audio.size == 0:
        raise TargetError(f"target file {str(path)!r} is empty (0 samples)")
    if not np.all(np.isfinite(audio)):
        raise TargetError(f"target file {str(path)!r} contains NaN or infinite samples")
    return audio, rate


ONE_SHOT_MARGIN = 4  # zero frames kept after the last sound: PlayBuf's cubic interpolation reads 2 ahead


def check_sound_file(path: str | os.PathLike, what: str) -> None:
    """ArgumentError naming `what` and `path` unless libsndfile (as scsynth) can read it: scsynth
    itself plays a missing or unreadable buffer as silence, without a word. A file read once is
    not opened again until it changes (every NRT render checks its task's buffers)."""
    path = Path(path)
    if not path.is_file():
        raise ArgumentError(f"{what} {str(path)!r} does not exist or is not a file")
    stat = path.stat()
    error = _libsndfile_error(path, stat.st_mtime_ns, stat.st_size)
    if error is not None:
        raise ArgumentError(f"{what} {str(path)!r} is not a sound file libsndfile can read ({error})")


@functools.lru_cache(maxsize=64)
def _libsndfile_error(path: Path, mtime_ns: int, size: int) -> str | None:
    try:
        with _quiet_decoder():  # as _read: the error says what went wrong
            soundfile.info(str(path))
    except (OSError, RuntimeError) as exc:  # soundfile's LibsndfileError is a RuntimeError
        return str(exc)
    return None


def sounding_frames(path: str | os.PathLike) -> int:
    """Frames of a sound file up to its last non-zero frame plus ONE_SHOT_MARGIN frames of its
    trailing zeros (at most the whole file): what a synth playing it forward from the
    start, once, can hear.  Its later zeros only add +-0.0 to the output (a zero's sign may differ)."""
    path = Path(path)
    stat = path.stat()
    return _sounding_frames(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _sounding_frames(path: Path, mtime_ns: int, size: int) -> int:
    audio, _ = soundfile.read(path, dtype="float32", always_2d=True)
    sounding = np.flatnonzero(np.any(audio != 0.0, axis=1))
    last = int(sounding[-1]) if len(sounding) else -1
    return min(len(audio), last + 1 + ONE_SHOT_MARGIN)


def _check_rate(rate, what: str) -> None:
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or not 1000 <= rate <= 768_000:
        raise TargetError(f"{what}: sample rate {rate!r} is not an integer from 1000 to 768000 Hz")


def _needed(length: int, rate: int, sample_rate: int) -> int:
    """Frames at `rate` that give `length` frames at `sample_rate`, with a margin for the resampler."""
    if rate == sample_rate:
        return length
    return -(-length * rate // sample_rate) + rate // 10 + 64


def _read(path: Path, sample_rate: int | None, length: int | None) -> tuple[np.ndarray, int]:
    """(float64 (frames, channels), rate): the frames an episode of `length` at `sample_rate`
    needs, or (length None) the whole file."""
    if not path.exists():
        raise TargetError(f"target file {str(path)!r} does not exist")
    if not path.is_file():
        raise TargetError(f"target {str(path)!r} is not a file")
    try:
        with _quiet_decoder(), soundfile.SoundFile(path) as f:
            rate = f.samplerate
            frames = -1 if length is None else max(1, _needed(length, rate, sample_rate))
            audio = f.read(frames=frames, dtype="float64", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise TargetError(f"target file {str(path)!r} is not readable audio ({exc})") from exc
    return audio, rate


@contextlib.contextmanager
def _quiet_decoder():
    """Hide what C decoders print on file descriptor 2 (libmpg123's "Note: Illegal Audio-MPEG-Header"
    on a file that is not MP3) while a file is opened: the TargetError says what went wrong."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Write mono float audio as a 32-bit float WAV; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = io.BytesIO()  # written whole: soundfile's own file handle syncs to disk on close, 2-3 ms a file
    soundfile.write(data, np.asarray(audio, dtype=np.float32), sample_rate, subtype="FLOAT", format="WAV")  # whatever the name ends with
    path.write_bytes(data.getvalue())
    return path
