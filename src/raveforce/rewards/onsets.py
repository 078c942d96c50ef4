"""The "onsets" reward: per-band onsets and levels compared with a time tolerance (drum loops on
kits the agent has never heard; chosen on the kit family's dev split, docs/benchmarks/rewards.md "Kit family").

`reward="onsets"`, or `onsets(...)` for other parameters.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import maximum_filter

from raveforce.rewards import features as F
from raveforce.rewards.base import Criterion, register

ROUNDING_DB = 1e-3  # dB: feature differences below this are float rounding of a render (~6e-5 dB at the floor): 0
BLOCK = 32  # frames per band-power product (see Onsets._db)


@register
class Onsets(Criterion):
    """Band onsets and levels, each max-pooled over a few frames and bands, compared in dB.

    Frames of `n_fft` samples every `hop` (only frames wholly inside the prefix; Hann window),
    power in `bands` mel bands from `fmin` to `fmax` Hz, in dB floored `floor_db` below the
    target's loudest band-frame. Features per frame: each band's rise from the frame before
    (dB, >= 0: the onsets) and `level` times its dB above the floor; both sides' features are
    max-pooled over +-`time_tolerance` frames and +-`band_tolerance` bands; the distance is the
    mean |difference| (dB), differences under ROUNDING_DB counted as 0 (the optimum scores
    exactly 0 although a stream render differs from the target by float rounding). Gain-invariant above the floor (a voice 6 dB quieter moves only the
    level term, by 3 dB where it dominates), a hit up to 3 frames (17 ms) early or late costs
    little, a different drum sound in the same bands costs less than a missing or extra hit.
    Computes only the new frames each step; the pooling and comparison run over the prefix
    (~0.5 ms per step for a 2 s loop)."""

    name = "onsets"
    n_fft: ClassVar[int] = 1024
    hop: ClassVar[int] = 256
    bands: ClassVar[int] = 24
    fmin: ClassVar[float] = 30.0  # Hz
    fmax: ClassVar[float] = 16000.0  # Hz
    floor_db: ClassVar[float] = 60.0
    level: ClassVar[float] = 0.5  # weight of the band levels next to the onsets
    time_tolerance: ClassVar[int] = 3  # frames
    band_tolerance: ClassVar[int] = 1  # bands

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        self._basis = F.mel_triangles(self.sample_rate, self.n_fft, self.bands, self.fmin, self.fmax)
        self._window = np.hanning(self.n_fft + 1)[:-1]
        db = self._db(self.target, 0, self._frames(len(self.target)))
        self._floor = float(db.max()) - self.floor_db if len(db) else 0.0
        self._target_db = np.maximum(db, self._floor)
        self._target_features: dict[int, np.ndarray] = {}  # frames of the prefix -> its features, shared by forks
        self._new_caches()

    def _frames(self, samples: int) -> int:
        """Frames wholly inside the first `samples` samples."""
        return 0 if samples < self.n_fft else (samples - self.n_fft) // self.hop + 1

    def _db(self, audio: np.ndarray, first: int, stop: int) -> np.ndarray:
        """float64 (stop - first, bands): band power in dB of frames first..stop-1."""
        if stop <= first:
            return np.zeros((0, self.bands))
        span = np.asarray(audio[first * self.hop : (stop - 1) * self.hop + self.n_fft], np.float64)
        frames = sliding_window_view(span, self.n_fft)[:: self.hop]  # (stop - first, n_fft)
        spectra = np.fft.rfft(frames * self._window, axis=1)
        # A BLAS product's rounding of a row depends on how many rows it has and where the row is
        # (and on BLAS's threads): each frame is computed in the block of BLOCK frames it falls in,
        # so a step's frames have the same bits as the whole prefix's.
        lo = first - first % BLOCK
        power = np.zeros((-(-(stop - lo) // BLOCK) * BLOCK, spectra.shape[1]))
        power[first - lo : stop - lo] = spectra.real**2 + spectra.imag**2
        band = np.concatenate([power[b : b + BLOCK] @ self._basis for b in range(0, len(power), BLOCK)])
        return 10.0 * np.log10(np.maximum(band[first - lo : stop - lo], 1e-20))

    def _new_caches(self) -> None:
        self._audio_db = np.zeros_like(self._target_db)
        self._valid = 0  # frames of the prefix held in _audio_db
        self._pooled = np.zeros((max(0, len(self._target_db) - 1), 2 * self.bands))  # _features of the prefix

    def _features(self, db: np.ndarray) -> np.ndarray:
        """float64 (frames - 1, 2 * bands): the pooled rises and levels of (frames, bands) dB."""
        rise = np.maximum(np.diff(db, axis=0), 0.0)
        features = np.concatenate([rise, self.level * (db[1:] - self._floor)], axis=1)
        return maximum_filter(features, size=(2 * self.time_tolerance + 1, 2 * self.band_tolerance + 1), mode="nearest")

    def _pool_prefix(self, first: int, stop: int) -> np.ndarray:
        """`_features(self._audio_db[:stop])` where frames first..stop-1 are new or changed (first
        <= the last call's stop): only the rows they reach are pooled again (a row's maximum sees
        +-time_tolerance rows; the rows that saw the old end of the prefix are among them)."""
        t = self.time_tolerance
        lo = max(0, first - 1 - t)  # row first - 1 holds frame first's rise
        window = max(0, lo - t)  # row lo's maximum reads rows from lo - t
        self._pooled[lo : stop - 1] = self._features(self._audio_db[window:stop])[lo - window :]
        return self._pooled[: stop - 1]

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        stop = self._frames(int(self.boundaries[step + 1]))
        first = 0 if not start else min(self._valid, max(0, (start - self.n_fft) // self.hop + 1))
        self._audio_db[first:stop] = np.maximum(self._db(audio, first, stop), self._floor)
        self._valid = stop
        if stop < 2:
            return 0.0
        target = self._target_features.get(stop)
        if target is None:
            target = self._target_features[stop] = self._features(self._target_db[:stop])
        difference = np.abs(self._pool_prefix(first, stop) - target)
        difference[difference < ROUNDING_DB] = 0.0
        return float(np.mean(difference))


_PARAMETERS = ("n_fft", "hop", "bands", "fmin", "fmax", "floor_db", "level", "time_tolerance", "band_tolerance")


def onsets(**parameters) -> type[Criterion]:
    """The onsets criterion with other parameters (see `Onsets`); pass the result as `reward=`."""
    unknown = sorted(set(parameters) - set(_PARAMETERS))
    if unknown:
        raise TypeError(f"onsets() has no parameter(s) {unknown}; valid: {', '.join(_PARAMETERS)}")
    label = "onsets(" + ", ".join(f"{k}={v}" for k, v in sorted(parameters.items())) + ")"
    return type("Onsets", (Onsets,), {"name": label, "__module__": __name__, **parameters})


__all__ = ["Onsets", "onsets"]
