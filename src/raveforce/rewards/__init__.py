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

One module per family: ``base`` (protocol, registry, :func:`make`), ``paper`` (the four
above), ``robust`` (multi-resolution magnitudes, spectral optimal transport), ``pitch``
(``steady_ot``: where a sound settles in log frequency), ``onsets`` (band
onsets and levels with a time tolerance, for loops on other kits), ``hits`` (a drum-hit
classifier trained on the kit family: which drums each step starts), ``kit_hits`` (the same for
ten voices, with how loud each is heard), ``combine``
(weighted sums), ``batch`` (many criteria in a few numpy calls), ``features`` (the exact
numpy/scipy feature machinery they share: windows, mel and CQT bases, frame caches).

May import: numpy and scipy; nothing of RaveForce outside this package (a reward is a pure
function of the audio and the target).
"""

from raveforce.rewards.base import (
    CallableCriterion,
    Criterion,
    RewardFn,
    available,
    make,
    register,
)
from raveforce.rewards.batch import batch_distances
from raveforce.rewards.combine import Combination, combine
from raveforce.rewards.hits import Hits
from raveforce.rewards.kit_hits import KitHits
from raveforce.rewards.onsets import Onsets, onsets
from raveforce.rewards.paper import (
    CQT,
    MFCC,
    MSE,
    STFT,
    cqt_distance,
    mfcc_distance,
    mse_distance,
    stft_distance,
)
from raveforce.rewards.pitch import SteadyOT, steady_ot
from raveforce.rewards.robust import (
    DEFAULT_RESOLUTIONS,
    Multiscale,
    MultiscaleLog,
    SpectralOT,
    multiscale,
    spectral_ot,
)

__all__ = [
    "CQT",
    "DEFAULT_RESOLUTIONS",
    "MFCC",
    "MSE",
    "STFT",
    "CallableCriterion",
    "Combination",
    "Criterion",
    "Hits",
    "KitHits",
    "Multiscale",
    "MultiscaleLog",
    "Onsets",
    "RewardFn",
    "SpectralOT",
    "SteadyOT",
    "available",
    "batch_distances",
    "combine",
    "cqt_distance",
    "make",
    "mfcc_distance",
    "mse_distance",
    "multiscale",
    "onsets",
    "register",
    "spectral_ot",
    "steady_ot",
    "stft_distance",
]
