"""Reward landscapes: every reward along a sweep of a task's action space, with its basins.

- 1-D continuous tasks (`Box` of shape (1,), one step): the reward at `points` actions evenly
  spread in [0, 1].
- Per-step discrete tasks (`Choices`): for each step k, the reward of every action after the
  optimal prefix (the task's documented pattern, or `pattern=`).

All candidates are rendered by scsynth in one non-real-time render per 128 of them (one output
channel each), then scored by every reward; nothing is rendered twice.

    raveforce landscape KickFrequency --reward all --out out/landscape
    sweep = landscape.sweep_continuous(tasks.KICK_FREQUENCY, ["mse", "spectral_ot"], points=256)

matplotlib is needed for the PNG only (`pip install matplotlib`).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raveforce import rewards as R
from raveforce._optional import pyplot
from raveforce.synth.render import note_message, setup_messages
from raveforce.synth.scsynth import BlockClock, render_nrt
from raveforce.task import Choices, Controls, MultiChoices, Note, Task

MAX_LANES = 128  # output channels per NRT render


def render_lanes(task: Task, episodes: Sequence[Sequence[Sequence[Note]]], *, scsynth: str | None = None) -> np.ndarray:
    """float32 (len(episodes), task.total_samples): each episode (notes per step, <= task.steps
    steps) rendered on its own output channel, MAX_LANES per fresh `scsynth -N`; sample-exact
    as `render.render_episode` (the same score on another bus)."""
    clock = BlockClock(task.sample_rate)
    out = np.zeros((len(episodes), task.total_samples), np.float32)
    for lo in range(0, len(episodes), MAX_LANES):
        batch = episodes[lo : lo + MAX_LANES]
        events: dict[int, list[bytes]] = {}
        for lane, notes_per_step in enumerate(batch):
            for k, notes in enumerate(notes_per_step):
                events.setdefault(int(task.boundaries[k]), []).extend(note_message(n, -1, lane) for n in notes)
        score = [(0, setup_messages(task))] + [(clock.tag(s), events[s]) for s in sorted(events)]
        audio = render_nrt(score, sample_rate=task.sample_rate, channels=max(2, len(batch)), frames=task.total_samples, executable=scsynth)
        out[lo : lo + len(batch)] = audio[:, : len(batch)].T
    return out


def _report(progress, done: int, total: int, message: str) -> None:
    if progress is not None:
        progress(done, total, message)


def _criteria(task: Task, rewards: Sequence, target) -> dict[str, R.Criterion]:
    tgt = task.load_target(target)
    made = {}
    for r in rewards:
        c = R.make(r, target=tgt, sample_rate=task.sample_rate, boundaries=task.boundaries)
        made[getattr(r, "name", None) if not isinstance(r, str) else r] = c
    return made


def _fresh(criterion: R.Criterion, audio: np.ndarray, step: int) -> float:
    """The distance computed from scratch: candidates do not share a prefix with the previous call."""
    criterion.reset()
    return criterion.distance(audio, step)


def basin(values: np.ndarray) -> tuple[int, int]:
    """(lo, hi), inclusive: the indices around argmax(values) from which climbing steadily
    uphill (each neighbour toward the maximum >= the current value) reaches the maximum."""
    v = np.asarray(values, dtype=float)
    best = int(np.argmax(v))
    lo = best
    while lo > 0 and v[lo - 1] <= v[lo]:
        lo -= 1
    hi = best
    while hi < len(v) - 1 and v[hi + 1] <= v[hi]:
        hi += 1
    return lo, hi


@dataclass
class ContinuousSweep:
    """Rewards (-distance) of a 1-D continuous task at actions `x` (parameter values `values`)."""

    task: Task
    parameter: str  # the control's name
    x: np.ndarray  # (points,) actions in [0, 1]
    values: np.ndarray  # (points,) the control's values (e.g. Hz)
    rewards: dict[str, np.ndarray]  # name -> (points,)

    def basins(self) -> dict[str, tuple[float, float]]:
        """name -> (low, high) parameter values of the basin of the maximum."""
        return {name: (float(self.values[basin(r)[0]]), float(self.values[basin(r)[1]])) for name, r in self.rewards.items()}


@dataclass
class StepSweep:
    """Rewards of every action at every step after the optimal prefix `pattern`."""

    task: Task
    pattern: list[int]
    rewards: dict[str, np.ndarray]  # name -> (steps, actions)

    def recovered(self) -> dict[str, int]:
        """name -> number of steps whose best action is the pattern's."""
        return {name: int(np.sum(np.argmax(r, axis=1) == np.asarray(self.pattern))) for name, r in self.rewards.items()}


def sweep_continuous(task: Task, rewards: Sequence, *, points: int = 256, target=None, scsynth: str | None = None, progress=None) -> ContinuousSweep:
    """The landscape of a one-step task with a 1-D continuous action (e.g. KickFrequency).
    progress(done, total, message), if given, after the render and after each reward."""
    if not (isinstance(task.actions, Controls) and len(task.actions.controls) == 1 and task.steps == 1):
        raise ValueError(f"task {task.name!r} is not a one-step task with a 1-D continuous action")
    control = task.actions.controls[0]
    x = np.linspace(0.0, 1.0, points, dtype=np.float32)
    audio = render_lanes(task, [[task.actions.notes(np.array([v]))] for v in x], scsynth=scsynth)
    scores = {}
    criteria = _criteria(task, rewards, target)
    _report(progress, 1, len(criteria) + 1, f"rendered {points} actions")
    for i, (name, c) in enumerate(criteria.items()):
        scores[name] = np.array([0.0 - _fresh(c, a, 0) for a in audio])
        _report(progress, i + 2, len(criteria) + 1, f"scored by {name}")
    return ContinuousSweep(task, control.name, x, np.array([control(float(v)) for v in x]), scores)


def sweep_steps(task: Task, rewards: Sequence, *, pattern: Sequence[int], target=None, scsynth: str | None = None, progress=None) -> StepSweep:
    """For each step k, every action after `pattern[:k]` (a Choices task). progress as in
    `sweep_continuous`."""
    if not isinstance(task.actions, Choices):
        raise ValueError(f"task {task.name!r} does not have discrete actions")
    pattern = [int(a) for a in pattern]
    if len(pattern) != task.steps:
        raise ValueError(f"pattern has {len(pattern)} actions; task {task.name!r} takes {task.steps}")
    n = len(task.actions.options)
    notes = [task.actions.notes(a) for a in range(n)]
    episodes = [[notes[a] for a in pattern[:k]] + [notes[b]] for k in range(task.steps) for b in range(n)]
    audio = render_lanes(task, episodes, scsynth=scsynth)
    scores = {}
    criteria = _criteria(task, rewards, target)
    _report(progress, 1, len(criteria) + 1, f"rendered {len(episodes)} prefixes")
    for j, (name, c) in enumerate(criteria.items()):
        scores[name] = np.array([0.0 - _fresh(c, a, i // n) for i, a in enumerate(audio)]).reshape(task.steps, n)
        _report(progress, j + 2, len(criteria) + 1, f"scored by {name}")
    return StepSweep(task, pattern, scores)


# --- files -----------------------------------------------------------------------------------


def _grid(plt, count: int):
    cols = min(4, count)
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), constrained_layout=True, squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, axes.flat


def write_continuous(sweep: ContinuousSweep, out: str | os.PathLike, *, truth: float | None = None) -> dict:
    """Write landscape.csv (action, value, one column per reward) and landscape.png (one panel per
    reward, the basin of its maximum shaded); return {reward: {best, basin_low, basin_high}}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = list(sweep.rewards)
    with (out / "landscape.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["action", sweep.parameter, *names])
        for i in range(len(sweep.x)):
            w.writerow([float(sweep.x[i]), float(sweep.values[i]), *(repr(float(sweep.rewards[n][i])) for n in names)])
    summary = {}
    plt = pyplot()
    fig, axes = _grid(plt, len(names))
    log = sweep.task.actions.controls[0].scale == "exp"
    for name, ax in zip(names, axes):
        r = sweep.rewards[name]
        lo, hi = basin(r)
        best = int(np.argmax(r))
        summary[name] = {"best": float(sweep.values[best]), "basin_low": float(sweep.values[lo]), "basin_high": float(sweep.values[hi])}
        (ax.semilogx if log else ax.plot)(sweep.values, r, color="tab:blue", lw=1)
        ax.axvspan(sweep.values[lo], sweep.values[hi], color="tab:green", alpha=0.15, label="basin of the max")
        ax.axvline(sweep.values[best], color="tab:green", lw=1)
        if truth is not None:
            ax.axvline(truth, color="tab:red", ls=":", lw=1, label=f"truth {truth:g}")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(sweep.parameter)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{sweep.task.name}: reward against {sweep.parameter}", fontsize=10)
    fig.savefig(out / "landscape.png", dpi=90)
    plt.close(fig)
    return summary


def write_steps(sweep: StepSweep, out: str | os.PathLike) -> dict:
    """Write landscape.csv (step, action, optimal, one column per reward) and landscape.png (per
    reward a steps x actions map, each step's best action circled, the pattern's marked with a
    dot); return {reward: {recovered: steps whose best action is the pattern's}}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = list(sweep.rewards)
    steps, n = next(iter(sweep.rewards.values())).shape
    with (out / "landscape.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "action", "optimal", *names])
        for k in range(steps):
            for a in range(n):
                w.writerow([k, a, int(sweep.pattern[k] == a), *(repr(float(sweep.rewards[m][k, a])) for m in names)])
    recovered = sweep.recovered()
    plt = pyplot()
    fig, axes = _grid(plt, len(names))
    for name, ax in zip(names, axes):
        r = sweep.rewards[name]
        span = r.max(axis=1, keepdims=True) - r.min(axis=1, keepdims=True)
        ax.imshow(((r - r.min(axis=1, keepdims=True)) / np.where(span > 0, span, 1)).T, origin="lower", aspect="auto", cmap="viridis")
        ax.scatter(np.arange(steps), np.argmax(r, axis=1), s=60, facecolors="none", edgecolors="white", label="best")
        ax.scatter(np.arange(steps), sweep.pattern, s=8, color="red", label="pattern")
        ax.set_title(f"{name}: {recovered[name]}/{steps} steps", fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel("action")
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=6, loc="upper right")
    fig.suptitle(f"{sweep.task.name}: reward of every action after the optimal prefix (per step, scaled 0..1)", fontsize=10)
    fig.savefig(out / "landscape.png", dpi=90)
    plt.close(fig)
    return {name: {"recovered": recovered[name], "steps": steps} for name in names}


def known_pattern(task: Task) -> list[int] | None:
    """The documented optimal actions of a built-in discrete task, or None."""
    from raveforce import tasks

    if task.name == tasks.DRUM_LOOP.name:
        return list(tasks.DRUM_LOOP_PATTERN)
    if task.name == tasks.BASS_LINE.name:
        return [tasks.bass_action(m) for m in tasks.BASS_LINE_PATTERN]
    if task.name == tasks.MELODY.name:
        return [tasks.melody_action(m) for m in tasks.MELODY_PATTERN]
    return None


__all__ = [
    "ContinuousSweep",
    "StepSweep",
    "basin",
    "find_task",
    "known_pattern",
    "landscape",
    "render_lanes",
    "sweep_continuous",
    "sweep_steps",
    "write_continuous",
    "write_steps",
]


def find_task(name: str) -> Task:
    """The Task of a registered env id or its short name ("KickFrequency", "drum-loop")."""
    import gymnasium as gym

    import raveforce

    key = name.replace("-", "").replace("_", "").lower()
    for env_id, entry in raveforce.ENVS.items():
        short = env_id.split("/")[1].split("-")[0].lower()
        if name == env_id or key == short:
            task = getattr(gym.envs.registration.load_env_creator(entry), "TASK", None)
            if task is not None:
                return task
    valid = [k for k, e in raveforce.ENVS.items() if k not in raveforce.SERVED]
    raise ValueError(f"unknown task {name!r}; valid: {', '.join(valid)}")


def landscape(task_name: str, rewards: Sequence[str], out: str | os.PathLike, *, points: int = 256, pattern=None, target=None, progress=None) -> dict:
    """Sweep `task_name` with every reward in `rewards` ("all": every registered one) and write
    landscape.csv and landscape.png to `out`; return the summary (see write_continuous/write_steps)."""
    task = find_task(task_name)
    names = list(R.available()) if list(rewards) == ["all"] else list(rewards)
    for n in names:
        if n not in R.available():
            raise ValueError(f"unknown reward {n!r}; available: {', '.join(R.available())}")
    if isinstance(task.actions, MultiChoices):
        raise ValueError(f"task {task.name!r} has {task.action_space} actions, too many to sweep every one per step")
    if isinstance(task.actions, Choices):
        pattern = known_pattern(task) if pattern is None else pattern
        if pattern is None:
            raise ValueError(f"task {task.name!r} has no documented optimal pattern: pass one")
        return write_steps(sweep_steps(task, names, pattern=pattern, target=target, progress=progress), out)
    return write_continuous(sweep_continuous(task, names, points=points, target=target, progress=progress), out)
