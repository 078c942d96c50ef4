"""The paper's four criteria, each equal to librosa 0.11 with default parameters at the true
sample rate (librosa is not needed at run time):

- ``mse``:  raw samples.
- ``mfcc``: ``librosa.feature.mfcc(y=x, sr=sample_rate, n_mfcc=20)``, (20, T).
- ``stft``: ``librosa.stft(x)``, real and imaginary parts, (2, 1025, T).
- ``cqt``:  ``librosa.cqt(x, sr=sample_rate)``, real and imaginary parts, (2, 84, T).

STFT and CQT are linear, so their distance is the energy of the transform of ``audio - target``.
"""

from __future__ import annotations

import numpy as np

from raveforce.rewards import features as F
from raveforce.rewards.base import Criterion, _pair, _rate, register
from raveforce.rewards.batch import _Batch, _write_signals

# OpenBLAS runs a dot product on one thread below 10,000 elements and splits longer ones over its
# threads, which changes the sum's rounding with the thread count (and waits on a busy machine);
# dot products of at most this many samples, summed in order, give the same bits everywhere.
_DOT_CHUNK = 8192


def _squared_error(x: np.ndarray, t: np.ndarray) -> float:
    """``(x - t) @ (x - t)`` for (n,) arrays (the difference in float64), in chunks of
    :data:`_DOT_CHUNK` samples summed in order."""
    if len(x) <= _DOT_CHUNK:  # one chunk (the sum below would add it to 0.0: the same bits)
        diff = x - t
        return float(diff @ diff)
    total = 0.0
    for lo in range(0, len(x), _DOT_CHUNK):
        diff = x[lo : lo + _DOT_CHUNK] - t[lo : lo + _DOT_CHUNK]
        total += float(diff @ diff)
    return total


def _squared_error_rows(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(m,) :func:`_squared_error` of each row of (m, n) ``x`` against (n,) ``t``, to the bit."""
    total = np.zeros(len(x))
    for lo in range(0, x.shape[1], _DOT_CHUNK):
        diff = x[:, lo : lo + _DOT_CHUNK] - t[lo : lo + _DOT_CHUNK]
        total += np.matmul(diff[:, None, :], diff[:, :, None])[:, 0, 0]
    return total


def mse_distance(x: np.ndarray, y: np.ndarray, sample_rate: int) -> float:
    """Mean squared difference of two equal-length 1-D signals (sample_rate unused)."""
    x, y = _pair(x, y)
    return float(np.mean(np.square(x - y)))


def _mfcc(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """(20, T) MFCCs, equal to ``librosa.feature.mfcc(y=x, sr=sample_rate, n_mfcc=20)``,
    T = 1 + len(x) // 512.  Cost: one 2048-point rfft per frame."""
    x = np.asarray(x, dtype=np.float64)
    return F.mfcc_from_db(F.MelDb(len(x), sample_rate).extend(0, x)).T


def mfcc_distance(x: np.ndarray, y: np.ndarray, sample_rate: int) -> float:
    """Mean over the (20, T) matrices of the squared MFCC difference of x and y."""
    x, y = _pair(x, y)
    sample_rate = _rate(sample_rate)
    return float(np.mean(np.square(_mfcc(x, sample_rate) - _mfcc(y, sample_rate))))


def stft_distance(x: np.ndarray, y: np.ndarray, sample_rate: int) -> float:
    """Mean over the (2, 1025, T) real/imaginary parts of the squared difference of
    ``librosa.stft(x)`` and ``librosa.stft(y)`` (sample_rate unused)."""
    x, y = _pair(x, y)
    return F.StftEnergy(len(x)).extend(0, x - y)


def cqt_distance(x: np.ndarray, y: np.ndarray, sample_rate: int) -> float:
    """Mean over the (2, 84, T) real/imaginary parts of the squared difference of
    ``librosa.cqt(x, sr=sample_rate)`` and ``librosa.cqt(y, sr=sample_rate)``.

    soxr resamples in float32, so librosa itself is only float32-accurate;
    this matches it to a few 1e-7 relative (computed in float64 on x - y,
    with soxr's 2:1 filter applied as an FIR).
    Sample rates in roughly (8.3 kHz, 66 kHz] are supported."""
    x, y = _pair(x, y)
    return F.CqtEnergy(len(x), _rate(sample_rate)).extend(0, x - y)



@register
class MSE(Criterion):
    """Raw-sample MSE.  Cost per incremental step: one dot product over the new samples."""

    name = "mse"

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        self._new_caches()

    def _new_caches(self) -> None:
        self._sse = np.zeros(self.n_steps)  # squared error of each step's samples

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        b, target, sse = self._edges, self.target, self._sse
        for k in range(step if start else 0, step + 1):
            sse[k] = _squared_error(audio[b[k] : b[k + 1]], target[b[k] : b[k + 1]])
        return float(np.add.reduce(sse[: step + 1]) / b[step + 1])  # np.sum's arithmetic, without its wrappers

    _batch_caches = (("_sse",),)

    @classmethod
    def _batch_update(cls, batch: _Batch, audio: np.ndarray, step: int, start: int, follows: np.ndarray) -> np.ndarray:
        (sse,) = batch.arrays  # (m, steps)
        b = batch.criteria[0].boundaries
        for c, rows, lo in batch.rows(follows, start):
            for k in range(step if lo else 0, step + 1):
                sse[rows, k] = _squared_error_rows(audio[rows, b[k] : b[k + 1]], c.target[b[k] : b[k + 1]])
        return np.sum(sse[:, : step + 1], axis=1) / b[step + 1]


class _Linear(Criterion):
    """A linear transform's MSE: the energy of the transform of ``audio - target``."""

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        self._new_caches()

    def _new_caches(self) -> None:
        self._energy = self._tracker()

    def _tracker(self):
        """A fresh F.StftEnergy / F.CqtEnergy sized for the target."""
        raise NotImplementedError

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        if not start:
            self._energy.clear()
        stop = self.boundaries[step + 1]
        return self._energy.extend(start, audio[start:stop] - self.target[start:stop])


@register
class STFT(_Linear):
    """STFT MSE.  Cost per incremental step: ~(new samples + 1536) / 512 rffts of 2048 points."""

    name = "stft"

    def _tracker(self):
        return F.StftEnergy(len(self.target))

    _batch_caches = (("_energy", "signal", "data"), ("_energy", "energy"))

    @classmethod
    def _batch_update(cls, batch: _Batch, audio: np.ndarray, step: int, start: int, follows: np.ndarray) -> np.ndarray:
        data, energy = batch.arrays
        stop = int(batch.criteria[0].boundaries[step + 1])
        lo = _write_signals(batch, [c._energy for c in batch.criteria], data, audio, start, stop, follows, minus_target=True)
        return np.concatenate([F.stft_energies(data[r], energy[r], lo, stop, batch.scratch) for r in batch.chunks()])


@register
class CQT(_Linear):
    """CQT MSE (see :func:`cqt_distance`).  Cost per incremental step: the 2:1
    resampling chain of the new samples plus, per octave, the frames within
    ~500 of its samples of the change (~0.4 ms for 5512 new samples at 44.1 kHz)."""

    name = "cqt"

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        stages = len(self._energy.stages)  # 7 or 8, by sample rate
        self._batch_caches = (*(("_energy", "stages", s, "data") for s in range(stages)), ("_energy", "energy"))

    def _tracker(self):
        return F.CqtEnergy(len(self.target), self.sample_rate)

    def _after_batching(self) -> None:
        self._energy.views()

    @classmethod
    def _batch_update(cls, batch: _Batch, audio: np.ndarray, step: int, start: int, follows: np.ndarray) -> np.ndarray:
        *stages, energy = batch.arrays
        trackers = [c._energy for c in batch.criteria]
        stop = int(batch.criteria[0].boundaries[step + 1])
        lo = _write_signals(batch, trackers, stages[0], audio, start, stop, follows, minus_target=True)
        values = []
        for r in batch.chunks():
            means, lengths = F.cqt_energies(trackers[0], [rows[r] for rows in stages], energy[r], lo, stop)
            values.append(means)
        for tracker in trackers:
            for stage, length in zip(tracker.stages, lengths):
                stage.length = length
        return np.concatenate(values)


@register
class MFCC(Criterion):
    """MFCC MSE.  The target's MFCCs of every prefix are computed at construction.
    Cost per incremental step: the new frames' log-mel, then clip + DCT of all frames."""

    name = "mfcc"

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        mel = F.MelDb(len(self.target), self.sample_rate)
        b = self.boundaries
        self._target_mfcc = [
            F.mfcc_from_db(mel.extend(b[k], self.target[b[k] : b[k + 1]])) for k in range(self.n_steps)
        ]
        e = self._edges
        schedule = tuple((F.first_changed_frame(e[k], hop=F.HOP, n_fft=F.N_FFT), F.n_frames(e[k + 1], F.HOP)) for k in range(self.n_steps))
        self._reuse_frames = F.dct_rows_reusable(schedule)  # False: every step's DCT covers every frame
        self._new_caches()

    def _new_caches(self) -> None:
        self._mel = F.MelDb(len(self.target), self.sample_rate)
        self._frames = F.MfccFrames(len(self._mel.db))

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        if not start:
            self._mel.clear()
        db = self._mel.extend(start, audio[start : self._edges[step + 1]])
        first = F.first_changed_frame(start, hop=F.HOP, n_fft=F.N_FFT) if start and self._reuse_frames else 0
        diff = self._frames.update(db, first) - self._target_mfcc[step]
        return float(np.add.reduce(np.square(diff, out=diff), axis=None) / diff.size)  # np.mean's arithmetic

    _batch_caches = (("_mel", "signal", "data"), ("_mel", "db"), ("_frames", "mfcc"), ("_frames", "row_max"), ("_frames", "state"))

    @classmethod
    def _batch_update(cls, batch: _Batch, audio: np.ndarray, step: int, start: int, follows: np.ndarray) -> np.ndarray:
        data, db, kept, row_max, state = batch.arrays
        head = batch.criteria[0]
        stop = int(head.boundaries[step + 1])
        lo = _write_signals(batch, [c._mel for c in batch.criteria], data, audio, start, stop, follows, minus_target=False)
        first = F.first_changed_frame(lo, hop=F.HOP, n_fft=F.N_FFT) if lo and head._reuse_frames else 0
        mfcc = np.concatenate([
            F.mfcc_update_many(F.mel_db_many(data[r], db[r], head._mel.basis, lo, stop, batch.scratch), kept[r], row_max[r], state[r], first)
            for r in batch.chunks()
        ])  # (m, frames, 20)
        values = np.empty(len(mfcc))
        for c, rows in batch.groups:
            sq = np.square(mfcc[rows] - c._target_mfcc[step])
            values[rows] = np.mean(sq.reshape(len(sq), -1), axis=1)  # each row's mean as np.mean of its (frames, 20)
        return values

