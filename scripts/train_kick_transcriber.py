"""Train the shipped kick transcriber by imitation: a softmax over log-frequency bins (a filter
along the log-frequency axis and a bias per bin) fitted
(Adam, numpy) to KickTranscribe-v0 targets labelled with info["target_action"]'s frequency.

    PYTHONPATH=src python scripts/train_kick_transcriber.py --seed 0 [--held-out]

Targets come from the vector env: training resets seeded 0.., dev resets 100000.. (the epoch
is chosen there), held-out resets 200000.. (as benchmarks/bench_transcribe.py), read only with
--held-out, which plays one env step per target (one pass, real scsynth) and reports the share
within 50 cents. Copies the policy to src/raveforce/data/policies/kick_transcriber.npz
(--no-install to skip). Not RL: the labels are the true answers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from raveforce.app.progress import ProgressLine
from raveforce.transcribe import KICK_TRANSCRIBE, KickTranscribeEnv
from raveforce.transcribe.kick_policy import (
    POLICY_PATH,
    KickPolicy,
    LogFrequencySpectrum,
    windows,
)

LANES = 64


def draw(first_seed: int, resets: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets float32 (resets * LANES, samples) and their frequencies (Hz) from the vector env."""
    env = KickTranscribeEnv.make_vector(LANES)
    try:
        rows = [env.reset(seed=first_seed + i) for i in range(resets)]
    finally:
        env.close()
    return np.concatenate([obs["target"] for obs, _ in rows]), np.concatenate([info["target_frequency"] for _, info in rows])


def cents(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.abs(1200 * np.log2(predicted / true))


def train(x: np.ndarray, f: np.ndarray, features: LogFrequencySpectrum, dev: tuple[np.ndarray, np.ndarray], *, seed: int,
          epochs: int, taps: int = 31, batch: int = 256, lr: float = 0.1, sigma_bins: float = 2.0) -> tuple[KickPolicy, list[dict]]:
    """Fit the policy; keep the epoch with the most dev targets within 50 cents."""
    rng = np.random.default_rng(seed)
    bins = features.bins
    step = features.log_frequencies[1] - features.log_frequencies[0]
    labels = np.exp(-0.5 * ((np.log(f)[:, None] - features.log_frequencies) / (sigma_bins * step)) ** 2)
    labels /= labels.sum(axis=1, keepdims=True)
    params = [rng.normal(0, 0.01, taps), np.zeros(bins)]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    policy = KickPolicy(features, *params)
    best, curve, t = None, [], 0
    progress = ProgressLine("kick")
    for epoch in range(epochs):
        for rows in np.array_split(rng.permutation(len(x)), max(1, len(x) // batch)):
            p = policy.probabilities(x[rows])
            g_logits = (p - labels[rows]) / len(rows)
            grads = [np.einsum("nk,nkj->j", g_logits, windows(x[rows], taps)), g_logits.sum(axis=0)]
            t += 1
            for param, grad, (m, v) in zip(params, grads, moments):
                m[:] = 0.9 * m + 0.1 * grad
                v[:] = 0.999 * v + 0.001 * grad**2
                param -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        error = cents(policy.frequency(dev[0]), dev[1])
        curve.append({"epoch": epoch + 1, "dev_within_50_cents": float(np.mean(error <= 50)), "dev_median_cents": float(np.median(error))})
        if best is None or curve[-1]["dev_within_50_cents"] > best[0]["dev_within_50_cents"]:
            best = (curve[-1], params[0].astype(np.float32), params[1].astype(np.float32))
        progress(epoch + 1, epochs, f"dev within 50 cents {curve[-1]['dev_within_50_cents']:.3f}")
    chosen, weight, bias = best
    return KickPolicy(features, weight, bias, meta={"trained": "imitation", "epoch": chosen["epoch"], "dev": chosen}), curve


def evaluate_held_out(policy: KickPolicy, n: int = 200, lanes: int = 50) -> dict:
    """One env step per held-out target (env seeds 200000+), rendered by scsynth."""
    env = KickTranscribeEnv.make_vector(lanes, copy=False)
    control = env.task.actions.controls[0]
    errors = []
    try:
        for i in range(n // lanes):
            obs, info = env.reset(seed=200_000 + i)
            actions = policy.act(obs["audio"], obs["target"], 0)
            env.step(actions)
            played = np.array([control(float(a)) for a in actions[:, 0]])
            errors.extend(cents(played, info["target_frequency"]).tolist())
    finally:
        env.close()
    errors = np.array(errors)
    return {"targets": len(errors), "within_50_cents": float(np.mean(errors <= 50)), "median_cents": float(np.median(errors)), "max_cents": float(errors.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-resets", type=int, default=32, help=f"training targets = this x {LANES}")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default="out/kick_transcriber")
    parser.add_argument("--held-out", action="store_true", help="evaluate on the held-out seeds (once, at the end)")
    parser.add_argument("--no-install", action="store_true", help="do not copy the policy into the package")
    args = parser.parse_args()
    out = Path(args.out)
    start = time.perf_counter()
    features = LogFrequencySpectrum(KICK_TRANSCRIBE.sample_rate)
    train_x, train_f = draw(0, args.train_resets)
    dev_x, dev_f = draw(100_000, 8)
    policy, curve = train(features(train_x), train_f, features, (dev_x, dev_f), seed=args.seed, epochs=args.epochs)
    out.mkdir(parents=True, exist_ok=True)
    policy.save(out / "kick_policy.npz")
    result = {"seed": args.seed, "train_targets": len(train_f), "dev_targets": len(dev_f), "chosen": policy.meta["dev"], "curve": curve,
              "seconds": time.perf_counter() - start}  # fmt: skip
    print(f"dev ({len(dev_f)} targets): within 50 cents {policy.meta['dev']['dev_within_50_cents']:.4f}, median "
          f"{policy.meta['dev']['dev_median_cents']:.2f} cents (epoch {policy.meta['epoch']}), {result['seconds'] / 60:.1f} min")  # fmt: skip
    if args.held_out:
        result["held_out"] = evaluate_held_out(policy)
        print(f"held-out: {result['held_out']}")
    (out / "result.json").write_text(json.dumps(result, indent=2))
    if not args.no_install:
        shutil.copyfile(out / "kick_policy.npz", POLICY_PATH)
        print(f"installed {POLICY_PATH}")


if __name__ == "__main__":
    main()
