"""The vector env's rewards per scsynth group in threads against the same env stepped serially.

    .venv/bin/python benchmarks/bench_vector_threads.py [--rewards mfcc multiscale ...] [--n 64]

One process, one env per row; rounds alternate serial (the groups' rewards one after another, as
before the threads) and threaded. Prints env-steps/s (medians of 3 rounds) and their ratio. A
thread helps only while a core is free: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys
import time

import numpy as np

from raveforce.tasks import DRUM_LOOP, KICK_FREQUENCY
from raveforce.vector import RaveForceVectorEnv

sys.path.insert(0, os.path.dirname(__file__))
from bench_vector import run_vector

ROWS = [(DRUM_LOOP, r) for r in ("mse", "mfcc", "multiscale", "cqt", "onsets")] + [(KICK_FREQUENCY, r) for r in ("mse", "spectral_ot")]


class Inline(concurrent.futures.Executor):
    """Runs each submitted call at once: the groups' rewards serially."""

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        future.set_result(fn(*args, **kwargs))
        return future


def rate(env: RaveForceVectorEnv, episodes: int, serial: bool) -> float:
    """env-steps/s over `episodes` episodes of seeded random actions (`bench_vector.run_vector`)."""
    env._threads = Inline() if serial else None
    try:
        return run_vector(env, env.task.steps, episodes)[0]
    finally:
        env._threads = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="sub-environments")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, N = {args.n}\n")
    print("| task | reward | serial (env-steps/s) | threads (env-steps/s) | threads / serial |\n|---|---|---:|---:|---:|")
    for task, reward in ROWS:
        env = RaveForceVectorEnv(task, args.n, reward=reward, copy=False)
        try:
            episodes = 3 if task.steps > 1 else 24
            serial, threads = [], []
            for _ in range(args.rounds):
                serial.append(rate(env, episodes, True))
                threads.append(rate(env, episodes, False))
        finally:
            env.close()
        s, t = float(np.median(serial)), float(np.median(threads))
        print(f"| {task.name} | {reward} | {s:,.0f} | {t:,.0f} | {t / s:.2f}x |", flush=True)
    print(f"\nonsets is computed per sub-env (not batched), so it runs serially in both columns: its ratio is the run's noise.\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
