"""The "steady_ot" reward: where a sound settles on a log-frequency axis (a swept kick's end pitch).

`spectral_ot` weighs each frame by its magnitude, so a short kick is judged by its loud pitch
sweep and a single sine lands 70-1200 cents above the pitch the kick settles on. `steady_ot`
compares every frame's spectrum as a distribution (level-free) and weighs the frames where the
target's spectrum holds still. Chosen on the kit family's train/dev kicks (docs/benchmarks/rewards.md "Kit
family"); KickFrequency's default.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np

from raveforce.rewards import features as F
from raveforce.rewards.base import Criterion, _variant, register
from raveforce.rewards.robust import _Framewise


def _distribution(power: np.ndarray) -> np.ndarray:
    """(..., bins) powers |X|**2 -> (..., bins + 1): the CDF of the power spectrum over bins
    0..bins-2, the frame's power sum (0 for a silent frame: its CDF is all 0), and a slot for
    the frame's weight (set for the target by `SteadyOT`, 0 for the audio)."""
    out = np.empty((*power.shape[:-1], power.shape[-1] + 1))
    cum = F.cumsum_rows(power, out=out[..., :-1])
    total = cum[..., -1:]
    cum[..., :-1] /= np.where(total > 0, total, 1.0)
    out[..., -1] = 0.0
    return out


@register
class SteadyOT(_Framewise):
    """Log-frequency optimal transport between per-frame spectra, weighted to the target's steady frames.

    Frames as `spectral_ot` (centred, zero-padded, Hann, `n_fft` / `hop`), each power spectrum
    normalised to a distribution over u = log2(max(f, `fmin`)) (octaves). Per frame t the cost
    is W1(p_audio, p_target) in octaves (a silent audio frame costs the whole axis,
    log2(nyquist / fmin)); the distance after a step is sum_t w_t cost_t / sum_t w_t over the
    prefix's frames, with weights from the whole target: w_t = [frame t within `floor_db` dB of
    the loudest frame] * exp(-(s_t - min s) / `steadiness`), s_t = W1(p_target[t - 1],
    p_target[t]) octaves (the first frame: s = inf). A sweep moves its distribution every frame
    and weighs little; the tone it settles on weighs most. Units: octaves; gain-invariant (levels
    are not compared); a silent target scores 0. Cost per incremental step: one rfft and a cumsum
    per new frame, as spectral_ot; batched across sub-envs like it."""

    name = "steady_ot"
    n_fft: ClassVar[int] = 2048
    hop: ClassVar[int] = 256
    fmin: ClassVar[float] = 20.0  # Hz: lower frequencies share its place on the axis
    floor_db: ClassVar[float] = 60.0  # frames quieter than this below the loudest weigh 0
    steadiness: ClassVar[float] = 0.05  # octaves of frame-to-frame movement that divide a weight by e

    @classmethod
    def _analysis_count(cls) -> int:
        return 1

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        weights = self._targets[0].final[:, -1]
        # _Framewise gives sum(w * cost) / frames; times frames / sum(w) makes it the weighted mean
        counts = [F.n_frames(int(b), self.hop) for b in self.boundaries[1:]]
        self._rescale = np.array([n / w if (w := weights[:n].sum()) > 0 else 0.0 for n in counts])

    def _finish_target_frames(self, frames) -> None:
        """Each target frame's last column: its weight."""
        (frames,) = frames
        weights = self._steady_weights(frames.final)
        frames.final[:, -1] = weights
        for first, snap in zip(frames.firsts, frames.snaps):
            snap[:, -1] = weights[first : first + len(snap)]

    def _analyses(self) -> list:
        du = F.log_frequency_steps(self.n_fft, self.sample_rate, self.fmin)
        self._du = du
        silent = float(np.sum(du))

        def cost(fx: np.ndarray, ft: np.ndarray) -> np.ndarray:
            moved = fx[..., :-2] - ft[..., :-2]
            moved = np.abs(moved, out=moved) @ du
            return ft[..., -1] * np.where(fx[..., -2] > 0, moved, silent)

        tracker = functools.partial(F.Magnitudes, len(self.target), self.n_fft, self.hop, self.n_fft, 0.0, power=True)
        return [(tracker, _distribution, cost, 1.0)]

    def _steady_weights(self, rows: np.ndarray) -> np.ndarray:
        """(frames,) weights of the target's frames (rows: `_distribution` of each)."""
        power = rows[:, -2]
        if not power.max() > 0:
            return np.zeros(len(rows))
        audible = power >= power.max() * 10.0 ** (-self.floor_db / 10.0)
        moved = np.full(len(rows), np.inf)
        moved[1:] = np.abs(np.diff(rows[:, :-2], axis=0)) @ self._du
        settled = moved[audible].min() if np.isfinite(moved[audible]).any() else 0.0
        return np.where(audible, np.exp(-(moved - settled) / self.steadiness), 0.0)

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        return super()._update(audio, step, start) * float(self._rescale[step])

    @classmethod
    def _batch_update(cls, batch, audio: np.ndarray, step: int, start: int, follows: np.ndarray) -> np.ndarray:
        return super()._batch_update(batch, audio, step, start, follows) * np.array([c._rescale[step] for c in batch.criteria])


def steady_ot(*, n_fft: int = 2048, hop: int = 256, fmin: float = 20.0, floor_db: float = 60.0, steadiness: float = 0.05) -> type[Criterion]:
    """The steady_ot criterion with other parameters (samples, Hz, dB, octaves); pass as `reward=`."""
    if not (n_fft >= 16 and hop > 0 and fmin > 0 and floor_db > 0 and steadiness > 0):
        raise ValueError(f"need n_fft >= 16, hop > 0, fmin > 0, floor_db > 0, steadiness > 0; got {n_fft}, {hop}, {fmin}, {floor_db}, {steadiness}")
    label = f"steady_ot(n_fft={n_fft}, hop={hop}, fmin={fmin}, floor_db={floor_db}, steadiness={steadiness})"
    return _variant(SteadyOT, label, n_fft=int(n_fft), hop=int(hop), fmin=float(fmin), floor_db=float(floor_db), steadiness=float(steadiness))


__all__ = ["SteadyOT", "steady_ot"]
