"""``kit_hits``: what the full-kit classifier hears at each step: which of ten drums start there,
and how loud.

The network is `hits`' (the same log-mel window of a step, 23 ms before its start to 105 ms
after), its dense layer also fed the window's loudest value (`level`), with 20 outputs: the
probability that each of kick, snare, clap, closed hat, open hat, low, mid and high tom, crash and
ride starts at the step, and the velocity it hears for each (MIDI / 127, through a logistic). It
is trained on grid loops of the kit family's and Hydrogen's *train* kits
(`scripts/train_kit_classifier.py`) and ships in ``raveforce/data/models/kit_classifier.npz``.

The distance after step k: for every step 0..k and voice, the probability p and the heard
loudness p * v of the rendered prefix against the target's, squared differences (each less
``hits.SAME``, floored at 0) averaged over the 20 values and the steps. A different kit playing
the same pattern at the same velocities scores near 0; a hit at another velocity costs the square
of the velocity's difference (in MIDI / 127). Each window is computed alone, so a step's value
does not depend on what else is computed with it, and never changes once the step is played.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from pathlib import Path

import numpy as np

from raveforce.rewards import hits
from raveforce.rewards.base import register

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "models" / "kit_classifier.npz"
FORMAT = "raveforce-kit-classifier-1"
LEVEL_FLOOR_DB = 100.0  # a window's loudest mel power, dB, maps from [-100, 0] to [0, 1]


def level(db: np.ndarray) -> np.ndarray:
    """float32 (n,): the loudest value of each (n, frames, bands) `hits.step_windows_db` window, scaled to [0, 1]."""
    return np.clip(db.max(axis=(-2, -1)) / LEVEL_FLOOR_DB + 1.0, 0.0, 1.0).astype(np.float32)


class KitClassifier(hits.HitClassifier):
    """`hits.HitClassifier` whose dense layer takes the window's `level` too, with 2 * voices
    outputs (onset logits, then velocity logits)."""

    FORMAT, KIND = FORMAT, "kit classifier"

    def __init__(self, arrays: dict[str, np.ndarray], pools=((1, 2), (2, 2)), thresholds=None) -> None:
        super().__init__(arrays, pools)
        voices = len(self.w["dense2.bias"]) // 2
        self.thresholds = np.full(voices, 0.5) if thresholds is None else np.asarray(thresholds, np.float64)  # (voices,): P above which a voice is played

    @classmethod
    def load(cls, path: Path = MODEL_PATH):
        """The classifier in ``path`` (.npz, its header naming FORMAT, the pools and, if chosen, each
        voice's threshold); ValueError naming a missing or foreign file."""
        header, arrays = cls.read(path)
        return cls(arrays, header["pools"], header.get("thresholds"))

    def outputs(self, windows: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(voice starts) float64 (n, voices), velocity MIDI / 127 float64 (n, voices)) of (n,
        frames, bands) normalised windows and their (n,) levels."""
        logistic = self.hidden_probabilities(self.hidden(windows, levels))
        voices = logistic.shape[1] // 2
        return logistic[:, :voices], logistic[:, voices:]


@functools.cache
def classifier() -> KitClassifier:
    """The shipped classifier, loaded once per process."""
    return KitClassifier.load()


_memo: OrderedDict[bytes, np.ndarray] = OrderedDict()


def _heard(seen: np.ndarray) -> np.ndarray:
    """float64 (2 * voices,): p then p * v of the shipped classifier for ``hits.heard`` samples (`hits.remembered`)."""
    return hits.remembered(_memo, seen, _values)


def _values(seen: np.ndarray) -> np.ndarray:
    db = hits.window_db(seen)[None]
    p, v = classifier().outputs(hits.normalise(db), level(db))
    return np.concatenate([p[0], p[0] * v[0]])


@register
class KitHits(hits.Hits):
    """Mean squared difference of the full-kit classifier's onset probabilities p and heard
    loudness p * v (ten voices each) over the steps played so far (each difference less
    ``hits.SAME``, floored at 0). Listens at 44.1 kHz, as ``hits``."""

    name = "kit_hits"

    @staticmethod
    def _window_values(seen: np.ndarray) -> np.ndarray:
        """(20,) p then p * v of one step's ``hits.heard`` samples."""
        return _heard(seen)


__all__ = ["FORMAT", "MODEL_PATH", "KitClassifier", "KitHits", "classifier", "level"]
