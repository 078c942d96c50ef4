"""The paper's figures 5, 6 and 7, measured on this machine: a PNG and the CSV behind it.

- figure 5: drum-loop reward per step of the optimal pattern and of random patterns, per criterion.
- figure 6: kick task reward against the sine's frequency, per criterion.
- figure 7: seconds per step of a drum-loop episode, the paper's method (renderer="nrt": a fresh
  scsynth renders the whole prefix every step) beside ours (the kept-alive stream).

    raveforce figure 5 --out out/figures      # or figures.figure5("out/figures")
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from raveforce._optional import pyplot

CRITERIA = ("mse", "mfcc", "stft", "cqt")
Progress = Callable[[int, int, str], None]


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def figure5(out: str | os.PathLike, *, random: int = 20, seed: int = 0, progress: Progress | None = None) -> dict:
    """Reward per step of DRUM_LOOP_PATTERN (green) and `random` seeded random patterns (grey),
    one panel per criterion. Writes figure5.png and figure5.csv
    (criterion, episode, kind, step, action, reward); returns the returns per criterion."""
    from raveforce.agents import Evaluator
    from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN

    out = Path(out)
    rng = np.random.default_rng(seed)
    patterns = [list(DRUM_LOOP_PATTERN)] + rng.integers(0, 8, (random, DRUM_LOOP.steps)).tolist()
    rows, summary = [], {}
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    steps = np.arange(1, DRUM_LOOP.steps + 1)
    for c, (name, ax) in enumerate(zip(CRITERIA, axes.flat)):
        evaluator = Evaluator(DRUM_LOOP, len(patterns), reward=name)
        try:
            rewards, _ = evaluator.play(patterns)
        finally:
            evaluator.close()
        for e, (pattern, r) in enumerate(zip(patterns, rewards)):
            kind = "optimal" if e == 0 else "random"
            rows += [[name, e, kind, k + 1, pattern[k], repr(float(r[k]))] for k in range(DRUM_LOOP.steps)]
            if e:
                ax.plot(steps, r, color="0.6", lw=0.8, alpha=0.7, label="random patterns" if e == 1 else None)
        ax.plot(steps, rewards[0], color="tab:green", lw=2.5, label="optimal pattern")
        ax.set_title(f"{name}")
        ax.set_xlabel("step")
        ax.set_ylabel("reward")
        ax.set_xticks(steps[::3])
        returns = rewards.sum(axis=1)
        summary[name] = {"optimal_return": float(returns[0]), "best_random_return": float(returns[1:].max()), "mean_random_return": float(returns[1:].mean())}
        if progress:
            progress(c + 1, len(CRITERIA), f"{name}: optimal return {returns[0]:.4g}, random {returns[1:].mean():.4g} on average")
    axes.flat[0].legend(loc="lower left")
    fig.suptitle(f"Figure 5: drum loop, reward per step, optimal pattern vs {random} random patterns")
    fig.savefig(out / "figure5.png", dpi=90)
    plt.close(fig)
    _write_csv(out / "figure5.csv", ["criterion", "episode", "kind", "step", "action", "reward"], rows)
    return summary


def figure6(out: str | os.PathLike, *, points: int = 256, progress: Progress | None = None) -> dict:
    """Reward of the kick task against the sine's frequency (`points` actions evenly spread in
    [0, 1], 20-22000 Hz exponentially), one panel per criterion. Writes figure6.png and
    figure6.csv (criterion, action, frequency_hz, reward); returns the best frequency per criterion."""
    from raveforce.app.landscape import sweep_continuous
    from raveforce.tasks import KICK_FREQUENCY

    out = Path(out)
    sweep = sweep_continuous(KICK_FREQUENCY, CRITERIA, points=points)  # one render, every criterion
    xs, hz = sweep.x, sweep.values
    rows, summary = [], {}
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    for c, (name, ax) in enumerate(zip(CRITERIA, axes.flat)):
        rewards = sweep.rewards[name]
        rows += [[name, float(x), float(f), repr(float(r))] for x, f, r in zip(xs, hz, rewards)]
        best = int(np.argmax(rewards))
        summary[name] = {"best_frequency_hz": float(hz[best]), "best_reward": float(rewards[best])}
        ax.semilogx(hz, rewards, color="tab:blue")
        ax.axvline(hz[best], color="tab:green", ls="--", label=f"best {hz[best]:.0f} Hz")
        ax.set_title(name)
        ax.set_xlabel("sine frequency (Hz)")
        ax.set_ylabel("reward")
        ax.legend(loc="lower right")
        if progress:
            progress(c + 1, len(CRITERIA), f"{name}: best {hz[best]:.1f} Hz")
    fig.suptitle("Figure 6: kick task, reward against the sine's frequency (target: a sine swept 180 -> 48 Hz)")
    fig.savefig(out / "figure6.png", dpi=90)
    plt.close(fig)
    _write_csv(out / "figure6.csv", ["criterion", "action", "frequency_hz", "reward"], rows)
    return summary


def figure7(out: str | os.PathLike, *, episodes: int = 5, reward: str = "mfcc", seed: int = 0, progress: Progress | None = None) -> dict:
    """Seconds per step of drum-loop episodes (step 0 is reset()), renderer "nrt" (the paper's
    method) beside "stream" (ours), the same seeded random actions for both. The first reset of
    each renderer starts its env (scsynth start-up for the stream). Writes figure7.png (median
    over episodes, bars from min to max) and figure7.csv (renderer, episode, step, seconds);
    returns the median seconds per episode of each renderer."""
    from raveforce.env import RaveForceEnv
    from raveforce.tasks import DRUM_LOOP

    out = Path(out)
    actions = np.random.default_rng(seed).integers(0, 8, (episodes, DRUM_LOOP.steps))
    renderers = ("nrt", "stream")
    seconds = {name: np.zeros((episodes, DRUM_LOOP.steps + 1)) for name in renderers}
    rows = []
    done = 0
    for name in renderers:
        env = RaveForceEnv(DRUM_LOOP, renderer=name, reward=reward)
        try:
            for e in range(episodes):
                t = time.perf_counter()
                env.reset(seed=seed)
                seconds[name][e, 0] = time.perf_counter() - t
                for k, a in enumerate(actions[e]):
                    t = time.perf_counter()
                    env.step(int(a))
                    seconds[name][e, k + 1] = time.perf_counter() - t
                rows += [[name, e, k, repr(float(s))] for k, s in enumerate(seconds[name][e])]
                done += 1
                if progress:
                    progress(done, 2 * episodes, f"{name} episode {e + 1}: {seconds[name][e].sum():.4f} s")
        finally:
            env.close()
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.5), constrained_layout=True)
    steps = np.arange(DRUM_LOOP.steps + 1)
    labels = {"nrt": "paper's method (fresh NRT render of the prefix)", "stream": "RaveForce (kept-alive scsynth stream)"}
    summary = {}
    for i, name in enumerate(renderers):
        s = seconds[name]
        median = np.median(s, axis=0)
        err = np.stack([median - s.min(axis=0), s.max(axis=0) - median])
        per_episode = float(np.median(s[:, 1:].sum(axis=1)))
        summary[name] = {"median_episode_seconds": per_episode, "median_step_seconds": float(np.median(s[:, 1:]))}
        ax.bar(steps + (i - 0.5) * 0.4, median, 0.4, yerr=err, capsize=2, label=f"{labels[name]}: {per_episode:.4g} s per episode")
    ax.set_yscale("log")
    ax.set_xticks(steps)
    ax.set_xlabel("step (0 = reset)")
    ax.set_ylabel("seconds (log scale)")
    ax.legend(loc="center", framealpha=0.9)
    ratio = summary["nrt"]["median_episode_seconds"] / summary["stream"]["median_episode_seconds"]
    ax.set_title(f"Figure 7: running time per step of the drum loop ({reward} reward, {episodes} episodes; stream {ratio:.0f}x faster)")
    fig.savefig(out / "figure7.png", dpi=90)
    plt.close(fig)
    _write_csv(out / "figure7.csv", ["renderer", "episode", "step", "seconds"], rows)
    summary["speedup"] = ratio
    return summary


FIGURES = {"5": figure5, "6": figure6, "7": figure7}

__all__ = ["CRITERIA", "FIGURES", "figure5", "figure6", "figure7"]
