"""Record seeded DrumLoop episodes (rewards and observations) to compare two source trees.

    PYTHONPATH=TREE_A/src python scripts/record_episodes.py record a.npz [--episodes 6]
    PYTHONPATH=TREE_B/src python scripts/record_episodes.py record b.npz
    python scripts/record_episodes.py compare a.npz b.npz [--exact]

Single env: every paper criterion, multiscale and the default reward (absolute; mse and mfcc also
delta), `episodes` seeded episodes of seeded random actions; vector env (N = 5, autoreset):
mse, mfcc, multiscale, cqt, three episodes' worth of steps; KickFrequency (one step an episode):
steady_ot and spectral_ot, single env and vector env. `compare` exits 1 unless every array
agrees within the project's tolerance: observations within 1e-6, rewards within 1e-6 relative
or 1e-9 absolute; it prints each array's largest difference. `--exact` asks for equality with
`==` and byte for byte instead (same shape, dtype and bits, signed zeros included).
"""

from __future__ import annotations

import argparse
import sys

import gymnasium as gym
import numpy as np

import raveforce  # noqa: F401  (registers the envs)

ENV = "raveforce/DrumLoop-v0"
OBSERVATION_TOLERANCE = 1e-6  # absolute, on samples
REWARD_RELATIVE, REWARD_ABSOLUTE = 1e-6, 1e-9
SINGLE = [(reward, mode) for reward in ("mse", "mfcc", "cqt", "multiscale", "stft", None) for mode in ("absolute", "delta") if mode == "absolute" or reward in ("mse", "mfcc")]
VECTOR = ("mse", "mfcc", "multiscale", "cqt")
KICK = "raveforce/KickFrequency-v0"
KICK_REWARDS = ("steady_ot", "spectral_ot")  # steady_ot: its default


def single(env_id: str, reward: str | None, mode: str, episodes: int) -> tuple[np.ndarray, np.ndarray]:
    """(observations, rewards) of `episodes` seeded episodes of seeded random actions in one env."""
    env = gym.make(env_id, reward_mode=mode, **({} if reward is None else {"reward": reward}))
    env.action_space.seed(1)
    observations, rewards = [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        observations.append(obs)
        done = False
        while not done:
            obs, r, done, _, _ = env.step(env.action_space.sample())
            observations.append(obs)
            rewards.append(r)
    env.close()
    return np.array(observations), np.array(rewards)


def vector(env_id: str, reward: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(observations, rewards) of `steps` seeded random steps of a vector env of 5 (autoreset)."""
    envs = gym.make_vec(env_id, num_envs=5, vectorization_mode="vector_entry_point", reward=reward)
    envs.action_space.seed(2)
    obs, _ = envs.reset(seed=0)
    observations, rewards = [obs.copy()], []
    for _ in range(steps):
        obs, r, *_ = envs.step(envs.action_space.sample())
        observations.append(obs.copy())
        rewards.append(r.copy())
    envs.close()
    return np.array(observations), np.array(rewards)


def record(path: str, episodes: int) -> None:
    arrays = {}
    for reward, mode in SINGLE:
        name = f"{reward or 'default'}-{mode}"
        arrays[f"{name}-obs"], arrays[f"{name}-rew"] = single(ENV, reward, mode, episodes)
        print(f"{name}: {len(arrays[f'{name}-rew'])} steps", flush=True)
    for reward in VECTOR:
        arrays[f"vector-{reward}-obs"], arrays[f"vector-{reward}-rew"] = vector(ENV, reward, 16 * 3)
        print(f"vector N=5 {reward}: {len(arrays[f'vector-{reward}-rew'])} steps", flush=True)
    for reward in KICK_REWARDS:  # one step an episode
        arrays[f"kick-{reward}-obs"], arrays[f"kick-{reward}-rew"] = single(KICK, reward, "absolute", 4 * episodes)
        arrays[f"kick-vector-{reward}-obs"], arrays[f"kick-vector-{reward}-rew"] = vector(KICK, reward, 4 * episodes)
        print(f"kick {reward}: {4 * episodes} steps single, {4 * episodes} vector N=5", flush=True)
    np.savez(path, **arrays)


def same(x: np.ndarray, y: np.ndarray) -> bool:
    """Equal with ==, and the same bytes (signed zeros, NaN payloads)."""
    return x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y) and x.tobytes() == y.tobytes()


def within(name: str, x: np.ndarray, y: np.ndarray) -> tuple[bool, float]:
    """(whether recorded array `name` (an "-obs" or a "-rew") of two runs agrees within the
    tolerance, its largest difference: absolute for observations, relative for rewards)."""
    if x.shape != y.shape:
        return False, float("inf")
    x, y = x.astype(np.float64), y.astype(np.float64)
    gap = np.abs(x - y)
    if name.endswith("-obs"):
        return bool(np.all(gap <= OBSERVATION_TOLERANCE)), float(gap.max(initial=0.0))
    relative = gap / np.maximum(np.abs(x), REWARD_ABSOLUTE / REWARD_RELATIVE)
    return bool(np.all(relative <= REWARD_RELATIVE)), float(relative.max(initial=0.0))


def compare(a_path: str, b_path: str, *, exact: bool = False) -> bool:
    a, b = np.load(a_path), np.load(b_path)
    names = sorted(set(a.files) | set(b.files))
    missing = [n for n in names if n not in a.files or n not in b.files]
    if exact:
        differ = missing + [n for n in names if n not in missing and not same(a[n], b[n])]
        values = sum(a[n].size for n in a.files)
        print(f"{len(names)} arrays, {values:,} values: " + ("bit-identical" if not differ else f"DIFFERENT: {', '.join(differ)}"))
        return not differ
    differ = list(missing)
    for n in names:
        if n in missing:
            continue
        ok, worst = within(n, a[n], b[n])
        print(f"{n}: largest difference {worst:.3g} ({'absolute' if n.endswith('-obs') else 'relative'}){'' if ok else '  OUTSIDE THE TOLERANCE'}")
        if not ok:
            differ.append(n)
    print(f"{len(names)} arrays: " + ("within the tolerance" if not differ else f"DIFFERENT: {', '.join(differ)}"))
    return not differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out")
    rec.add_argument("--episodes", type=int, default=6)
    cmp = sub.add_parser("compare")
    cmp.add_argument("a")
    cmp.add_argument("b")
    cmp.add_argument("--exact", action="store_true", help="bit for bit, not within the tolerance")
    args = parser.parse_args()
    if args.command == "record":
        record(args.out, args.episodes)
    else:
        sys.exit(0 if compare(args.a, args.b, exact=args.exact) else 1)


if __name__ == "__main__":
    main()
