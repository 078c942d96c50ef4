"""Steps per second of the environments, against the paper's method measured in the same run.

    .venv/bin/python benchmarks/bench_env.py [--episodes 40] [--paper-episodes 1]

Ours: one kept-alive scsynth per env, fed step by step (renderer="stream").
The paper's method: a fresh one-shot NRT render of the whole prefix at every step (renderer="nrt").
Both play the same seeded random episodes and compute the same reward. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np

import raveforce  # noqa: F401  (registers the envs)

MAKE_AND_RESET = """
import time, gymnasium as gym, raveforce
t = time.perf_counter()
env = gym.make({env_id!r})
env.reset(seed=0)
print(time.perf_counter() - t)
env.close()
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/loadavg") as f:
            load = f", load average {f.read().split()[0]}"
    except OSError:
        load = ""
    now = datetime.datetime.now(datetime.timezone.utc)
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}; {now:%Y-%m-%d %H:%M} UTC{load}"


def steps_per_second(env_id: str, *, reward: str, renderer: str, episodes: int, seed: int = 0, wrapped: bool = False) -> float:
    """wrapped: with the training wrappers (`AppendStep(LogMelObservation(env))`, as `raveforce train`)."""
    env = gym.make(env_id, reward=reward, renderer=renderer)
    if wrapped:
        from raveforce.wrappers import AppendStep, LogMelObservation

        env = AppendStep(LogMelObservation(env))
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    actions = [[env.action_space.sample() for _ in range(env.unwrapped.task.steps)] for _ in range(episodes)]
    try:
        env.reset(seed=seed)  # start-up is not a step
        for a in actions[0][:1]:
            env.step(a)
        steps = 0
        start = time.perf_counter()
        for episode in actions:
            env.reset(seed=int(rng.integers(1 << 31)))
            for a in episode:
                env.step(a)
                steps += 1
        return steps / (time.perf_counter() - start)
    finally:
        env.close()


def make_and_reset_seconds(env_id: str, repeats: int = 3) -> float:
    """gym.make + first reset in a fresh interpreter that has imported raveforce (best of n)."""
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", MAKE_AND_RESET.format(env_id=env_id)], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.split()[-1]))
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=40, help="episodes per measurement of our env")
    parser.add_argument("--paper-episodes", type=int, default=1, help="episodes per measurement of the paper's method")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}\n")
    print("| env | reward | ours (steps/s) | paper's method (steps/s) | ratio |")
    print("|---|---|---:|---:|---:|")
    for env_id, rewards in (("raveforce/DrumLoop-v0", ("mse", "mfcc", "stft", "cqt")), ("raveforce/KickFrequency-v0", ("mse", "stft"))):
        for reward in rewards:
            ours = steps_per_second(env_id, reward=reward, renderer="stream", episodes=args.episodes * (1 if "Drum" in env_id else 16))
            paper = steps_per_second(env_id, reward=reward, renderer="nrt", episodes=args.paper_episodes * (1 if "Drum" in env_id else 16))
            print(f"| {env_id} | {reward} | {ours:,.0f} | {paper:,.1f} | {ours / paper:,.0f}x |", flush=True)
    env_id = "raveforce/DrumLoop-v0"  # what an agent trains on: log-mel frames and the step
    ours = steps_per_second(env_id, reward="mse", renderer="stream", episodes=args.episodes, wrapped=True)
    paper = steps_per_second(env_id, reward="mse", renderer="nrt", episodes=args.paper_episodes, wrapped=True)
    print(f"| {env_id}, training wrappers | mse | {ours:,.0f} | {paper:,.1f} | {ours / paper:,.0f}x |", flush=True)
    print()
    for env_id in ("raveforce/DrumLoop-v0", "raveforce/KickFrequency-v0"):
        print(f"gym.make + first reset, {env_id}: {make_and_reset_seconds(env_id) * 1000:.0f} ms (best of 3, raveforce imported)")


if __name__ == "__main__":
    main()
