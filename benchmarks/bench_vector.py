"""Env-steps per second of the batched vector env, against the alternatives, in one run.

    .venv/bin/python benchmarks/bench_vector.py [--quick]

Rows: the single env; RaveForceVectorEnv at N = 1, 8, 64, 256 (`processes="auto"`: one scsynth
per core once N >= 16; observations not copied, as `SyncVectorEnv(copy=False)`); Gymnasium's
SyncVectorEnv and AsyncVectorEnv of the single env; and the paper's method (a fresh scsynth render
of the whole prefix per step). Only steps that render count: the no-op autoreset steps of
NEXT_STEP vector envs are excluded. Memory: what the vector env adds to the resident set of
Python and its child processes (scsynth, Async workers), per env. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import gymnasium as gym
import numpy as np

import raveforce  # noqa: F401  (registers the envs)

sys.path.insert(0, os.path.dirname(__file__))
from bench_env import machine  # noqa: E402


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
        except (OSError, StopIteration):
            pass
    return total / 1024


def children() -> list[int]:
    """This process's descendants (scsynth, Async workers and their scsynths)."""
    out, frontier = [], [os.getpid()]
    while frontier:
        pid = frontier.pop()
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        out += kids
        frontier += kids
    return out


def run_vector(envs, steps_per_episode: int, episodes: int, seed: int = 0, baseline_mb: float = 0.0) -> tuple[float, float]:
    """(rendered env-steps/s, MB per env) of a Gymnasium vector env over whole episodes;
    memory is what the env added to `baseline_mb` (measured before it was made), per env."""
    n = envs.num_envs
    envs.action_space.seed(seed)
    actions = [envs.action_space.sample() for _ in range(steps_per_episode)]
    envs.reset(seed=seed)
    for a in actions:  # warm-up episode
        envs.step(a)
    autoreset = envs.metadata.get("autoreset_mode") == gym.vector.AutoresetMode.NEXT_STEP
    start = time.perf_counter()
    for _ in range(episodes):
        if autoreset:
            envs.step(actions[0])  # the no-op step that starts the next episodes
        else:
            envs.reset(seed=seed)
        for a in actions:
            envs.step(a)
    elapsed = time.perf_counter() - start
    memory = (rss_mb([os.getpid(), *children()]) - baseline_mb) / n
    return episodes * steps_per_episode * n / elapsed, memory


def run_single(env_id: str, reward: str, episodes: int, renderer: str = "stream") -> float:
    env = gym.make(env_id, reward=reward, renderer=renderer)
    env.action_space.seed(0)
    steps = env.unwrapped.task.steps
    actions = [env.action_space.sample() for _ in range(steps)]
    try:
        env.reset(seed=0)
        env.step(actions[0])
        start = time.perf_counter()
        for _ in range(episodes):
            env.reset(seed=0)
            for a in actions:
                env.step(a)
        return episodes * steps / (time.perf_counter() - start)
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer episodes (noisier)")
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    print(f"machine: {machine()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}\n")

    print("### DrumLoop-v0: env-steps/s by reward\n")
    sizes = (1, 8, 64, 256)
    print("Each cell: env-steps/s (its ratio to the paper's method for that reward, measured just before).\n")
    print("| reward | paper's method | single env | " + " | ".join(f"vector N={n}" for n in sizes) + " | best / paper |")
    print("|---|---:|---:|" + "---:|" * len(sizes) + "---:|")
    for reward in ("mse", "mfcc", "stft", "cqt"):
        paper = run_single("raveforce/DrumLoop-v0", reward, 1, renderer="nrt")
        single = run_single("raveforce/DrumLoop-v0", reward, max(2, int(40 * scale)))
        cells = []
        for n in sizes:
            envs = gym.make_vec("raveforce/DrumLoop-v0", num_envs=n, vectorization_mode="vector_entry_point", reward=reward, copy=False)
            try:
                rate, _ = run_vector(envs, 16, max(2, int(scale * 2048 / (16 * n) * 4)))
            finally:
                envs.close()
            cells.append(rate)
        best = max(single, *cells)
        print(f"| {reward} | {paper:,.1f} | " + " | ".join(f"{c:,.0f} ({c / paper:,.0f}x)" for c in (single, *cells)) + f" | {best / paper:,.0f}x |", flush=True)

    print("\n### Against Gymnasium's vector envs of the single env (DrumLoop-v0, mse)\n")
    paper = run_single("raveforce/DrumLoop-v0", "mse", 1, renderer="nrt")
    print(f"The paper's method in this run: {paper:,.1f} steps/s.\n")
    print("| vectorization | N | scsynth processes | env-steps/s | ratio to the paper's method | MB per env |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in (8, 64):
        for mode, label in (("sync", "SyncVectorEnv"), ("async", "AsyncVectorEnv"), ("vector_entry_point", "RaveForceVectorEnv")):
            if mode == "async" and n > 8 and args.quick:
                continue
            kwargs = {"copy": False}
            baseline = rss_mb([os.getpid(), *children()])
            envs = gym.make_vec(
                "raveforce/DrumLoop-v0",
                num_envs=n,
                vectorization_mode=mode,
                reward="mse",
                **({"vector_kwargs": kwargs} if mode != "vector_entry_point" else kwargs),
            )
            try:
                processes = getattr(envs.unwrapped, "_groups", None)
                procs = len(processes) if processes is not None else n  # one scsynth per single env
                rate, memory = run_vector(envs, 16, max(2, int(scale * 8 * (8 if n == 8 else 1))), baseline_mb=baseline)
            finally:
                envs.close()
            print(f"| {label} | {n} | {procs} | {rate:,.0f} | {rate / paper:,.0f}x | {memory:.1f} |", flush=True)

    print("\n### KickFrequency-v0 (every action a new render), mse\n")
    paper = run_single("raveforce/KickFrequency-v0", "mse", max(8, int(32 * scale)), renderer="nrt")
    print(f"The paper's method in this run: {paper:,.1f} steps/s.\n")
    print("| N | env-steps/s | ratio to the paper's method |")
    print("|---:|---:|---:|")
    for n in (1, 64):
        envs = gym.make_vec("raveforce/KickFrequency-v0", num_envs=n, vectorization_mode="vector_entry_point", reward="mse", copy=False)
        try:
            rate, _ = run_vector(envs, 1, max(4, int(scale * (400 if n == 1 else 80))))
        finally:
            envs.close()
        print(f"| {n} | {rate:,.0f} | {rate / paper:,.0f}x |", flush=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
