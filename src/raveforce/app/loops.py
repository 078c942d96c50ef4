"""A loop's tempo and length from its audio: 1, 2 or 4 bars of 4/4 between 60 and 200 BPM.

A loop exported from a DAW lasts exactly its bars, so its length gives the tempo up to the
number of bars: a 2.53 s loop is 1 bar at 95 BPM or 2 bars at 190. Where several readings fit
the range, the loop's onsets decide (`evidence`): a reading too slow would have to call some
onsets 32nd notes (`grid`); a reading too fast leaves its odd 16th notes empty (`busy`); a
groove's backbeat, kick on 1 and 3 and snare on 2 and 4 as the `hits` classifier hears them,
sits on the right reading's beats (`backbeat`), counted as far as the loop repeats itself
(`repeat`: a random pattern has no backbeat to find). They are weighed with a log-normal tempo prior
around 120 BPM (the convention of beat trackers such as librosa's); the weights were chosen on
loops played by Hydrogen's dev kits (docs/benchmarks/tasks.md, "Loop tempo and length").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.fft

BARS = (1, 2, 4)
BEATS_PER_BAR = 4
BPM_RANGE = (60.0, 200.0)
PRIOR_BPM = 120.0
PRIOR_OCTAVES = 1.0  # the prior's standard deviation, in octaves of tempo (chosen on the dev split, as the weights below)
GRID_WEIGHT = 4.0  # how much onsets off a reading's 16th notes count against it (chosen on the dev split: docs/benchmarks/tasks.md, "Loop tempo and length")
BACKBEAT_WEIGHT = 2.0  # how much a backbeat (kick on 1 and 3, snare on 2 and 4) counts (chosen there too)
BUSY_WEIGHT = 1.0  # how much onsets on a reading's odd 16ths count for it (chosen there too)
REPEAT_POWER = 0.5  # the backbeat counts by (how alike the loop's halves are) ** this (chosen there too)
HOP = 128  # samples between onset-envelope frames
N_FFT = 1024
FLUX_FMAX = 2000.0  # Hz: `onset_envelope`'s default top frequency
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

    @property
    def confidence(self) -> float:
        """The chosen reading's share of exp(score) over every reading that fit: 1 when it was the only one."""
        if not self.readings:
            return 1.0
        scores = np.array(list(self.readings.values()))
        return float(np.exp(self.readings[(self.bpm, self.bars)] - np.logaddexp.reduce(scores)))

    def describe(self) -> str:
        others = [f"{b:g} BPM x {n} bar{'s' * (n > 1)}" for (b, n) in self.readings if (b, n) != (self.bpm, self.bars)]
        text = f"{self.bpm:g} BPM, {self.bars} bar{'s' * (self.bars > 1)} of 4/4 ({self.seconds:.3f} s)"
        return text + (f" (confidence {self.confidence:.2f}); also fits {', '.join(others)}, less likely" if others else "")


FULL_BAND_HZ = 22050.0  # `evidence`'s onset envelope: every onset, hi-hats included


def onset_envelope(audio: np.ndarray, sample_rate: int, *, fmin: float = 0.0, fmax: float = FLUX_FMAX) -> np.ndarray:
    """float64 (frames,): half-wave rectified spectral flux of log magnitudes from `fmin` to
    `fmax` Hz, one frame every HOP samples (frame i is centred on sample i * HOP), normalised to
    a maximum of 1."""
    x = np.pad(np.asarray(audio, np.float32), (N_FFT // 2, N_FFT // 2))
    if len(x) < N_FFT + HOP:
        return np.zeros(1)
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    lo = int(fmin / sample_rate * N_FFT)
    hi = max(lo + 1, int(fmax / sample_rate * N_FFT) + 1)
    spectrum = scipy.fft.rfft(frames * np.hanning(N_FFT).astype(np.float32), axis=1)  # single precision: twice double's speed
    magnitude = np.log1p(np.float32(100.0) * np.abs(spectrum[:, lo:hi]))
    flux = np.maximum(0.0, np.diff(magnitude, axis=0, prepend=magnitude[:1])).sum(axis=1, dtype=np.float64)
    return flux / max(flux.max(), 1e-12)


def strengths(envelope: np.ndarray, sample_rate: int, times: np.ndarray, tolerance: float) -> np.ndarray:
    """float64 (len(times),): the largest envelope value within `tolerance` s of each time (s)."""
    reach = max(1, int(round(tolerance * sample_rate / HOP)))
    centres = np.round(np.asarray(times) * sample_rate / HOP).astype(int)
    padded = np.concatenate([np.zeros(reach), envelope, np.zeros(reach + 1)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)
    return windows[np.clip(centres, 0, len(windows) - 1)].max(axis=1)


def grid_strengths(envelope: np.ndarray, sample_rate: int, seconds: float, bpm: float) -> np.ndarray:
    """float64 (sixteenths,): the onset strength at each 16th note of `bpm` over `seconds`: the
    largest envelope value within TOLERANCE of the position."""
    return strengths(envelope, sample_rate, np.arange(int(round(seconds * bpm / 15.0))) * 15.0 / bpm, TOLERANCE)


@dataclass(frozen=True)
class Evidence:
    """What a reading (bpm, bars) of a loop rests on: `grid`, minus the mean onset strength at the
    fastest reading's 16th notes that are not this reading's (the onsets this reading would have
    to call 32nd notes; 0 for the fastest); `backbeat`, snare-band onsets on beats 2 and 4 and
    kick-band onsets on 1 and 3, less the other way round (by the `hits` classifier); `busy`, how
    much happens on its odd 16th notes against its 8th notes (a reading twice too fast leaves
    its odd 16ths empty)."""

    bpm: float
    bars: int
    grid: float
    backbeat: float
    busy: float = 0.0  # log of the onset strength on its off-beat 16ths over that on its 8ths: low when it is too fine
    repeat: float = 1.0  # how alike the loop's two halves are (correlation of onset strengths, same for every reading)


def evidence(audio: np.ndarray, sample_rate: int) -> list[Evidence]:
    """The Evidence of every reading of 1, 2 or 4 bars that puts the loop within 60-200 BPM
    (LoopLengthError when none does)."""
    seconds = len(audio) / sample_rate
    fits = [(n * BEATS_PER_BAR * 60.0 / seconds, n) for n in BARS]
    fits = [(bpm, n) for bpm, n in fits if BPM_RANGE[0] * 0.999 <= bpm <= BPM_RANGE[1] * 1.001]
    if not fits:
        shortest, longest = (BARS[0] * BEATS_PER_BAR * 60 / b for b in BPM_RANGE[::-1])
        raise LoopLengthError(
            f"a loop of {seconds:.3f} s is not 1, 2 or 4 bars of 4/4 between {BPM_RANGE[0]:g} and {BPM_RANGE[1]:g} BPM "
            f"(1 bar lasts {shortest:.2f}-{longest:.2f} s, 4 bars up to {4 * longest:.1f} s); pass --bpm and --task-steps"
        )
    if len(fits) == 1:
        return [Evidence(fits[0][0], fits[0][1], 0.0, 0.0)]
    envelope = onset_envelope(audio, sample_rate, fmax=FULL_BAND_HZ)
    fastest = max(bpm for bpm, _ in fits)
    fine = np.arange(int(round(seconds * fastest / 15.0))) * 15.0 / fastest  # the fastest reading's 16th notes
    tolerance = min(TOLERANCE, 0.4 * 15.0 / fastest)
    full = strengths(envelope, sample_rate, fine, tolerance)
    half = len(full) // 2
    first, second = full[:half], full[half : 2 * half]
    repeat = float(np.corrcoef(first, second)[0, 1]) if half > 1 and first.std() > 0 and second.std() > 0 else 0.0
    found = []
    fast_beats = np.round(np.arange(max(n for _, n in fits) * BEATS_PER_BAR) * 60.0 / fastest * sample_rate).astype(int)
    fast_kick, fast_snare = drums_at(audio, sample_rate, fast_beats)  # every slower reading's beats are among these
    for bpm, n in fits:
        every = int(round(fastest / bpm))  # fine positions per 16th note of this reading (and its beats among the fastest's)
        on = np.arange(len(fine)) % every == 0
        grid = -float(full[~on].mean()) if (~on).any() else 0.0
        own = full[on]  # this reading's 16th notes
        busy = math.log((own[1::2].mean() + 0.02) / (own[0::2].mean() + 0.02)) if len(own) > 1 else 0.0
        kick, snare = fast_kick[::every], fast_snare[::every]
        even = np.arange(len(kick)) % 2 == 0  # beats 1 and 3 of each bar
        backbeat = (snare[~even].mean() - snare[even].mean()) + (kick[even].mean() - kick[~even].mean())
        found.append(Evidence(bpm, n, grid, float(backbeat), busy, repeat))
    return found


def drums_at(audio: np.ndarray, sample_rate: int, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P(kick), P(snare)) float64 (len(starts),): what the `hits` reward's classifier hears
    start at each sample position of `starts`."""
    from raveforce.rewards import hits

    p = hits.classifier().probabilities(hits.step_windows(audio, starts, np.full(len(starts), len(audio)), sample_rate))
    return p[:, 0], p[:, 1]


def choose(
    found: list[Evidence], seconds: float, *, prior_octaves: float = PRIOR_OCTAVES, grid_weight: float = GRID_WEIGHT,
    backbeat_weight: float = BACKBEAT_WEIGHT, busy_weight: float = BUSY_WEIGHT, repeat_power: float = REPEAT_POWER,
) -> LoopEstimate:  # fmt: skip
    """The likeliest reading: score -0.5 (log2(bpm / 120) / prior_octaves)^2 + grid_weight grid
    + backbeat_weight max(repeat, 0)^repeat_power backbeat + busy_weight busy: a backbeat counts
    as far as the loop repeats itself (a groove), not in a random pattern."""
    readings = {}
    for e in found:
        gate = max(e.repeat, 0.0) ** repeat_power if repeat_power else 1.0
        score = -0.5 * (math.log2(e.bpm / PRIOR_BPM) / prior_octaves) ** 2 + grid_weight * e.grid + backbeat_weight * gate * e.backbeat + busy_weight * e.busy
        readings[(round(e.bpm, 2), e.bars)] = score
    (bpm, bars), _ = max(readings.items(), key=lambda item: item[1])
    return LoopEstimate(bpm, bars, seconds, dict(sorted(readings.items(), key=lambda item: -item[1])))


def swing(audio: np.ndarray, sample_rate: int, starts: np.ndarray, played: np.ndarray) -> float | None:
    """How late a loop's off-beat steps sound, as a fraction of a step: the median offset of the
    onsets at the odd steps that `played` (bool (steps,)) less that at the even ones, each onset
    the strongest `onset_envelope` frame from a quarter step before its step's start (samples,
    `starts`) to half a step after. About 0 for a straight loop, 1/3 for a triplet shuffle; None
    with fewer than two played steps of each kind."""
    envelope = onset_envelope(audio, sample_rate)
    step = float(np.median(np.diff(starts))) if len(starts) > 1 else 0.0
    offsets: dict[int, list[float]] = {0: [], 1: []}
    for k in np.flatnonzero(played):
        lo, hi = int((starts[k] - step / 4) // HOP), int((starts[k] + step / 2) // HOP) + 1
        lo, hi = max(lo, 0), min(hi, len(envelope))
        if hi > lo:
            offsets[int(k) % 2].append(((lo + int(np.argmax(envelope[lo:hi]))) * HOP - starts[k]) / step)
    if min(len(offsets[0]), len(offsets[1])) < 2:
        return None
    return float(np.median(offsets[1]) - np.median(offsets[0]))


def steps_at(seconds: float, bpm: float, beats_per_step: float = 0.25) -> int:
    """Steps of `beats_per_step` beats that fill `seconds` at `bpm` (at least one)."""
    return max(1, round(seconds * bpm / 60.0 / beats_per_step))


def estimate(audio: np.ndarray, sample_rate: int, **settings) -> LoopEstimate:
    """The likeliest (bpm, bars) of a loop, audio float (samples,) mono at `sample_rate` Hz
    (`evidence`, then `choose` with `settings`). Raises LoopLengthError when no reading of 1,
    2 or 4 bars lands in 60-200 BPM."""
    return choose(evidence(audio, sample_rate), len(audio) / sample_rate, **settings)


__all__ = ["BARS", "BPM_RANGE", "Evidence", "LoopEstimate", "LoopLengthError", "choose", "estimate", "evidence", "grid_strengths", "onset_envelope", "steps_at", "strengths", "swing"]
