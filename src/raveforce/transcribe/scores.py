"""How well ten-voice transcriptions match what a loop played: the measures of automatic drum
transcription (ADT), per voice and over the voices.

    s = scores.full_kit(answers, truths, tasks)
    s["macro_f"], s["voices"]["kick"]["onset_f"][0.05], s["velocity"]["spearman"], s["hat_confusion"]

`answers`: int (steps, 10) grids of levels (`tasks.FULL_KIT` order), one per loop; `truths`:
{voice: `kits.family.Played`} of what each loop played (`kits.family.grid_truth`,
`kits.sampled.grid_truth`); `tasks`: each loop's DrumKit task (its steps' starts, its levels).

- **onset P/R/F** per voice at ±50 and ±30 ms (`mir_eval.util.match_events`, counts summed over
  the loops): an answered hit at step k is an onset at the step's start.
- **grid P/R/F** per voice: the same with each played onset on its nearest step (swing and
  humanised timing do not count against a grid answer).
- **macro F**: the mean of the voices' onset F at ±50 ms, over the voices that some loop plays.
- **hat confusion**: of the steps with a closed (open) hat played and no open (closed) one, the
  share answered open (closed) and not closed (open). **tom confusion**: a 3x3 table, rows the
  tom played alone at a step, columns the tom answered (or none), shares of the row.
- **velocity**: over the hits found on the grid (played and answered at the same step), the
  Spearman correlation and the mean absolute difference of played and written MIDI velocities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from raveforce.task import Task
from raveforce.tasks import FULL_KIT, levels_of, velocities

WINDOWS = (0.05, 0.03)  # s: ADT's onset tolerances
TOMS = ("low_tom", "mid_tom", "high_tom")


def _prf(tp: int, n_ref: int, n_est: int) -> tuple[float, float, float]:
    p = tp / n_est if n_est else 1.0
    r = tp / n_ref if n_ref else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def played_grid(truth: dict, task: Task) -> tuple[np.ndarray, np.ndarray]:
    """(bool (steps, 10) played, float (steps, 10) its MIDI velocity, 0 where none): each played
    onset on its nearest step start (the loudest if two fall on one)."""
    starts = task.boundaries[:-1] / task.sample_rate
    hit, velocity = np.zeros((task.steps, len(FULL_KIT)), bool), np.zeros((task.steps, len(FULL_KIT)))
    for i, voice in enumerate(FULL_KIT):
        for onset, v in zip(truth[voice].onsets, truth[voice].velocities):
            k = int(np.argmin(np.abs(starts - onset)))
            hit[k, i], velocity[k, i] = True, max(velocity[k, i], v)
    return hit, velocity


def full_kit(answers: Sequence[np.ndarray], truths: Sequence[dict], tasks: Sequence[Task], windows: tuple[float, ...] = WINDOWS) -> dict:
    """The measures of the module's docstring, summed over the loops; see there."""
    import mir_eval
    from scipy.stats import spearmanr

    counts = {v: {"grid": [0, 0, 0], **{w: [0, 0, 0] for w in windows}} for v in FULL_KIT}  # tp, n_ref, n_est
    hats = {"closed_as_open": [0, 0], "open_as_closed": [0, 0]}  # [confused, steps]
    toms = np.zeros((3, 4))
    written, played_velocity = [], []
    for answer, truth, task in zip(answers, truths, tasks):
        answer = np.asarray(answer)
        levels = np.array((0,) + velocities(levels_of(task)), np.float64)
        starts = task.boundaries[:-1] / task.sample_rate
        hit, velocity = played_grid(truth, task)
        said = answer > 0
        for i, voice in enumerate(FULL_KIT):
            ref, est = truth[voice].onsets, starts[said[:, i]]
            for w in windows:
                tp = len(mir_eval.util.match_events(ref, est, w)) if len(ref) and len(est) else 0
                counts[voice][w] = [a + b for a, b in zip(counts[voice][w], (tp, len(ref), len(est)))]
            both = hit[:, i] & said[:, i]
            counts[voice]["grid"] = [a + b for a, b in zip(counts[voice]["grid"], (int(both.sum()), int(hit[:, i].sum()), int(said[:, i].sum())))]
            written += levels[answer[both, i]].tolist()
            played_velocity += velocity[both, i].tolist()
        closed, opened = FULL_KIT.index("hat"), FULL_KIT.index("open_hat")
        for name, (played, other) in {"closed_as_open": (closed, opened), "open_as_closed": (opened, closed)}.items():
            steps = hit[:, played] & ~hit[:, other]
            hats[name][0] += int((steps & said[:, other] & ~said[:, played]).sum())
            hats[name][1] += int(steps.sum())
        tom_columns = [FULL_KIT.index(t) for t in TOMS]
        alone = hit[:, tom_columns].sum(axis=1) == 1
        for k in np.flatnonzero(alone):
            row = int(np.argmax(hit[k, tom_columns]))
            answered = said[k, tom_columns]
            toms[row, int(np.argmax(answered)) if answered.sum() == 1 else 3] += 1
    voices = {}
    for voice, c in counts.items():
        voices[voice] = {"played": c[windows[0]][1], "grid": _prf(*c["grid"]), "onset": {w: _prf(*c[w]) for w in windows}}
    heard = [v for v in FULL_KIT if voices[v]["played"]]
    spearman = float(spearmanr(played_velocity, written).statistic) if len(set(written)) > 1 and len(set(played_velocity)) > 1 else float("nan")
    return {
        "voices": voices,
        "macro_f": {w: float(np.mean([voices[v]["onset"][w][2] for v in heard])) for w in windows},
        "hat_confusion": {name: (c / n if n else float("nan")) for name, (c, n) in hats.items()},
        "tom_confusion": toms / np.maximum(toms.sum(axis=1, keepdims=True), 1),
        "velocity": {"hits": len(written), "spearman": spearman, "mae": float(np.mean(np.abs(np.subtract(written, played_velocity)))) if written else float("nan")},
    }


__all__ = ["TOMS", "WINDOWS", "full_kit", "played_grid"]
