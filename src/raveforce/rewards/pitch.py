"""The "steady_ot" reward: where a sound settles on a log-frequency axis (a swept kick's end pitch).

`spectral_ot` weighs each frame by its magnitude, so a short kick is judged by its loud pitch
sweep and a single sine lands 70-1200 cents above the pitch the kick settles on. `steady_ot`
compares every frame's spectrum as a distribution (level-free) and weighs the frames where the
target's spectrum holds still. Chosen on the kit family's train/dev kicks (BENCHMARKS.md "Kit
family"); KickFrequency's default.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from raveforce import _features as F
from raveforce.rewards.base import Criterion, _variant, register
from raveforce.rewards.robust import _PrefixFrames


def _distribution(mags: np.ndarray) -> np.ndarray:
    """(frames, bins) magnitudes -> (frames, bins): the CDF of the power spectrum over bins
    0..bins-2, then the frame's power sum |X|**2 (0 for a silent frame: its CDF is all 0)."""
    cum = np.cumsum(mags * mags, axis=1)
    power = cum[:, -1:]
    return np.concatenate([cum[:, :-1] / np.where(power > 0, power, 1.0), power], axis=1)


@register
class SteadyOT(Criterion):
    """Log-frequency optimal transport between per-frame spectra, weighted to the target's steady frames.

    Frames as `spectral_ot` (centred, zero-padded, Hann, `n_fft` / `hop`), each power spectrum
    normalised to a distribution over u = log2(max(f, `fmin`)) (octaves). Per frame t the cost
    is W1(p_audio, p_target) in octaves (a silent audio frame costs the whole axis,
    log2(nyquist / fmin)); the distance is sum_t w_t cost_t / sum_t w_t with target-only weights
    w_t = [frame t within `floor_db` dB of the target's loudest frame] * exp(-(s_t - min s) /
    `steadiness`), s_t = W1(p_target[t - 1], p_target[t]) octaves (the first frame: s = inf).
    A sweep moves its distribution every frame and weighs little; the tone it settles on weighs
    most. Units: octaves; gain-invariant (levels are not compared); a silent target scores 0.
    Cost per incremental step: one rfft and a cumsum per new frame, as spectral_ot."""

    name = "steady_ot"
    n_fft: ClassVar[int] = 2048
    hop: ClassVar[int] = 256
    fmin: ClassVar[float] = 20.0  # Hz: lower frequencies share its place on the axis
    floor_db: ClassVar[float] = 60.0  # frames quieter than this below the loudest weigh 0
    steadiness: ClassVar[float] = 0.05  # octaves of frame-to-frame movement that divide a weight by e

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        self._du = F.log_frequency_steps(self.n_fft, self.sample_rate, self.fmin)
        self._frames = _PrefixFrames(self._tracker(), self.target, self.boundaries, _distribution)
        self._weights = [self._steady_weights(self._frames.rows(k, 0, self._frames.firsts[k] + len(self._frames.snaps[k]))) for k in range(self.n_steps)]
        self._new_caches()

    def _tracker(self) -> F.Magnitudes:
        return F.Magnitudes(len(self.target), self.n_fft, self.hop, self.n_fft, 0.0)

    def _steady_weights(self, rows: np.ndarray) -> np.ndarray:
        """(frames,) weights of the target prefix's frames (rows: `_distribution` of each)."""
        power = rows[:, -1]
        if not power.max() > 0:
            return np.zeros(len(rows))
        audible = power >= power.max() * 10.0 ** (-self.floor_db / 10.0)
        moved = np.full(len(rows), np.inf)
        moved[1:] = np.abs(np.diff(rows[:, :-1], axis=0)) @ self._du
        settled = moved[audible].min() if np.isfinite(moved[audible]).any() else 0.0
        return np.where(audible, np.exp(-(moved - settled) / self.steadiness), 0.0)

    def _new_caches(self) -> None:
        self._tracker_audio = self._tracker()
        self._costs = np.zeros(len(self._frames.final))

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        if not start:
            self._tracker_audio.clear()
        first, stop, mags = self._tracker_audio.extend(start, audio[start : self.boundaries[step + 1]])
        fx, ft = _distribution(mags), self._frames.rows(step, first, stop)
        cost = np.abs(fx[:, :-1] - ft[:, :-1]) @ self._du
        self._costs[first:stop] = np.where(fx[:, -1] > 0, cost, np.sum(self._du))
        weights = self._weights[step]
        total = weights.sum()
        return float(weights @ self._costs[:stop] / total) if total > 0 else 0.0


def steady_ot(*, n_fft: int = 2048, hop: int = 256, fmin: float = 20.0, floor_db: float = 60.0, steadiness: float = 0.05) -> type[Criterion]:
    """The steady_ot criterion with other parameters (samples, Hz, dB, octaves); pass as `reward=`."""
    if not (n_fft >= 16 and hop > 0 and fmin > 0 and floor_db > 0 and steadiness > 0):
        raise ValueError(f"need n_fft >= 16, hop > 0, fmin > 0, floor_db > 0, steadiness > 0; got {n_fft}, {hop}, {fmin}, {floor_db}, {steadiness}")
    label = f"steady_ot(n_fft={n_fft}, hop={hop}, fmin={fmin}, floor_db={floor_db}, steadiness={steadiness})"
    return _variant(SteadyOT, label, n_fft=int(n_fft), hop=int(hop), fmin=float(fmin), floor_db=float(floor_db), steadiness=float(steadiness))


__all__ = ["SteadyOT", "steady_ot"]
