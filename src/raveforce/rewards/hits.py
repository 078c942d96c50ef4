"""``hits``: what a drum-hit classifier hears at each step, for loops played on other kits.

A small convolutional network, trained on loops of the kit family's *train* split and on loops
played by Hydrogen's *train* kits with renditions (``scripts/train_hit_classifier.py``), listens to the first ~110 ms of a step (log-mel frames
from 23 ms before its start to 105 ms after, each window relative to its own loudest value) and
gives the probability that a kick, a snare and a hat start there. The distance after step k is
the mean squared difference between the probabilities of the rendered prefix's steps 0..k and
the target's (differences under ``SAME`` count as none): a different kit playing the same
pattern scores near 0. Runs in numpy, one window at a time (so a step's value does not depend on
what else is computed with it); the weights ship in ``raveforce/data/models/hit_classifier.npz``.

Step j's window sees only samples before ``boundaries[j + 1]`` (zero after), in the rendered
audio as in the target, so a step's probabilities never change once it is played.
"""

from __future__ import annotations

import functools
import hashlib
import json
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import as_strided

from raveforce._optional import one_blas_thread
from raveforce.rewards import features as F
from raveforce.rewards.base import Criterion, register

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "models" / "hit_classifier.npz"
FORMAT = "raveforce-hit-classifier-1"
SAMPLE_RATE = 44100  # Hz: the rate the classifier was trained at
N_FFT, HOP, BANDS = 1024, 256, 64
PRE, POST = 4, 18  # frames of a window before and from a step's start
FLOOR_DB = 80.0
LEAD = PRE * HOP + N_FFT // 2  # samples from a window's first sample to its step's start
SPAN = (PRE + POST - 1) * HOP + N_FFT  # samples a window sees
MEMO = 1 << 14  # windows' probabilities kept per process (search agents replay the same prefixes)
SAME = 1e-6  # probabilities this close count as equal: the same drums rendered another way differ by ~1e-10
VOICES = ("kick", "snare", "hat")


@functools.cache
def _mel() -> np.ndarray:
    return F.mel_triangles(SAMPLE_RATE, N_FFT, BANDS, 30.0, 16000.0)


@functools.cache
def _hann() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1]


def heard(audio: np.ndarray, start: int, stop: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """float64 (SPAN,): the samples the window of a step starting at ``start`` sees in ``audio``
    (1-D), zero before sample 0 and from ``stop`` on; at another ``sample_rate`` than 44.1 kHz,
    the prefix is resampled to it first (slower)."""
    source = audio[:stop]
    if sample_rate != SAMPLE_RATE:
        from scipy.signal import resample_poly

        source = resample_poly(np.asarray(source, np.float64), SAMPLE_RATE, sample_rate)
        start, stop = start * SAMPLE_RATE // sample_rate, len(source)
    lo = start - LEAD
    seen = np.zeros(SPAN)
    a, b = max(lo, 0), min(stop, lo + SPAN, len(source))
    if b > a:
        seen[a - lo : b - lo] = source[a:b]
    return seen


def window_db(seen: np.ndarray) -> np.ndarray:
    """float64 (PRE + POST, BANDS): mel power in dB of ``heard``'s samples: Hann frames of N_FFT
    every HOP samples, the step's start at frame PRE."""
    spectrum = F.rfft(as_strided(seen, (PRE + POST, N_FFT), (HOP * seen.strides[0], seen.strides[0]), writeable=False) * _hann())
    power = spectrum.real**2 + spectrum.imag**2
    return 10.0 * np.log10(np.maximum(power @ _mel(), 1e-10))


def normalise(db: np.ndarray) -> np.ndarray:
    """float32, db's shape: a window's dB (`window_db`, the last two axes) minus its largest value,
    floored at -80 dB and mapped to [0, 1]."""
    return (np.maximum(db - db.max(axis=(-2, -1), keepdims=True), -FLOOR_DB) / FLOOR_DB + 1.0).astype(np.float32)


def window(seen: np.ndarray) -> np.ndarray:
    """float32 (PRE + POST, BANDS): the classifier's input from ``heard``'s samples: `window_db`,
    `normalise`d."""
    return normalise(window_db(seen))


def step_windows_db(audio: np.ndarray, starts: np.ndarray, stops: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """float64 (len(starts), PRE + POST, BANDS): `window_db` of each step (`normalise`d: `step_windows`)."""
    audio = np.asarray(audio, np.float64)
    return np.stack([window_db(heard(audio, a, b, sample_rate)) for a, b in zip(np.asarray(starts).tolist(), np.asarray(stops).tolist())])


def step_windows(audio: np.ndarray, starts: np.ndarray, stops: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """float32 (len(starts), PRE + POST, BANDS): ``window`` of each step starting at ``starts``
    (samples) in ``audio``, each seeing samples before its ``stops`` only."""
    return normalise(step_windows_db(audio, starts, stops, sample_rate))


class HitClassifier:
    """The network: two 3x3 convolutions (ReLU, each max-pooled by its entry of ``pools``, (time,
    band) frames), a dense layer (ReLU) and 3 logits (kick, snare, hat), as trained with torch;
    the layers' sizes are those of the weight ``arrays``."""

    FORMAT, KIND = FORMAT, "hit classifier"  # what `load` expects in a file's header, and calls it

    def __init__(self, arrays: dict[str, np.ndarray], pools: tuple[tuple[int, int], ...] = ((1, 2), (2, 2))) -> None:
        self.w = {k: np.asarray(v, np.float32) for k, v in arrays.items()}
        self.pools = tuple(tuple(p) for p in pools)

    @classmethod
    def load(cls, path: Path = MODEL_PATH):
        """The classifier in ``path`` (.npz with a JSON ``header`` naming the class's FORMAT); a
        missing or foreign file is a ValueError naming it."""
        header, arrays = cls.read(path)
        return cls(arrays, header["pools"])

    @classmethod
    def read(cls, path: Path) -> tuple[dict, dict[str, np.ndarray]]:
        """(header, weight arrays) of the model file ``path``, as `load` checks them."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                arrays = {k: data[k] for k in data.files if k != "header"}
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path} is not a readable {cls.KIND} ({exc})") from None
        if header.get("format") != cls.FORMAT:
            raise ValueError(f"{path} holds format {header.get('format')!r}, not {cls.FORMAT!r}")
        return header, arrays

    @staticmethod
    def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(n, out, h, w): 3x3 convolution with zero padding 1 of (n, in, h, w), then ReLU."""
        n, c, h, width = x.shape
        padded = np.zeros((n, h + 2, width + 2, c), x.dtype)
        padded[:, 1:-1, 1:-1] = x.transpose(0, 2, 3, 1)
        patches = np.empty((n, h, width, c, 3, 3), x.dtype)  # patches[..., c, i, j] = x[c, row + i - 1, column + j - 1]
        for i in range(3):
            for j in range(3):
                patches[..., i, j] = padded[:, i : i + h, j : j + width]
        patches = patches.reshape(n, h, width, c * 9)
        y = patches @ w.reshape(len(w), c * 9).T + b  # (n, h, w, out)
        return np.maximum(y, 0.0).transpose(0, 3, 1, 2)

    @staticmethod
    def _pool(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
        n, c, h, w = x.shape
        return x[:, :, : h // ph * ph, : w // pw * pw].reshape(n, c, h // ph, ph, w // pw, pw).max(axis=(3, 5))

    CHUNK = 16  # windows per pass: a pass's patches stay in cache (1.7x faster than 1024 at once)

    def hidden(self, windows: np.ndarray, levels: np.ndarray | None = None) -> np.ndarray:
        """float32 (n, hidden): the dense layer's output (after ReLU) for (n, PRE + POST, BANDS)
        windows; levels: (n,) more inputs of the dense layer, for networks trained with them
        (`kit_hits.KitClassifier`)."""
        chunks = range(0, len(windows), self.CHUNK)
        with one_blas_thread():
            return np.concatenate([self._hidden(windows[i : i + self.CHUNK], None if levels is None else levels[i : i + self.CHUNK]) for i in chunks])

    def _hidden(self, windows: np.ndarray, levels: np.ndarray | None) -> np.ndarray:
        w = self.w
        (h1, w1), (h2, w2) = self.pools
        x = self._pool(self._conv(windows[:, None].astype(np.float32), w["conv1.weight"], w["conv1.bias"]), h1, w1)
        x = self._pool(self._conv(x, w["conv2.weight"], w["conv2.bias"]), h2, w2)
        x = x.reshape(len(x), -1)
        if levels is not None:
            x = np.concatenate([x, levels[:, None].astype(np.float32)], axis=1)
        return np.maximum(x @ w["dense1.weight"].T + w["dense1.bias"], 0.0)

    def logits(self, hidden: np.ndarray) -> np.ndarray:
        """float64 (n, outputs): the logits (kick, snare, hat) of `hidden`'s (n, hidden) outputs."""
        return (hidden @ self.w["dense2.weight"].T + self.w["dense2.bias"]).astype(np.float64)

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        """float64 (n, 3): P(kick, snare, hat starts) for (n, PRE + POST, BANDS) windows."""
        return self.hidden_probabilities(self.hidden(windows))

    def hidden_probabilities(self, hidden: np.ndarray) -> np.ndarray:
        """float64 (n, outputs): the logistic of `logits` (P(kick, snare, hat starts))."""
        return np.exp(-np.logaddexp(0.0, -self.logits(hidden)))  # the logistic function, without overflow


@functools.cache
def classifier() -> HitClassifier:
    """The shipped classifier, loaded once per process."""
    return HitClassifier.load()


_memo: OrderedDict[bytes, np.ndarray] = OrderedDict()


def remembered(memo: OrderedDict[bytes, np.ndarray], seen: np.ndarray, compute) -> np.ndarray:
    """compute(seen), remembered in `memo` by the digest of ``heard`` samples `seen` for the last
    MEMO windows (the same samples always give the same bits)."""
    key = hashlib.blake2b(seen.tobytes(), digest_size=16).digest()
    found = memo.get(key)
    if found is None:
        found = memo[key] = compute(seen)
        if len(memo) > MEMO:
            memo.popitem(last=False)
    return found


def _heard_probabilities(seen: np.ndarray) -> np.ndarray:
    """(3,) the shipped classifier's probabilities for ``heard`` samples (`remembered`)."""
    return remembered(_memo, seen, lambda x: classifier().probabilities(window(x)[None])[0])


@register
class Hits(Criterion):
    """Mean squared difference of the hit classifier's (kick, snare, hat) probabilities over the
    steps played so far (each difference less SAME, floored at 0). The classifier listens at
    44.1 kHz: audio at other rates is resampled (each step's prefix again: slower)."""

    name = "hits"

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        self._target_p = self._probabilities(self.target, 0, self.n_steps - 1)
        self._new_caches()

    @staticmethod
    def _window_values(seen: np.ndarray) -> np.ndarray:
        """What the criterion compares of one step's ``heard`` samples: (3,) probabilities."""
        return _heard_probabilities(seen)

    def _probabilities(self, audio: np.ndarray, first: int, last: int) -> np.ndarray:
        """(last - first + 1, values) of steps first..last, one window at a time: a product's rounding
        depends on its batch size, and a step must score the same alone or among others."""
        b = self._edges
        return np.stack([self._window_values(heard(audio, b[k], b[k + 1], self.sample_rate)) for k in range(first, last + 1)])

    def _new_caches(self) -> None:
        self._p = np.zeros_like(self._target_p)

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        first = step if start else 0  # earlier steps' windows end before this step's samples
        self._p[first : step + 1] = self._probabilities(audio, first, step)
        diff = np.maximum(np.abs(self._p[: step + 1] - self._target_p[: step + 1]) - SAME, 0.0)
        return float(np.mean(diff * diff))
