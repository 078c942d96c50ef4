"""The shipped one-pass full-kit transcriber: which of DrumKit's ten voices start at each step,
and how loud, from `rewards.kit_hits`' network (trained on grid loops of the kit family and
Hydrogen's train kits by `scripts/train_kit_classifier.py`).

    grid = transcribe(audio, task)      # int64 (steps, 10) levels of task (a DrumKit task)

Each step is heard as `rewards.hits` hears it (log-mel frames from 23 ms before its start to 105
ms after, relative to the window's loudest value) plus the window's loudest value itself
(`kit_hits.level`, its level in dB), which a velocity needs.
"""

from __future__ import annotations

import numpy as np

from raveforce.rewards import hits
from raveforce.rewards.kit_hits import FORMAT, KitClassifier, classifier, level
from raveforce.task import Task
from raveforce.tasks import levels_of, velocities


def step_inputs(audio: np.ndarray, task: Task) -> tuple[np.ndarray, np.ndarray]:
    """(normalised windows float32 (steps, frames, bands), levels float32 (steps,)) of a loop at task.sample_rate."""
    b = task.boundaries
    db = hits.step_windows_db(audio, b[:-1], b[1:], task.sample_rate)
    return hits.normalise(db), level(db)


def outputs(audio: np.ndarray, task: Task, model: KitClassifier | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(P(voice starts), velocity MIDI / 127), float64 (steps, 10) each, of a loop at
    task.sample_rate; model: the shipped one if None."""
    return (model or classifier()).outputs(*step_inputs(np.asarray(audio, np.float64), task))


def transcribe(audio: np.ndarray, task: Task, model: KitClassifier | None = None) -> np.ndarray:
    """int64 (steps, 10): each voice at each step where the model's probability passes the
    voice's threshold, at the level of `task` whose velocity is nearest the one it hears; 0
    elsewhere. model: the shipped one if None."""
    model = model or classifier()
    return grid_of(*outputs(audio, task, model), task, model.thresholds)


def grid_of(p: np.ndarray, v: np.ndarray, task: Task, thresholds=0.5) -> np.ndarray:
    """int64 (steps, 10): from `KitClassifier.outputs`' (steps, 10) probabilities and velocities,
    each voice where p > its threshold ((10,) or one for all) at the level of `task` whose
    velocity is nearest v * 127; 0 elsewhere."""
    table = np.array(velocities(levels_of(task)), np.float64) / 127
    nearest = 1 + np.abs(v[..., None] - table).argmin(axis=-1)
    return np.where(p > thresholds, nearest, 0).astype(np.int64)


__all__ = ["FORMAT", "KitClassifier", "classifier", "grid_of", "level", "outputs", "step_inputs", "transcribe"]
