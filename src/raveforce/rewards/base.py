"""The criterion protocol, its checks and the registry of reward names.

A :class:`Criterion` holds one target (mono, (n,)) and its step ``boundaries`` (samples), and
returns after each step the distance (>= 0) between features of the rendered prefix and the
target prefix; the env's reward is its negative.  :func:`make` builds one from a registered
name, a Criterion subclass or a plain callable.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable
from typing import ClassVar

import numpy as np

RewardFn = Callable[[np.ndarray, np.ndarray, int], float]


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
    # Batching (see batch_distances): the cache arrays, as attribute paths (an int indexes a list),
    # that a batch of criteria keeps as rows of shared (m, ...) arrays; empty: the class does not batch.
    # An instance may set its own (paths that depend on its sample rate).
    _batch_caches: tuple[tuple[str | int, ...], ...] = ()

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        self.target, self.sample_rate, self.boundaries = _check_episode(target, sample_rate, boundaries)
        self._edges: list[int] = self.boundaries.tolist()  # the boundaries as ints, for fast slicing
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
        if not math.isfinite(value):
            raise ValueError(f"{self.name} distance at step {step} is {value!r}: audio has non-finite samples")
        self._last_start, self._last_segment = start, np.array(audio[start:stop])
        self._step = int(step)
        return value

    def _span(self, audio: np.ndarray, step: int) -> tuple[int, int]:
        """Validate a call; return the step's new samples ``[start, stop)``."""
        edges = self._edges
        if type(step) is not int and (isinstance(step, bool) or not isinstance(step, numbers.Integral)) or not 0 <= step < len(edges) - 1:
            raise ValueError(f"step must be an integer in [0, {self.n_steps}), got {step!r}")
        stop = edges[step + 1]
        audio = np.asarray(audio)
        if audio.ndim != 1 or len(audio) < stop:
            raise ValueError(f"audio must be 1-D with at least {stop} samples for step {step}, got shape {audio.shape}")
        return edges[step], stop

    def _follows(self, audio: np.ndarray, step: int, start: int) -> bool:
        """Whether the caches hold ``audio[:start]``: this call is incremental.  Only in order and on
        the same prefix: the step before must hold the samples it held last call (evaluating
        another candidate's audio would silently reuse the cache)."""
        last = self._last_segment  # np.array_equal's result, without its overhead
        return self._step is not None and step == self._step + 1 and len(last) == start - self._last_start and bool((audio[self._last_start : start] == last).all())

    def _after_batching(self) -> None:
        """Called once this criterion's ``_batch_caches`` arrays became rows of a batch's arrays."""

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        """Return the distance for ``step``; ``start`` is 0 (from scratch) or
        ``boundaries[step]`` (caches hold the prefix up to there)."""
        raise NotImplementedError

    @classmethod
    def _batch_update(cls, batch, audio: np.ndarray, step: int, start: int, follows: np.ndarray) -> np.ndarray:
        """(m,) distances of ``batch.criteria`` (a ``rewards.batch._Batch``) for rows of ``audio``; row i is incremental from
        ``start`` if ``follows[i]``, else from scratch (classes with ``_batch_caches``)."""
        raise NotImplementedError


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


def _variant(base: type[Criterion], label: str, **attributes) -> type[Criterion]:
    """A subclass of ``base`` with class attributes replaced (not registered); ``name`` is ``label``."""
    for key in attributes:
        if not hasattr(base, key):
            raise TypeError(f"{base.name} has no parameter {key!r}")
    return type(base.__name__, (base,), {"name": label, "__module__": __name__, **attributes})



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
