"""Weighted sums of other criteria."""

from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np

from raveforce.rewards.base import Criterion, _variant, available, make


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



def combine(*parts: tuple[object, float], **weights: float) -> type[Criterion]:
    """A weighted sum of distances: ``combine(mfcc=1.0, multiscale=0.5)``; positional
    ``(reward, weight)`` pairs take criteria classes such as ``multiscale(...)``."""
    items = [*parts, *weights.items()]
    if not items:
        raise ValueError("combine() needs at least one (reward, weight)")
    for reward, weight in items:
        if isinstance(reward, str) and reward not in available():
            raise ValueError(f"unknown reward {reward!r}; available: {', '.join(available())}")
        if not (isinstance(reward, str) or (isinstance(reward, type) and issubclass(reward, Criterion))):
            raise TypeError(f"combine() takes reward names or Criterion classes, got {reward!r}")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not np.isfinite(weight) or weight < 0:
            raise ValueError(f"weight of {reward!r} must be a finite number >= 0, got {weight!r}")
    label = "combine(" + ", ".join(f"{getattr(r, 'name', r)}={float(w)}" for r, w in items) + ")"
    return _variant(Combination, label, parts=tuple((r, float(w)) for r, w in items))

