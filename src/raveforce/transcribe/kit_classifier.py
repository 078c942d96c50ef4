"""A supervised one-pass full-kit transcriber: which of DrumKit's ten voices start at each step,
and how loud, from a network trained on grid loops of the kit family and Hydrogen's train kits
(`scripts/train_kit_classifier.py`).

    model = KitClassifier.load(path)
    grid = transcribe(audio, task, model)      # int64 (steps, 10) levels of task (a DrumKit task)

Each step is heard as `rewards.hits` hears it (log-mel frames from 23 ms before its start to 105
ms after, relative to the window's loudest value) plus the window's loudest value itself (its
level in dB, `level`), which a velocity needs. The network is `hits.HitClassifier`'s, its dense
layer also fed the level, with 20 outputs: ten onset logits and ten velocities (MIDI / 127,
through a logistic). Numpy inference, one step window at a time.
"""

from __future__ import annotations

import numpy as np

from raveforce.rewards import hits
from raveforce.task import Task
from raveforce.tasks import FULL_KIT, levels_of, velocities

FORMAT = "raveforce-kit-classifier-1"
LEVEL_FLOOR_DB = 100.0  # a window's loudest mel power, dB, maps from [-100, 0] to [0, 1]


def level(db: np.ndarray) -> np.ndarray:
    """float32 (n,): the loudest value of each (n, frames, bands) `hits.step_windows_db` window, scaled to [0, 1]."""
    return np.clip(db.max(axis=(-2, -1)) / LEVEL_FLOOR_DB + 1.0, 0.0, 1.0).astype(np.float32)


class KitClassifier(hits.HitClassifier):
    """`hits.HitClassifier` whose dense layer takes the window's `level` too, with 2 * 10 outputs."""

    FORMAT, KIND = FORMAT, "kit classifier"

    def outputs(self, windows: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(voice starts) float64 (n, 10), velocity MIDI / 127 float64 (n, 10)) of (n, frames,
        bands) normalised windows and their (n,) levels."""
        w = self.w
        (h1, w1), (h2, w2) = self.pools
        out = []
        for i in range(0, len(windows), self.CHUNK):
            x = self._pool(self._conv(windows[i : i + self.CHUNK, None].astype(np.float32), w["conv1.weight"], w["conv1.bias"]), h1, w1)
            x = self._pool(self._conv(x, w["conv2.weight"], w["conv2.bias"]), h2, w2)
            features = np.concatenate([x.reshape(len(x), -1), levels[i : i + self.CHUNK, None].astype(np.float32)], axis=1)
            hidden = np.maximum(features @ w["dense1.weight"].T + w["dense1.bias"], 0.0)
            out.append(hidden @ w["dense2.weight"].T + w["dense2.bias"])
        logits = np.concatenate(out).astype(np.float64)
        logistic = np.exp(-np.logaddexp(0.0, -logits))
        return logistic[:, : len(FULL_KIT)], logistic[:, len(FULL_KIT) :]


def step_inputs(audio: np.ndarray, task: Task) -> tuple[np.ndarray, np.ndarray]:
    """(normalised windows float32 (steps, frames, bands), levels float32 (steps,)) of a loop at task.sample_rate."""
    b = task.boundaries
    db = hits.step_windows_db(audio, b[:-1], b[1:], task.sample_rate)
    return hits.normalise(db), level(db)


def transcribe(audio: np.ndarray, task: Task, model: KitClassifier) -> np.ndarray:
    """int64 (steps, 10): each voice at each step where the model gives it a probability above
    1/2, at the level of `task` whose velocity is nearest the one it hears; 0 elsewhere."""
    return grid_of(*model.outputs(*step_inputs(np.asarray(audio, np.float64), task)), task)


def grid_of(p: np.ndarray, v: np.ndarray, task: Task) -> np.ndarray:
    """int64 (steps, 10): from `KitClassifier.outputs`' (steps, 10) probabilities and velocities,
    each voice where p > 1/2 at the level of `task` whose velocity is nearest v * 127; 0 elsewhere."""
    table = np.array(velocities(levels_of(task)), np.float64) / 127
    nearest = 1 + np.abs(v[..., None] - table).argmin(axis=-1)
    return np.where(p > 0.5, nearest, 0).astype(np.int64)


__all__ = ["FORMAT", "KitClassifier", "grid_of", "level", "step_inputs", "transcribe"]
