"""Reward criteria: how far the audio rendered so far is from the target.

After step ``k`` of an episode the rendered prefix is ``audio[:b]`` with
``b = boundaries[k + 1]`` samples; a criterion returns the mean squared
error between features of ``audio[:b]`` and of ``target[:b]`` (the env's
reward is its negative).  The four criteria of the RaveForce paper, each
equal to librosa 0.11 with default parameters at the true sample rate:

- ``mse``:  raw samples.
- ``mfcc``: ``librosa.feature.mfcc(y=x, sr=sample_rate, n_mfcc=20)``, (20, T).
- ``stft``: ``librosa.stft(x)``, real and imaginary parts, (2, 1025, T).
- ``cqt``:  ``librosa.cqt(x, sr=sample_rate)``, real and imaginary parts, (2, 84, T).

A :class:`Criterion` precomputes what it can about the target at
construction and keeps per-frame caches, so that calling ``distance`` for
step ``k`` right after step ``k - 1`` only recomputes the frames that reach
the new samples; the result is bit-identical to a from-scratch call.
STFT and CQT are linear, so their distance is the energy of the transform
of ``audio - target``.  librosa is not needed at run time.
"""

from __future__ import annotations

import copy
import functools
import numbers
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from raveforce import _features as F

__all__ = [
    "Criterion",
    "MSE",
    "MFCC",
    "STFT",
    "CQT",
    "Multiscale",
    "MultiscaleLog",
    "SpectralOT",
    "Combination",
    "multiscale",
    "spectral_ot",
    "combine",
    "CallableCriterion",
    "register",
    "available",
    "make",
    "batch_distances",
    "mse_distance",
    "mfcc_distance",
    "stft_distance",
    "cqt_distance",
]

RewardFn = Callable[[np.ndarray, np.ndarray, int], float]


# ----------------------------------------------------------- pure functions


def _pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) == 0:
        raise ValueError(f"expected two non-empty 1-D arrays of equal length, got shapes {x.shape} and {y.shape}")
    return x, y


def _rate(sample_rate) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Integral) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    return int(sample_rate)


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


# --------------------------------------------------------------- criteria


def _check_episode(target, sample_rate, boundaries) -> tuple[np.ndarray, int, np.ndarray]:
    target = np.asarray(target)
    if target.ndim != 1 or not np.issubdtype(target.dtype, np.number) or np.iscomplexobj(target):
        raise ValueError(f"target must be a real 1-D (mono) array, got dtype {target.dtype} and shape {target.shape}")
    if not np.all(np.isfinite(target)):
        raise ValueError("target contains non-finite samples")
    sample_rate = _rate(sample_rate)
    bounds = np.asarray(boundaries)
    if bounds.ndim != 1 or len(bounds) < 2 or not np.issubdtype(bounds.dtype, np.integer):
        raise ValueError(f"boundaries must be a 1-D integer array of length >= 2, got {boundaries!r}")
    if bounds[0] != 0 or np.any(np.diff(bounds) <= 0) or bounds[-1] != len(target):
        raise ValueError(
            f"boundaries must start at 0, strictly increase and end at len(target)={len(target)}, got {boundaries!r}"
        )
    return target.astype(np.float64), sample_rate, bounds.astype(np.int64)


class Criterion:
    """A distance between the rendered prefix and the target prefix after each step.

    ``target``: real (n,) mono; ``sample_rate`` in Hz; ``boundaries``: int
    (steps + 1,), 0 first, strictly increasing, n last (samples).  Subclasses
    set ``name`` (the registry name) and implement ``_update``.
    """

    name: ClassVar[str]
    # Batching (see batch_distances): the cache arrays, as attribute paths, that a batch of
    # criteria keeps as rows of shared (m, ...) arrays; empty: the class does not batch.
    _batch_caches: ClassVar[tuple[tuple[str, ...], ...]] = ()

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        self.target, self.sample_rate, self.boundaries = _check_episode(target, sample_rate, boundaries)
        self._step: int | None = None  # step of the last successful call since reset()
        self._last_start, self._last_segment = 0, np.zeros(0)  # that call's new samples

    @property
    def n_steps(self) -> int:
        return len(self.boundaries) - 1

    def reset(self) -> None:
        """Forget the incremental cache: the next call computes from scratch."""
        self._step = None

    def fork(self) -> Criterion:
        """A criterion for another episode against the same target: the target's precomputed
        features are shared, the incremental caches are its own (for vector environments)."""
        twin = copy.copy(self)
        twin._step = None
        twin._batch = None
        twin._new_caches()
        return twin

    def _new_caches(self) -> None:
        """Give this criterion incremental caches of its own (none in the base class)."""

    def distance(self, audio: np.ndarray, step: int) -> float:
        """MSE (>= 0) between features of ``audio[:b]`` and ``target[:b]``, ``b = boundaries[step + 1]``.

        ``audio``: float (>= b,) episode buffer.  Called for ``step`` right
        after ``step - 1`` (no reset between), ``audio[:boundaries[step]]`` is
        assumed unchanged (the previous step's samples are checked) and only the
        new frames are computed; any other call (first, skipped or repeated step,
        or another prefix) computes the prefix from scratch."""
        start, stop = self._span(audio, step)
        audio = np.asarray(audio)
        incremental = self._follows(audio, step, start)
        self._step = None  # an exception below leaves the cache invalid
        value = self._update(audio, int(step), start if incremental else 0)
        if not np.isfinite(value):
            raise ValueError(f"{self.name} distance at step {step} is {value!r}: audio has non-finite samples")
        self._last_start, self._last_segment = start, np.array(audio[start:stop])
        self._step = int(step)
        return value

    def _span(self, audio: np.ndarray, step: int) -> tuple[int, int]:
        """Validate a call; return the step's new samples ``[start, stop)``."""
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or not 0 <= step < self.n_steps:
            raise ValueError(f"step must be an integer in [0, {self.n_steps}), got {step!r}")
        stop = int(self.boundaries[step + 1])
        audio = np.asarray(audio)
        if audio.ndim != 1 or len(audio) < stop:
            raise ValueError(f"audio must be 1-D with at least {stop} samples for step {step}, got shape {audio.shape}")
        return int(self.boundaries[step]), stop

    def _follows(self, audio: np.ndarray, step: int, start: int) -> bool:
        """Whether the caches hold ``audio[:start]``: this call is incremental.  Only in order and on
        the same prefix: the step before must hold the samples it held last call (evaluating
        another candidate's audio would silently reuse the cache)."""
        return self._step is not None and step == self._step + 1 and np.array_equal(audio[self._last_start : start], self._last_segment)

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        """Return the distance for ``step``; ``start`` is 0 (from scratch) or
        ``boundaries[step]`` (caches hold the prefix up to there)."""
        raise NotImplementedError

    @classmethod
    def _batch_update(cls, batch: _Batch, audio: np.ndarray, step: int, start: int, follows: np.ndarray) -> np.ndarray:
        """(m,) distances of ``batch.criteria`` for rows of ``audio``; row i is incremental from
        ``start`` if ``follows[i]``, else from scratch (classes with ``_batch_caches``)."""
        raise NotImplementedError


class _Batch:
    """Criteria stepped together.  Their ``_batch_caches`` arrays become the rows of shared
    ``arrays`` (m, ...), so one numpy call updates them all; each criterion still works alone
    on its rows.  ``groups``: (criterion, rows) per distinct target, rows (a slice or an index
    array) the criteria sharing that criterion's target."""

    def __init__(self, criteria: list[Criterion]) -> None:
        self.criteria = criteria
        self.arrays = []
        for path in type(criteria[0])._batch_caches:
            owners = [functools.reduce(getattr, path[:-1], c) for c in criteria]
            shared = np.stack([getattr(o, path[-1]) for o in owners])
            for owner, row in zip(owners, shared):
                setattr(owner, path[-1], row)
            self.arrays.append(shared)
        by_target: dict[int, list[int]] = {}
        for i, c in enumerate(criteria):
            by_target.setdefault(id(c.target), []).append(i)
            c._batch = self
        if len(by_target) == 1:
            self.groups = [(criteria[0], slice(None))]
        else:
            self.groups = [(criteria[rows[0]], np.array(rows)) for rows in by_target.values()]
        self._scratch = np.empty(0)

    @classmethod
    def of(cls, criteria: list[Criterion]) -> _Batch:
        """The batch of exactly these criteria, in this order (made on first use)."""
        batch = getattr(criteria[0], "_batch", None)
        if batch is None or len(batch.criteria) != len(criteria) or not all(
            getattr(c, "_batch", None) is batch and c is d for c, d in zip(criteria, batch.criteria)
        ):
            batch = cls(criteria)
        return batch

    CHUNK = 8  # rows per FFT call: 8 sub-envs' frames (~1.8 MB) ran fastest; all 64 at once, slower than one by one

    def chunks(self) -> list[slice]:
        """Row slices of at most CHUNK rows, for the FFT-based criteria (large temporaries are slow)."""
        return [slice(i, i + self.CHUNK) for i in range(0, len(self.criteria), self.CHUNK)]

    def scratch(self, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised float64 work array, reused between steps (no page faults)."""
        size = int(np.prod(shape))
        if self._scratch.size < size:
            self._scratch = np.empty(size)
        return self._scratch[:size].reshape(shape)

    def rows(self, follows: np.ndarray, start: int):
        """(criterion, rows, lo) for each target group: its rows to (re)write from sample ``lo``:
        ``start`` where ``follows``, 0 elsewhere (the common case gives slices)."""
        if follows.all():
            return [(c, rows, start) for c, rows in self.groups]
        out = []
        for c, rows in self.groups:
            index = np.arange(len(self.criteria))[rows]
            out += [(c, index[follows[index]], start), (c, index[~follows[index]], 0)]
        return [(c, rows, lo) for c, rows, lo in out if len(rows)]


def batch_distances(criteria, audio: np.ndarray, step: int) -> np.ndarray:
    """(n,) float64 ``[c.distance(audio[i], step) for i, c in enumerate(criteria)]``, bit-identical,
    each criterion's cache left as that call leaves it.  ``audio``: (n, >= boundaries[step + 1])
    float rows.  Criteria of one batching class (mse, stft, mfcc) with equal boundaries and
    sample rates (``make()`` and its ``fork()``s; targets may differ) are computed together,
    a few numpy calls per step for all; other criteria, one call each."""
    criteria = list(criteria)
    audio = np.asarray(audio)
    if audio.ndim != 2 or len(audio) != len(criteria):
        raise ValueError(f"audio must be 2-D with one row per criterion ({len(criteria)}), got shape {audio.shape}")
    head = criteria[0] if criteria else None
    if len(criteria) < 2 or not type(head)._batch_caches or not all(
        type(c) is type(head)
        and c.sample_rate == head.sample_rate
        and (c.boundaries is head.boundaries or np.array_equal(c.boundaries, head.boundaries))
        for c in criteria
    ):
        return np.array([c.distance(row, step) for c, row in zip(criteria, audio)], dtype=np.float64)
    start, stop = head._span(audio[0], step)
    follows = np.array([c._follows(row, step, start) for c, row in zip(criteria, audio)])
    for c in criteria:
        c._step = None  # an exception below leaves the caches invalid
    values = type(head)._batch_update(_Batch.of(criteria), audio, int(step), start, follows)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise ValueError(f"{head.name} distance of row {bad[0]} at step {step} is {values[bad[0]]!r}: audio has non-finite samples")
    segment = np.array(audio[:, start:stop])
    for c, row in zip(criteria, segment):
        c._last_start, c._last_segment, c._step = start, row, int(step)
    return values


_REGISTRY: dict[str, type[Criterion]] = {}


def register(cls: type[Criterion]) -> type[Criterion]:
    """Register a Criterion subclass under ``cls.name``; usable as a decorator."""
    if not (isinstance(cls, type) and issubclass(cls, Criterion)):
        raise TypeError(f"register() expects a Criterion subclass, got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__qualname__}.name must be a non-empty string, got {name!r}")
    if _REGISTRY.get(name, cls) is not cls:
        raise ValueError(f"reward name {name!r} is already registered to {_REGISTRY[name].__qualname__}")
    _REGISTRY[name] = cls
    return cls


def available() -> tuple[str, ...]:
    """Sorted registered reward names."""
    return tuple(sorted(_REGISTRY))


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
        b = self.boundaries
        for k in range(step if start else 0, step + 1):
            diff = audio[b[k] : b[k + 1]] - self.target[b[k] : b[k + 1]]
            self._sse[k] = diff @ diff
        return float(np.sum(self._sse[: step + 1]) / b[step + 1])

    _batch_caches = (("_sse",),)

    @classmethod
    def _batch_update(cls, batch: _Batch, audio: np.ndarray, step: int, start: int, follows: np.ndarray) -> np.ndarray:
        (sse,) = batch.arrays  # (m, steps)
        b = batch.criteria[0].boundaries
        for c, rows, lo in batch.rows(follows, start):
            for k in range(step if lo else 0, step + 1):
                diff = audio[rows, b[k] : b[k + 1]] - c.target[b[k] : b[k + 1]]
                sse[rows, k] = np.matmul(diff[:, None, :], diff[:, :, None])[:, 0, 0]  # row-wise diff @ diff, to the bit
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

    def _tracker(self):
        return F.CqtEnergy(len(self.target), self.sample_rate)


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
        self._new_caches()

    def _new_caches(self) -> None:
        self._mel = F.MelDb(len(self.target), self.sample_rate)

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        if not start:
            self._mel.clear()
        db = self._mel.extend(start, audio[start : self.boundaries[step + 1]])
        return float(np.mean(np.square(F.mfcc_from_db(db) - self._target_mfcc[step])))

    _batch_caches = (("_mel", "signal", "data"), ("_mel", "db"))

    @classmethod
    def _batch_update(cls, batch: _Batch, audio: np.ndarray, step: int, start: int, follows: np.ndarray) -> np.ndarray:
        data, db = batch.arrays
        head = batch.criteria[0]
        stop = int(head.boundaries[step + 1])
        lo = _write_signals(batch, [c._mel for c in batch.criteria], data, audio, start, stop, follows, minus_target=False)
        mfcc = np.concatenate([F.mfcc_from_db_many(F.mel_db_many(data[r], db[r], head._mel.basis, lo, stop, batch.scratch)) for r in batch.chunks()])  # (m, frames, 20)
        values = np.empty(len(mfcc))
        for c, rows in batch.groups:
            sq = np.square(mfcc[rows] - c._target_mfcc[step])
            values[rows] = np.mean(sq.reshape(len(sq), -1), axis=1)  # each row's mean as np.mean of its (frames, 20)
        return values


def _write_signals(batch: _Batch, trackers: list, data: np.ndarray, audio: np.ndarray, start: int, stop: int, follows: np.ndarray, *, minus_target: bool) -> int:
    """Write each row's new samples (minus its target for linear criteria) into the trackers'
    shared signal rows ``data``, as ``tracker.extend`` would (rows not following are cleared and
    written from 0); return the first sample written in any row."""
    pad = trackers[0].signal.pad
    for i in np.flatnonzero(~follows):
        trackers[i].clear()
    for c, rows, lo in batch.rows(follows, start):
        new = audio[rows, lo:stop]
        data[rows, pad + lo : pad + stop] = new - c.target[lo:stop] if minus_target else new
    for tracker in trackers:
        tracker.signal.length = stop
    return start if follows.all() else 0


# ------------------------------------------------------- robust criteria (issue 6)
#
# The four criteria above compare waveforms or phase-bearing transforms: they reward the
# agent's own instrument, and prefer silence to a right note played by another instrument.
# The criteria below compare STFT magnitudes (phase-free) at several resolutions, or move
# spectral mass along a log-frequency axis (optimal transport): their minimum survives a
# different kit or a few ms of timing jitter, and their basins are wide.


class _PrefixFrames:
    """One analysis of the target as every prefix sees it.

    ``tracker.extend`` is run over the target step by step; step k recomputes frames
    [first_k, stop_k) (those whose window reaches ``boundaries[k]``, zero-padded after
    ``boundaries[k + 1]``), kept as a snapshot.  Frames before first_k never change again,
    so the prefix of step k is ``final[:first_k]`` followed by step k's snapshot."""

    def __init__(self, tracker, target: np.ndarray, boundaries: np.ndarray, feature) -> None:
        self.firsts, self.snaps = [], []
        for k in range(len(boundaries) - 1):
            first, stop, mags = tracker.extend(boundaries[k], target[boundaries[k] : boundaries[k + 1]])
            self.firsts.append(first)
            self.snaps.append(feature(mags))
        self.final = np.empty((stop, *self.snaps[-1].shape[1:]))
        for first, snap in zip(self.firsts, self.snaps):
            self.final[first : first + len(snap)] = snap

    def rows(self, step: int, first: int, stop: int) -> np.ndarray:
        """(stop - first, ...) features of frames [first, stop) of the target prefix of ``step``."""
        fk = self.firsts[step]
        if first >= fk:
            return self.snaps[step][first - fk : stop - fk]
        return np.concatenate([self.final[first:fk], self.snaps[step][: stop - fk]])


class _Framewise(Criterion):
    """A criterion that is a sum over analyses of a mean over frames of a per-frame cost.

    Subclasses define ``_analyses()``: a list of ``(make_tracker, feature, cost, scale)``:
    ``make_tracker()`` a fresh frame tracker (``extend(start, samples) -> (first, stop, mags)``),
    ``feature(mags) -> (frames, ...)``, ``cost(fx, ft) -> (frames,)``; the analysis contributes
    ``scale * sum(cost over the prefix's frames) / frames``.  The target's features are
    computed once (shared by forks); each step recomputes only the audio frames it changes."""

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        self._plan = self._analyses()
        self._targets = [
            _PrefixFrames(make_tracker(), self.target, self.boundaries, feature)
            for make_tracker, feature, _, _ in self._plan
        ]
        self._new_caches()

    def _analyses(self) -> list:
        raise NotImplementedError

    def _new_caches(self) -> None:
        self._trackers = [make_tracker() for make_tracker, *_ in self._plan]
        self._costs = [np.zeros(len(t.final)) for t in self._targets]

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        stop_sample = self.boundaries[step + 1]
        total = 0.0
        for (_, feature, cost, scale), tracker, frames, costs in zip(self._plan, self._trackers, self._targets, self._costs):
            if not start:
                tracker.clear()
            first, stop, mags = tracker.extend(start, audio[start:stop_sample])
            costs[first:stop] = cost(feature(mags), frames.rows(step, first, stop))
            total += scale * float(np.sum(costs[:stop])) / stop
        return total


Resolution = tuple[int, int, int]  # (n_fft, hop, window length), samples
DEFAULT_RESOLUTIONS: tuple[Resolution, ...] = ((2048, 512, 2048), (1024, 256, 1024), (512, 128, 512))


def _check_resolutions(resolutions) -> tuple[Resolution, ...]:
    out = []
    for r in resolutions:
        r = tuple(int(v) for v in (r if len(r) == 3 else (*r, r[0])))
        if not (r[0] >= 16 and 0 < r[1] and 0 < r[2] <= r[0]):
            raise ValueError(f"resolution {r} is not (n_fft >= 16, hop > 0, 0 < window <= n_fft)")
        out.append(r)
    if not out:
        raise ValueError("resolutions is empty")
    return tuple(out)


def _l1(fx: np.ndarray, ft: np.ndarray) -> np.ndarray:
    return np.sum(np.abs(fx - ft), axis=1)


@register
class Multiscale(_Framewise):
    """Multi-resolution STFT magnitude distance (linear magnitudes, L1).

    For each resolution ``(n_fft, hop, win)`` (centred, zero-padded frames, periodic Hann of
    ``win`` samples), magnitudes ``M = sqrt(max(1e-8, |X|**2))``; the distance is the mean
    over resolutions of ``mean |M_audio - M_target|`` over (frames, n_fft//2 + 1 bins).
    Equal to auraloss's ``MultiResolutionSTFTLoss(w_sc=0, w_log_mag=0, w_lin_mag=1)`` on
    signals with >= n_fft/2 zeros at both ends (auraloss pads by reflection).
    Units: STFT magnitude (linear amplitude x window sum); gain g scales it by g; phase-free.
    Cost per incremental step, defaults: ~(new samples + n_fft) / hop rffts per resolution
    (~0.3 ms for 5512 new samples at 44.1 kHz).  Parameters: :func:`multiscale`."""

    name = "multiscale"
    resolutions: ClassVar[tuple[Resolution, ...]] = DEFAULT_RESOLUTIONS
    log: ClassVar[bool] = False

    def _analyses(self) -> list:
        n = len(self.target)
        feature = (lambda m: np.log(m, out=m)) if self.log else (lambda m: m)
        return [
            (functools.partial(F.Magnitudes, n, n_fft, hop, win), feature, _l1, 1.0 / (len(self.resolutions) * (n_fft // 2 + 1)))
            for n_fft, hop, win in self.resolutions
        ]


@register
class MultiscaleLog(Multiscale):
    """As :class:`Multiscale` on natural-log magnitudes: ``mean |log M_audio - log M_target|``
    (auraloss's ``w_log_mag`` term).  Units: nepers; gain-invariant up to the 1e-4 magnitude
    floor (silence is log 1e-4).  Same cost as multiscale."""

    name = "multiscale_log"
    log = True


def _ot_feature(mags: np.ndarray) -> np.ndarray:
    """(frames, bins) magnitudes -> (frames, bins): the CDF of the power spectrum over bins
    0..bins-2, then the mass sqrt(sum |X|**2) (frequency-independent for a sine, by Parseval)."""
    cum = np.cumsum(mags * mags, axis=1)
    energy = cum[:, -1:]
    return np.concatenate([cum[:, :-1] / np.where(energy > 0, energy, 1.0), np.sqrt(energy)], axis=1)


@register
class SpectralOT(_Framewise):
    """1-D optimal transport (Wasserstein-1) between STFT magnitude spectra on a log-frequency axis.

    Per frame (centred, zero-padded, Hann, ``n_fft`` / ``hop``), with masses ``m = sum_f |X[f]|``
    and spectra normalised to distributions over ``u = log2(max(f, fmin))`` (octaves):
    ``cost = min(m_a, m_t) * W1(p_a, p_t) + mass_cost * |m_a - m_t|``
    (partial transport: the common mass is moved along the axis, the rest created or destroyed
    at ``mass_cost`` octaves per unit).  ``W1 = sum_f |CDF_a - CDF_t| * du``, exact in 1-D.
    The distance is the mean cost per frame.  Units: STFT magnitude x octaves.  A pure tone
    against a pure tone costs ``m * |log2(f_a / f_t)|``: a single basin as wide as the axis.
    Gain g scales it by g.  Cost per incremental step: one rfft, a cumsum and a dot product per
    new frame (~0.2 ms for 5512 new samples).  Parameters: :func:`spectral_ot`."""

    name = "spectral_ot"
    n_fft: ClassVar[int] = 2048
    hop: ClassVar[int] = 256
    fmin: ClassVar[float] = 20.0  # Hz: lower frequencies share its place on the axis
    mass_cost: ClassVar[float] = 1.0  # octaves per unit of unmatched magnitude

    def _analyses(self) -> list:
        du = F.log_frequency_steps(self.n_fft, self.sample_rate, self.fmin)
        mass_cost = self.mass_cost

        def cost(fx: np.ndarray, ft: np.ndarray) -> np.ndarray:
            mx, mt = fx[:, -1], ft[:, -1]
            return np.minimum(mx, mt) * np.sum(np.abs(fx[:, :-1] - ft[:, :-1]) * du, axis=1) + mass_cost * np.abs(mx - mt)

        tracker = functools.partial(F.Magnitudes, len(self.target), self.n_fft, self.hop, self.n_fft, 0.0)
        return [(tracker, _ot_feature, cost, 1.0)]


class Combination(Criterion):
    """A weighted sum ``sum_i w_i * d_i`` of other criteria's distances (each incremental
    as its own); built by :func:`combine`.  Units: those of the parts times the weights."""

    name = "combine"
    parts: ClassVar[tuple[tuple[object, float], ...]] = ()

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        self._criteria = [make(r, target=self.target, sample_rate=self.sample_rate, boundaries=self.boundaries) for r, _ in self.parts]

    def reset(self) -> None:
        super().reset()
        for c in self._criteria:
            c.reset()

    def _new_caches(self) -> None:
        self._criteria = [c.fork() for c in self._criteria]

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        if not start:
            for c in self._criteria:
                c.reset()
        return float(sum(w * c.distance(audio, step) for c, (_, w) in zip(self._criteria, self.parts)))


def _variant(base: type[Criterion], label: str, **attributes) -> type[Criterion]:
    """A subclass of ``base`` with class attributes replaced (not registered); ``name`` is ``label``."""
    for key in attributes:
        if not hasattr(base, key):
            raise TypeError(f"{base.name} has no parameter {key!r}")
    return type(base.__name__, (base,), {"name": label, "__module__": __name__, **attributes})


def multiscale(resolutions=DEFAULT_RESOLUTIONS, *, log: bool = False) -> type[Criterion]:
    """The multi-resolution magnitude criterion with other ``resolutions``: ``(n_fft, hop)`` or
    ``(n_fft, hop, window length)`` tuples, in samples.  Pass the result as ``reward=``."""
    res = _check_resolutions(resolutions)
    return _variant(Multiscale, f"multiscale{'_log' if log else ''}(resolutions={res})", resolutions=res, log=bool(log))


def spectral_ot(*, n_fft: int = 2048, hop: int = 256, fmin: float = 20.0, mass_cost: float = 1.0) -> type[Criterion]:
    """The spectral OT criterion with other parameters (samples, Hz, octaves per unit mass)."""
    if not (n_fft >= 16 and 0 < hop and fmin > 0 and mass_cost >= 0):
        raise ValueError(f"need n_fft >= 16, hop > 0, fmin > 0, mass_cost >= 0; got {n_fft}, {hop}, {fmin}, {mass_cost}")
    label = f"spectral_ot(n_fft={n_fft}, hop={hop}, fmin={fmin}, mass_cost={mass_cost})"
    return _variant(SpectralOT, label, n_fft=int(n_fft), hop=int(hop), fmin=float(fmin), mass_cost=float(mass_cost))


def combine(*parts: tuple[object, float], **weights: float) -> type[Criterion]:
    """A weighted sum of distances: ``combine(mfcc=1.0, multiscale=0.5)``; positional
    ``(reward, weight)`` pairs take criteria classes such as ``multiscale(...)``."""
    items = [*parts, *weights.items()]
    if not items:
        raise ValueError("combine() needs at least one (reward, weight)")
    for reward, weight in items:
        if isinstance(reward, str) and reward not in _REGISTRY:
            raise ValueError(f"unknown reward {reward!r}; available: {', '.join(available())}")
        if not (isinstance(reward, str) or (isinstance(reward, type) and issubclass(reward, Criterion))):
            raise TypeError(f"combine() takes reward names or Criterion classes, got {reward!r}")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not np.isfinite(weight) or weight < 0:
            raise ValueError(f"weight of {reward!r} must be a finite number >= 0, got {weight!r}")
    label = "combine(" + ", ".join(f"{getattr(r, 'name', r)}={float(w)}" for r, w in items) + ")"
    return _variant(Combination, label, parts=tuple((r, float(w)) for r, w in items))


class CallableCriterion(Criterion):
    """Wraps ``fn(observed, target, sample_rate) -> reward`` (higher is better,
    on the prefix pair, read-only float views): ``distance = -reward``.
    Computes from scratch on every call."""

    name = "callable"

    def __init__(self, fn: RewardFn, *, target: np.ndarray, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        self.fn = fn

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        stop = self.boundaries[step + 1]
        observed, target = audio[:stop].view(), self.target[:stop].view()
        observed.flags.writeable = target.flags.writeable = False
        value = self.fn(observed, target, self.sample_rate)
        try:
            reward = float(value)
        except (TypeError, ValueError):
            reward = float("nan")
        if not np.isfinite(reward):
            raise ValueError(f"reward function {self.fn!r} returned {value!r} at step {step}, not a finite number")
        return -reward


def make(reward: str | RewardFn | type[Criterion], *, target: np.ndarray, sample_rate: int, boundaries: np.ndarray) -> Criterion:
    """Build the criterion for one target: ``reward`` is a registered name
    (see :func:`available`), a Criterion subclass, or a callable
    ``fn(observed, target, sample_rate) -> reward`` (wrapped so that
    ``distance`` returns ``-fn(...)``).  An unknown name raises ValueError."""
    if isinstance(reward, str):
        if reward not in _REGISTRY:
            raise ValueError(f"unknown reward {reward!r}; available: {', '.join(available())}")
        return _REGISTRY[reward](target, sample_rate=sample_rate, boundaries=boundaries)
    if isinstance(reward, type) and issubclass(reward, Criterion):
        return reward(target, sample_rate=sample_rate, boundaries=boundaries)
    if callable(reward):
        return CallableCriterion(reward, target=target, sample_rate=sample_rate, boundaries=boundaries)
    raise TypeError(f"reward must be a name among {available()}, a Criterion subclass or a callable, got {reward!r}")
