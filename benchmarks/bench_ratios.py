"""Speed as ratios to the paper's method measured in the same run, against the project's targets.

    .venv/bin/python benchmarks/bench_ratios.py [--quick] [--rows single,vector,kick,defaults,suite] [--repeats 3]

Absolute steps/s move 2-3x between runs on a shared machine; a ratio to the paper's method
(`renderer="nrt"`: a fresh `scsynth -N` render of the whole prefix at every step) measured right
before each row, same task and reward, holds. Rows: the single env (gym.make, whole episodes,
observation copied) and the vector env (make_vec vector_entry_point, N lockstep episodes,
copy=False, no-op autoreset steps excluded). Prints a Markdown table with the target of each row,
and two ceilings: the same path's render alone (scsynth stepped through the same episodes, no
reward) and its reward alone (the criteria on random audio, batched as the vector env batches
them): the ratios the render and the reward each allow. "Ratio both allow" bounds the row: the
single env renders, then computes the reward, so a step takes at least the sum of the two times,
1 / (1/render + 1/reward) steps/s. The vector env renders in several scsynths and computes the
groups' rewards in threads, so the reward alone (one thread) is no bound there; but a step still
needs the CPU of both (at least one core busy while rendering), shared by the machine's cores:
min(render, cores / (1/render + 1/reward)) steps/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import gymnasium as gym
import numpy as np

import raveforce  # noqa: F401  (registers the envs)
from raveforce import rewards
from raveforce.app.landscape import find_task
from raveforce.tasks import DRUM_LOOP, KICK_FREQUENCY

sys.path.insert(0, os.path.dirname(__file__))
from bench_env import machine  # noqa: E402
from bench_vector import run_single, run_vector  # noqa: E402

DRUM, KICK = "raveforce/DrumLoop-v0", "raveforce/KickFrequency-v0"
SUITE = ("raveforce/KickMatch-v0", "raveforce/FMTone-v0", "raveforce/BassLine-v0", "raveforce/Melody-v0", "raveforce/DrumKit-v0")
TASKS = {DRUM: DRUM_LOOP, KICK: KICK_FREQUENCY} | {env_id: find_task(env_id) for env_id in SUITE}
# (env id, reward, N or None for the single env, target ratio or None)
ROWS = {
    "single": [(DRUM, "mse", None, 350), (DRUM, "mfcc", None, 250), (DRUM, "cqt", None, 200), (DRUM, "multiscale", None, 200)],
    "vector": [(DRUM, "mse", 64, 1200), (DRUM, "mfcc", 64, 600), (DRUM, "multiscale", 64, 600)],
    "kick": [(KICK, "mse", 64, 1000), (KICK, "spectral_ot", 64, 400)],
    "defaults": [(DRUM, DRUM_LOOP.reward, None, 250), (DRUM, DRUM_LOOP.reward, 64, 1000), (KICK, KICK_FREQUENCY.reward, 64, 400)],  # what users run most
    "suite": [(env_id, TASKS[env_id].reward, n, None) for env_id in SUITE for n in (None, 64)],  # the other tasks' defaults: no targets
}


def paper_rate(env_id: str, reward: str, quick: bool) -> float:
    """Steps/s of the paper's method: the single env with renderer="nrt"."""
    episodes = 1 if TASKS[env_id].steps > 1 else (8 if quick else 32)  # the one-step tasks: one step per episode
    return run_single(env_id, reward, episodes, renderer="nrt")


def ours_rate(env_id: str, reward: str, n: int | None, quick: bool) -> float:
    scale = 0.25 if quick else 1.0
    steps = TASKS[env_id].steps
    if n is None:
        return run_single(env_id, reward, max(2, int(scale * (40 if steps > 1 else 640))))
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", reward=reward, copy=False)
    try:
        rate, _ = run_vector(envs, steps, max(2, int(scale * 8192 / (steps * n))))
    finally:
        envs.close()
    return rate


def render_rate(env_id: str, n: int | None, quick: bool) -> float:
    """Env-steps/s of the same path's rendering alone: the vector env's scsynth groups (one lane for
    the single env, as its renderer) stepped through the same episodes with no reward and no env
    bookkeeping.  A ceiling for `ours_rate`: the ratio the render itself allows."""
    steps = TASKS[env_id].steps
    lanes = n or 1
    scale = 0.25 if quick else 1.0
    episodes = max(2, int(scale * (40 if n is None and steps > 1 else 8192 / (steps * lanes))))
    envs = gym.make_vec(env_id, num_envs=lanes, vectorization_mode="vector_entry_point", reward="mse", copy=False)
    try:
        envs.reset(seed=0)
        v = envs.unwrapped
        v.action_space.seed(0)
        notes = [v._notes(v.action_space.sample()) for _ in range(steps)]
        groups = list(zip(v._groups, zip(v._starts, v._starts[1:])))  # (group, its lanes' slice)

        def episode() -> None:
            for group, _ in groups:
                group.reset()
            for k in range(steps):
                for group, (a, b) in groups:
                    group.submit(k, notes[k][a:b])
                for group, _ in groups:
                    group.collect()

        episode()  # warm-up
        start = time.perf_counter()
        for _ in range(episodes):
            episode()
        return episodes * steps * lanes / (time.perf_counter() - start)
    finally:
        envs.close()


def reward_rate(env_id: str, reward: str, n: int | None) -> float:
    """Env-steps/s of the row's reward alone: N criteria (forks of one, as the envs make them) on
    random audio, whole episodes through `rewards.batch_distances` (the single env: one criterion).
    The other ceiling of `ours_rate`: the ratio the reward itself allows."""
    task = TASKS[env_id]
    lanes = n or 1
    head = rewards.make(reward, target=task.load_target(None), sample_rate=task.sample_rate, boundaries=task.boundaries)
    criteria = [head] + [head.fork() for _ in range(lanes - 1)]
    best = np.inf
    for seed in range(3):
        audio = (np.random.default_rng(seed).standard_normal((lanes, task.total_samples)) * 0.1).astype(np.float32)  # new audio: `hits` remembers windows
        start = time.perf_counter()
        for c in criteria:
            c.reset()
        for k in range(task.steps):
            if n is None:
                head.distance(audio[0], k)
            else:
                rewards.batch_distances(criteria, audio, k)
        best = min(best, time.perf_counter() - start)
    return task.steps * lanes / best


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer episodes (noisier)")
    parser.add_argument(
        "--rows",
        default="single,vector,kick,defaults,suite",
        help="comma-separated groups of rows: single, vector, kick, defaults (DrumLoop's and KickFrequency's default rewards), suite (the other tasks' defaults)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds per row (medians are reported)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}\n")
    print(
        f"Each row: {args.repeats} rounds of (paper's method, ours, render alone), interleaved; the medians, "
        "and in brackets the lowest and highest ratio of a round.\n"
    )
    print(
        "| env | reward | path | ratio to the paper's method | target | ours (steps/s) | paper's method (steps/s) "
        "| render alone (steps/s) | ratio the render allows | reward alone (steps/s) | ratio the reward allows "
        "| ratio both allow | load |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for group in args.rows.split(","):
        for env_id, reward, n, target in ROWS[group]:
            rounds = [
                (paper_rate(env_id, reward, args.quick), ours_rate(env_id, reward, n, args.quick), render_rate(env_id, n, args.quick))
                for _ in range(args.repeats)
            ]
            paper, ours, render = (float(np.median(column)) for column in zip(*rounds))
            ratios = [o / p for p, o, _ in rounds]
            alone = reward_rate(env_id, reward, n)
            ratio = ours / paper
            cores = os.cpu_count() or 1
            both = 1.0 / (1.0 / render + 1.0 / alone) if n is None else min(render, cores / (1.0 / render + 1.0 / alone))
            path = "single env" if n is None else f"vector N={n}"
            goal = "—" if target is None else f"{target}x ({'met' if ratio >= target else 'missed'})"
            print(
                f"| {env_id.split('/')[1]} | {reward} | {path} | **{ratio:,.0f}x** ({min(ratios):,.0f}-{max(ratios):,.0f}) "
                f"| {goal} | {ours:,.0f} | {paper:,.1f} | {render:,.0f} | {render / paper:,.0f}x "
                f"| {alone:,.0f} | {alone / paper:,.0f}x | {both / paper:,.0f}x | {load()} |",
                flush=True,
            )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
