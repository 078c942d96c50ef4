"""Where a step's wall time goes, per path: cProfile's own time of every function, in categories.

    .venv/bin/python benchmarks/profile_env.py [--rewards mse,mfcc,cqt,multiscale] [--sizes 8,64,256]
                                               [--stats DIR]

Paths: the single env (`gym.make`, so with Gymnasium's wrappers) and the vector env at each N
(copy=False), DrumLoop-v0, seeded random episodes. Categories (a function's own time, not its
callees'; numpy's for the raveforce code that called it): waiting for scsynth (blocked in a
pipe write, flush, select or FIFO read: scsynth renders meanwhile, or the machine runs someone
else), the renderer's Python (render.py, scsynth.py), OSC encoding, reward features, copies of
audio (the observation, the FIFO's block into lanes), the env's own bookkeeping (env.py,
vector.py, task.py), Gymnasium's wrappers, the rest (the benchmark loop, cProfile).
`--stats DIR` also writes each path's .prof (for snakeviz, or `py-spy record` for a flame graph).
Prints one Markdown table, percent of wall time, and the profiled env-steps/s.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time

import gymnasium as gym
import numpy as np

import raveforce  # noqa: F401  (registers the envs)

sys.path.insert(0, os.path.dirname(__file__))
from bench_env import machine  # noqa: E402

ENV = "raveforce/DrumLoop-v0"
WAIT = ("select", "readv", "flush", "write", "read", "sleep")  # builtins that block on scsynth's pipes
CATEGORIES = ("waiting for scsynth", "renderer", "OSC encoding", "reward", "copies", "env", "Gymnasium wrappers", "other")
OWNERS = {  # raveforce modules -> category; numpy and builtins count for the raveforce code that called them
    "osc.py": "OSC encoding", "render.py": "renderer", "scsynth.py": "renderer", "env.py": "env", "vector.py": "env",
    "task.py": "env", "_features.py": "reward",
}  # fmt: skip


def own_category(filename: str, function: str) -> str | None:
    """The category of a function by itself, or None: it counts for its callers."""
    if filename == "~":
        if any(f"method '{w}'" in function or f"method {w}" in function or function.endswith(f".{w}>") for w in WAIT):
            return "waiting for scsynth"
        if "'copy'" in function or "concatenate" in function or "copyto" in function:
            return "copies"
        return None
    path = filename.replace(os.sep, "/")
    if "/raveforce/rewards/" in path:
        return "reward"
    if "/raveforce/" in path:
        return OWNERS.get(os.path.basename(path), "other")
    if "/gymnasium/" in path and "/vector/" not in path:
        return "Gymnasium wrappers"
    return None


def categorize(stats: dict) -> dict[str, float]:
    """Seconds per category: each function's own time, a callee of no category of its own split
    among its callers' categories in proportion to the time spent in it per caller."""
    memo: dict = {}

    def mix(func, depth=0) -> dict[str, float]:
        if func in memo:
            return memo[func]
        own = own_category(func[0], func[2])
        if own is not None or depth > 30 or func not in stats:
            memo[func] = {own or "other": 1.0}
            return memo[func]
        memo[func] = {"other": 1.0}  # while resolving (recursion)
        callers = stats[func][4]
        total = sum(c[2] for c in callers.values())
        out: dict[str, float] = {}
        for caller, c in callers.items():
            weight = c[2] / total if total else 1 / len(callers)
            for k, v in mix(caller, depth + 1).items():
                out[k] = out.get(k, 0.0) + weight * v
        memo[func] = out or {"other": 1.0}
        return memo[func]

    seconds = dict.fromkeys(CATEGORIES, 0.0)
    for func, (_, _, tottime, _, _) in stats.items():
        for k, v in mix(func).items():
            seconds[k] += tottime * v
    return seconds


def profile(run, steps: int, out: str | None) -> tuple[dict[str, float], float]:
    """(percent of wall time per category under cProfile, env-steps/s of an unprofiled run)."""
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(run)
    wall = time.perf_counter() - start
    if out:
        profiler.dump_stats(out)
    seconds = categorize(pstats.Stats(profiler).stats)
    return {k: 100 * v / wall for k, v in seconds.items()}, steps / _wall(run)


def single(reward: str, episodes: int, out: str | None):
    env = gym.make(ENV, reward=reward)
    env.action_space.seed(0)
    actions = [[env.action_space.sample() for _ in range(16)] for _ in range(episodes)]

    def run():
        for episode in actions:
            env.reset(seed=0)
            for a in episode:
                env.step(a)

    try:
        run()  # warm-up
        return profile(run, 16 * episodes, out)
    finally:
        env.close()


def vector(reward: str, n: int, steps: int, out: str | None):
    envs = gym.make_vec(ENV, num_envs=n, vectorization_mode="vector_entry_point", reward=reward, copy=False)
    envs.action_space.seed(0)
    actions = [envs.action_space.sample() for _ in range(16)]
    episodes = max(2, steps // (16 * n))

    def run():
        for _ in range(episodes):
            for a in actions:
                envs.step(a)
            envs.step(actions[0])  # the NEXT_STEP autoreset step

    try:
        envs.reset(seed=0)
        run()
        return profile(run, 16 * n * episodes, out)
    finally:
        envs.close()


def _wall(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rewards", default="mse,mfcc,cqt,multiscale")
    parser.add_argument("--sizes", default="8,64,256")
    parser.add_argument("--steps", type=int, default=4096, help="env-steps profiled per vector row (default 4096)")
    parser.add_argument("--stats", help="a directory to write each path's .prof file into")
    args = parser.parse_args()
    if args.stats:
        os.makedirs(args.stats, exist_ok=True)
    print(f"machine: {machine()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}\n")
    print("| path | reward | env-steps/s (unprofiled) | " + " | ".join(CATEGORIES) + " |")
    print("|---|---|---:|" + "---:|" * len(CATEGORIES))
    for reward in args.rewards.split(","):
        rows = [("single env", lambda out: single(reward, 20, out))]
        rows += [(f"vector N={n}", lambda out, n=n: vector(reward, n, args.steps, out)) for n in map(int, args.sizes.split(","))]
        for label, fn in rows:
            out = os.path.join(args.stats, f"{label.replace(' ', '-').replace('=', '')}-{reward}.prof") if args.stats else None
            shares, rate = fn(out)
            print(f"| {label} | {reward} | {rate:,.0f} | " + " | ".join(f"{shares[c]:.0f}%" for c in CATEGORIES) + " |", flush=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
