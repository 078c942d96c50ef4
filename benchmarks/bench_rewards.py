"""Per-step cost of the reward criteria, incremental vs from scratch vs librosa.

    .venv/bin/python benchmarks/bench_rewards.py [--episodes 50]

One 16-step episode of 88200 samples at 44100 Hz (boundaries: k * 5512.5
rounded half up), a target of the same length; the audio buffer is float32
and filled step by step as the env does.  Each cell is the mean over the 16
steps of one episode, in ms, median over the episodes.

- incremental: ``distance(audio, k)`` for k = 0..15 in order (the env's use);
- from scratch: ``reset()`` before every call;
- librosa: the features of the observed prefix with librosa (float32 input,
  as the env's buffer), the target's features precomputed, then the MSE
  (for ``mse``: the numpy one-liner);
- make(): building the criterion for one target (per-process caches warm).

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

from raveforce import rewards

sys.path.insert(0, os.path.dirname(__file__))
from bench_env import machine  # noqa: E402

SR = 44100
STEPS = 16
BOUNDARIES = np.floor(np.arange(STEPS + 1) * 5512.5 + 0.5).astype(np.int64)
BUDGET_MS = {"mse": 0.05, "mfcc": 0.6, "stft": 0.6, "cqt": 1.5}


def episode_ms(call, audio_full: np.ndarray, *, before_step=None) -> float:
    """Mean ms per step of ``call(audio, k)`` over one episode, the buffer filled step by step."""
    audio = np.zeros_like(audio_full)
    total = 0.0
    for k in range(STEPS):
        audio[BOUNDARIES[k] : BOUNDARIES[k + 1]] = audio_full[BOUNDARIES[k] : BOUNDARIES[k + 1]]
        if before_step is not None:
            before_step()
        start = time.perf_counter()
        call(audio, k)
        total += time.perf_counter() - start
    return total / STEPS * 1e3


def librosa_step(name: str, target: np.ndarray):
    """``call(audio, k)`` computing the step's distance with librosa, target features precomputed."""
    import librosa

    if name == "mse":
        return lambda audio, k: np.mean((audio[: BOUNDARIES[k + 1]] - target[: BOUNDARIES[k + 1]]) ** 2)
    feature = {
        "mfcc": lambda x: librosa.feature.mfcc(y=x, sr=SR, n_mfcc=20),
        "stft": librosa.stft,
        "cqt": lambda x: librosa.cqt(x, sr=SR),
    }[name]
    targets = [feature(target[: BOUNDARIES[k + 1]].astype(np.float32)) for k in range(STEPS)]

    def call(audio, k):
        diff = feature(audio[: BOUNDARIES[k + 1]]) - targets[k]
        return np.mean(diff.real**2 + diff.imag**2) / (1 if name == "mfcc" else 2)

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=50, help="timed episodes per cell (default 50)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # librosa: n_fft too large for the shortest CQT octaves

    rng = np.random.default_rng(0)
    t = np.arange(int(BOUNDARIES[-1])) / SR
    target = np.exp(-12 * (t % 0.25)) * np.sin(2 * np.pi * 220 * t)
    audio = (0.3 * rng.standard_normal(len(t)) * ((t * 8) % 1 < 0.3)).astype(np.float32)
    try:
        import librosa  # noqa: F401
    except ImportError:
        librosa = None

    print(f"Reward criteria, ms per step (mean over a {STEPS}-step episode of {len(t)} samples at {SR} Hz, "
          f"median of {args.episodes} episodes)  \n{machine()}\n")
    print("| criterion | budget | incremental | from scratch | librosa | librosa / incremental | make() |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in rewards.available():
        rewards.make(name, target=target, sample_rate=SR, boundaries=BOUNDARIES)  # fills per-process caches
        start = time.perf_counter()
        criterion = rewards.make(name, target=target, sample_rate=SR, boundaries=BOUNDARIES)
        make_ms = (time.perf_counter() - start) * 1e3

        def timed(call, episodes, **kw):
            episode_ms(call, audio, **kw)  # warm-up (caches, JIT)
            return float(np.median([episode_ms(call, audio, **kw) for _ in range(episodes)]))

        incremental = timed(criterion.distance, args.episodes, before_step=None)
        criterion.reset()
        scratch = timed(criterion.distance, max(1, args.episodes // 5), before_step=criterion.reset)
        if librosa is not None and name in BUDGET_MS:  # the paper's four have a librosa equivalent
            lib = timed(librosa_step(name, target), max(1, args.episodes // 10))
            lib_cells = f"{lib:.3f} | {lib / incremental:.0f}x"
        else:
            lib_cells = "n/a | n/a"
        budget = f"<= {BUDGET_MS[name]}" if name in BUDGET_MS else "-"
        print(f"| {name} | {budget} | {incremental:.3f} | {scratch:.3f} | {lib_cells} | {make_ms:.1f} ms |")


if __name__ == "__main__":
    main()
