"""Tempo ranges of the transcription envs: a tempo drawn at every reset, observations padded to
the slowest tempo's length."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from raveforce.errors import ArgumentError
from raveforce.task import Task

TEMPO_LIMITS = (30.0, 300.0)  # BPM a tempo range may span (16th-note steps of 2205 to 22050 samples)


@dataclasses.dataclass(frozen=True)
class TempoRange:
    """A tempo drawn uniformly from [low, high] BPM at every reset. The env is built at `low`
    (the longest episode), so its observations keep one length: shorter episodes are
    zero-padded to it."""

    low: float
    high: float

    @classmethod
    def parse(cls, bpm) -> TempoRange:
        """The range of `bpm=(low, high)`; ArgumentError naming the valid values otherwise."""
        lo_limit, hi_limit = TEMPO_LIMITS
        numbers = isinstance(bpm, (tuple, list)) and len(bpm) == 2 and all(
            isinstance(b, (int, float, np.integer, np.floating)) and not isinstance(b, (bool, np.bool_)) and math.isfinite(b) for b in bpm
        )
        if not numbers or not lo_limit <= bpm[0] < bpm[1] <= hi_limit:
            raise ArgumentError(
                f"bpm={bpm!r} is neither a tempo (a number) nor a tempo range (low, high) with "
                f"{lo_limit:g} <= low < high <= {hi_limit:g} BPM, e.g. bpm=(90, 140)"
            )
        return cls(float(bpm[0]), float(bpm[1]))

    def draw(self, rng: np.random.Generator, bpm=None) -> float:
        """A tempo from the range, or `bpm` (reset option) if it lies within it."""
        if bpm is None:
            return float(rng.uniform(self.low, self.high))
        if isinstance(bpm, bool) or not isinstance(bpm, (int, float, np.integer, np.floating)) or not self.low <= bpm <= self.high:
            raise ArgumentError(f"reset option bpm={bpm!r} is outside this env's tempo range {self.low:g}-{self.high:g} BPM")
        return float(bpm)


def split_bpm(bpm, kwargs: dict) -> TempoRange | None:
    """A tempo range for `bpm=(low, high)` (kwargs get bpm=low); a number goes on as a task
    option (kwargs["bpm"]); None leaves the task's."""
    if bpm is None:
        return None
    if isinstance(bpm, (int, float, np.integer, np.floating)) and not isinstance(bpm, bool):
        kwargs["bpm"] = bpm
        return None
    tempo = TempoRange.parse(bpm)
    kwargs["bpm"] = tempo.low
    return tempo


def check_retimable(renderer, task: Task, tempo: TempoRange) -> None:
    """Raise ArgumentError unless `renderer` (built for `task` at tempo.low) plays the whole range."""
    if not hasattr(renderer, "retime"):
        raise ArgumentError(f"renderer {renderer!r} has no retime(task): a tempo range needs one (use renderer='auto')")
    renderer.retime(dataclasses.replace(task, bpm=tempo.high))  # the fastest tempo: the shortest steps
    renderer.retime(task)
