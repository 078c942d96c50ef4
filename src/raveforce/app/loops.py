"""A loop's tempo and length from its audio: 1, 2 or 4 bars of 4/4 between 60 and 200 BPM.

A loop exported from a DAW lasts exactly its bars, so its length gives the tempo up to the
number of bars: a 2.53 s loop is 1 bar at 95 BPM or 2 bars at 190. Where several readings fit
the range, onset periodicity decides: the reading whose beats carry the loop's strongest
onsets (kick and snare land on beats; hi-hats fill the 8ths and 16ths between them), weighed
by a log-normal tempo prior around 120 BPM (the convention of beat trackers such as librosa's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

BARS = (1, 2, 4)
BEATS_PER_BAR = 4
BPM_RANGE = (60.0, 200.0)
PRIOR_BPM = 120.0
PRIOR_OCTAVES = 2.0  # the prior's standard deviation, in octaves of tempo (chosen on the dev split)
BEAT_WEIGHT = 4.0  # how much the onsets on beats count against the prior (chosen on the dev split: docs/benchmarks/tasks.md, "Loop tempo and length")
HOP = 128  # samples between onset-envelope frames
N_FFT = 1024
FLUX_FMAX = 2000.0  # Hz: the onset envelope's top frequency (chosen on the dev split: docs/benchmarks/tasks.md, "Loop tempo and length")
TOLERANCE = 0.02  # s: an onset this close to a grid position counts as on it


class LoopLengthError(ValueError):
    """No reading of 1, 2 or 4 bars of 4/4 puts the loop between 60 and 200 BPM."""


@dataclass(frozen=True)
class LoopEstimate:
    """bpm (rounded to 0.01), bars, seconds (the loop's length), and every reading that fit the
    range with its score (higher is likelier): {(bpm, bars): score}."""

    bpm: float
    bars: int
    seconds: float
    readings: dict = field(default_factory=dict, compare=False)

    def steps(self, beats_per_step: float = 0.25) -> int:
        """Steps of `beats_per_step` beats that fill the loop (16th notes: 16 per bar)."""
        return max(1, round(self.bars * BEATS_PER_BAR / beats_per_step))

    def describe(self) -> str:
        others = [f"{b:g} BPM x {n} bar{'s' * (n > 1)}" for (b, n) in self.readings if (b, n) != (self.bpm, self.bars)]
        text = f"{self.bpm:g} BPM, {self.bars} bar{'s' * (self.bars > 1)} of 4/4 ({self.seconds:.3f} s)"
        return text + (f"; also fits {', '.join(others)}, less likely" if others else "")


def onset_envelope(audio: np.ndarray, sample_rate: int, *, fmax: float = FLUX_FMAX) -> np.ndarray:
    """float64 (frames,): half-wave rectified spectral flux of log magnitudes below `fmax` Hz
    (where kicks and snares are, hi-hats mostly are not), one frame every HOP samples (frame i
    is centred on sample i * HOP), normalised to a maximum of 1."""
    x = np.pad(np.asarray(audio, np.float64), (N_FFT // 2, N_FFT // 2))
    if len(x) < N_FFT + HOP:
        return np.zeros(1)
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    bins = max(2, int(fmax / sample_rate * N_FFT) + 1)
    magnitude = np.log1p(100.0 * np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1)[:, :bins]))
    flux = np.maximum(0.0, np.diff(magnitude, axis=0, prepend=magnitude[:1])).sum(axis=1)
    return flux / max(flux.max(), 1e-12)


def grid_strengths(envelope: np.ndarray, sample_rate: int, seconds: float, bpm: float) -> np.ndarray:
    """float64 (sixteenths,): the onset strength at each 16th note of `bpm` over `seconds`: the
    largest envelope value within TOLERANCE of the position."""
    reach = max(1, int(TOLERANCE * sample_rate / HOP))
    strengths = []
    for k in range(int(round(seconds * bpm / 15.0))):
        centre = int(round(k * 15.0 / bpm * sample_rate / HOP))
        window = envelope[max(0, centre - reach) : centre + reach + 1]
        strengths.append(window.max() if window.size else 0.0)
    return np.asarray(strengths)


def estimate(
    audio: np.ndarray, sample_rate: int, *, prior_octaves: float = PRIOR_OCTAVES, beat_weight: float = BEAT_WEIGHT, fmax: float = FLUX_FMAX
) -> LoopEstimate:
    """The likeliest (bpm, bars) of a loop, audio float (samples,) mono at `sample_rate` Hz.
    A reading scores -0.5 (log2(bpm / 120) / prior_octaves)^2 + beat_weight log(mean onset
    strength on its beats / mean on the finest grid). Raises LoopLengthError when no reading
    of 1, 2 or 4 bars lands in 60-200 BPM."""
    seconds = len(audio) / sample_rate
    fits = [(n * BEATS_PER_BAR * 60.0 / seconds, n) for n in BARS]
    fits = [(bpm, n) for bpm, n in fits if BPM_RANGE[0] * 0.999 <= bpm <= BPM_RANGE[1] * 1.001]
    if not fits:
        shortest, longest = (BARS[0] * BEATS_PER_BAR * 60 / b for b in BPM_RANGE[::-1])
        raise LoopLengthError(
            f"a loop of {seconds:.3f} s is not 1, 2 or 4 bars of 4/4 between {BPM_RANGE[0]:g} and {BPM_RANGE[1]:g} BPM "
            f"(1 bar lasts {shortest:.2f}-{longest:.2f} s, 4 bars up to {4 * longest:.1f} s); pass --bpm and --task-steps"
        )
    fastest = max(bpm for bpm, _ in fits)
    grid = grid_strengths(onset_envelope(audio, sample_rate, fmax=fmax), sample_rate, seconds, fastest) if len(fits) > 1 else None
    readings = {}
    for bpm, n in fits:
        score = -0.5 * (math.log2(bpm / PRIOR_BPM) / prior_octaves) ** 2
        if grid is not None and grid.mean() > 0:  # the mean onset strength on this reading's beats, on the finest grid
            beats = grid[:: int(round(4 * fastest / bpm))]
            score += beat_weight * math.log(max(beats.mean() / grid.mean(), 1e-6))
        readings[(round(bpm, 2), n)] = score
    (bpm, bars), _ = max(readings.items(), key=lambda item: item[1])
    return LoopEstimate(bpm, bars, seconds, dict(sorted(readings.items(), key=lambda item: -item[1])))


__all__ = ["BARS", "BPM_RANGE", "LoopEstimate", "LoopLengthError", "estimate", "grid_strengths", "onset_envelope"]
