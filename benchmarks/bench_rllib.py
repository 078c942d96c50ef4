"""Env steps per second that RLlib's env runners sample from RaveForce, with 1 and 2 env runners.

    .venv/bin/python benchmarks/bench_rllib.py [--envs-per-runner 8] [--steps 2048] [--repeats 3] [--json out.json]

Each env runner holds one RaveForceVectorEnv (one scsynth) with log-mel observations and runs
RLlib's own sample() with its PPO module choosing the actions (explore=True), as in training;
the runners sample in parallel. Reported: the median over repeats of all runners' env steps
divided by the wall time, next to the bare vector env stepped with random actions in this
process (no RLlib, no policy), the ceiling. Needs the `rllib` extra.

BLAS runs single-threaded here, as Ray makes it in its workers (OMP_NUM_THREADS=1): with
OpenBLAS's default threads on a busy 2-core machine, LogMelObservation's mel product was
measured 10x slower.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy loads its BLAS
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def bare_vector_env(envs: int, steps: int, repeats: int) -> float:
    from raveforce.integrations.rllib import make_env

    env = make_env("raveforce/DrumLoop-v0", {"num_envs": envs, "reward": "mfcc", "observation": "logmel"})
    try:
        rng = np.random.default_rng(0)
        env.reset(seed=0)
        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(steps // envs):
                env.step(rng.integers(0, 8, envs))
            rates.append((steps // envs) * envs / (time.perf_counter() - t0))
        return statistics.median(rates)
    finally:
        env.close()


def rllib_sampling(runners: int, envs: int, steps: int, repeats: int) -> float:
    import ray

    from raveforce.integrations.rllib import ppo_config

    ray.init(address="local", num_cpus=max(2, runners + 1), include_dashboard=False, logging_level="error")
    algo = None
    try:
        config = ppo_config(num_env_runners=runners, num_envs_per_env_runner=envs, env_config={"reward": "mfcc"}, seed=0)
        algo = config.build_algo()
        per_runner = steps // runners

        def sample(runner):
            return sum(len(e) for e in runner.sample(num_timesteps=per_runner, explore=True))

        algo.env_runner_group.foreach_env_runner(sample, local_env_runner=False)  # warm-up
        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            done = algo.env_runner_group.foreach_env_runner(sample, local_env_runner=False)
            rates.append(sum(done) / (time.perf_counter() - t0))
        return statistics.median(rates)
    finally:
        if algo is not None:
            algo.stop()
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs-per-runner", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2048, help="env steps per measurement, all runners together")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "envs_per_runner": args.envs_per_runner,
        "steps": args.steps,
        "bare_vector_env_steps_per_s": bare_vector_env(args.envs_per_runner, args.steps, args.repeats),
    }
    print(f"bare vector env ({args.envs_per_runner} envs, random actions, no RLlib): {results['bare_vector_env_steps_per_s']:.0f} env steps/s")
    for runners in (1, 2):
        rate = rllib_sampling(runners, args.envs_per_runner, args.steps, args.repeats)
        results[f"rllib_{runners}_runners_steps_per_s"] = rate
        print(f"RLlib, {runners} env runner(s) x {args.envs_per_runner} envs: {rate:.0f} env steps/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
