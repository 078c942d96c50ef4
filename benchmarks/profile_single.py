"""Where a single-env step's CPU goes, per reward: Python, scsynth, the render's two halves, the reward.

    .venv/bin/python benchmarks/profile_single.py [--rewards mse,mfcc,cqt,multiscale] [--rounds 3]

DrumLoop-v0 through `gym.make` (Gymnasium's wrappers included), seeded random episodes. Per
env-step: the wall-clock rate and its ratio to the paper's method measured in the same round
(`renderer="nrt"`, one episode), this process's CPU (user and system, from getrusage), scsynth's
CPU (from /proc), and two parts measured alone in the same process: the renderer's `submit` and
`collect` (thread CPU; the mse row, one lane, no reward) and the reward on random audio (best of
15 episodes). A single env's step is Python and scsynth taking turns: its wall time is about the
sum of the two CPU columns, and more when other jobs hold the cores. Medians over `rounds`.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import gymnasium as gym
import numpy as np

import raveforce  # noqa: F401  (registers the envs)
from raveforce import rewards
from raveforce.tasks import DRUM_LOOP

sys.path.insert(0, os.path.dirname(__file__))
from bench_env import machine  # noqa: E402
from bench_vector import run_single  # noqa: E402

ENV = "raveforce/DrumLoop-v0"
EPISODES = {"mse": 100, "mfcc": 60, "cqt": 30, "multiscale": 40}


def process_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) that process `pid` used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def env_costs(reward: str, episodes: int) -> dict[str, float]:
    """Steps/s and microseconds of CPU per step (Python user, Python system, scsynth)."""
    env = gym.make(ENV, reward=reward)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(DRUM_LOOP.steps)]

    def run(n: int) -> None:
        for _ in range(n):
            env.reset(seed=0)
            for a in actions:
                env.step(a)

    try:
        run(3)
        pid = env.unwrapped._renderer._stream._process.pid
        usage, scsynth, start = resource.getrusage(resource.RUSAGE_SELF), process_cpu(pid), time.perf_counter()
        run(episodes)
        wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        steps = episodes * DRUM_LOOP.steps
        per_step = 1e6 / steps
        return {
            "steps/s": steps / wall,
            "python user": (after.ru_utime - usage.ru_utime) * per_step,
            "python system": (after.ru_stime - usage.ru_stime) * per_step,
            "scsynth": (process_cpu(pid) - scsynth) * per_step,
        }
    finally:
        env.close()


def render_costs(episodes: int = 100) -> dict[str, float]:
    """Thread CPU per step of the single env's renderer alone: submit and collect (us)."""
    env = gym.make(ENV, reward="mse")
    env.action_space.seed(0)
    notes = [DRUM_LOOP.actions.notes(env.action_space.sample()) for _ in range(DRUM_LOOP.steps)]
    try:
        env.reset(seed=0)
        renderer = env.unwrapped._renderer
        submit = collect = 0.0
        clock = time.thread_time
        for _ in range(episodes):
            renderer.reset()
            for k, step_notes in enumerate(notes):
                a = clock()
                renderer.submit(k, [step_notes])
                b = clock()
                renderer.collect()
                submit, collect = submit + b - a, collect + clock() - b
        steps = episodes * DRUM_LOOP.steps
        return {"submit": submit / steps * 1e6, "collect": collect / steps * 1e6}
    finally:
        env.close()


def reward_alone(reward: str) -> float:
    """Microseconds per step of the criterion on random audio, whole episodes, best of 15."""
    task = DRUM_LOOP
    criterion = rewards.make(reward, target=task.load_target(None), sample_rate=task.sample_rate, boundaries=task.boundaries)
    audio = (np.random.default_rng(0).standard_normal(task.total_samples) * 0.1).astype(np.float32)
    best = np.inf
    for _ in range(15):
        start = time.perf_counter()
        criterion.reset()
        for k in range(task.steps):
            criterion.distance(audio, k)
        best = min(best, time.perf_counter() - start)
    return best / task.steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rewards", default="mse,mfcc,cqt,multiscale")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per row (medians are reported)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}\n")
    print("Per env-step, medians of the rounds; CPU in microseconds.\n")
    print(
        "| reward | steps/s | ratio to the paper's method | Python user CPU | Python system CPU | scsynth CPU "
        "| reward alone | render alone: submit | render alone: collect | load |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for reward in args.rewards.split(","):
        rounds = []
        for _ in range(args.rounds):
            paper = run_single(ENV, reward, 1, renderer="nrt")
            costs = env_costs(reward, EPISODES.get(reward, 30))
            costs["ratio"] = costs["steps/s"] / paper
            costs["reward alone"] = reward_alone(reward)
            if reward == "mse":
                costs.update(render_costs())
            rounds.append(costs)
        med = {key: float(np.median([r[key] for r in rounds])) for key in rounds[0]}
        render = f"{med['submit']:.0f} | {med['collect']:.0f}" if "submit" in med else "| "
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
        print(
            f"| {reward} | {med['steps/s']:,.0f} | {med['ratio']:,.0f}x | {med['python user']:.0f} | {med['python system']:.0f} "
            f"| {med['scsynth']:.0f} | {med['reward alone']:.0f} | {render} | {load} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
