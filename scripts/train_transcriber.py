"""Train the shipped drum transcriber: PPO on DrumTranscribe-v0's vector env, from its reward.

    PYTHONPATH=src python scripts/train_transcriber.py --seed 0 [--steps 327680] [--out out/transcriber]

Writes the run (curve.csv, curve.png, policy.npz, model.zip, index.html) to --out and copies the
numpy policy to src/raveforce/data/policies/drum_transcriber.npz (--no-install to skip).
Hyperparameters and the step budget were chosen on the dev split; the held-out split is only
read by benchmarks/bench_transcribe.py.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from raveforce.cli import write_curve_html
from raveforce.progress import ProgressLine
from raveforce.train_transcribe import train_transcriber
from raveforce.transcriber import POLICY_PATH

STEPS = 327_680  # 320 updates of 64 envs x 16 steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--reward", default="stft")
    parser.add_argument("--out", default="out/transcriber")
    parser.add_argument("--no-install", action="store_true", help="do not copy policy.npz into the package")
    args = parser.parse_args()
    out = Path(args.out)
    run = train_transcriber("ppo", steps=args.steps, envs=args.envs, seed=args.seed, out=out, reward=args.reward, progress=ProgressLine("ppo"))
    write_curve_html(out, {"task": "raveforce/DrumTranscribe-v0", "agent": "ppo", "steps": args.steps, "envs": args.envs,
                           "dev": run.dev, "curve": run.curve})  # fmt: skip
    print(f"dev set: per-hit accuracy {run.dev['hit_accuracy']:.4f}, exact patterns {run.dev['exact_rate']:.3f}, {run.seconds / 60:.1f} min")
    if not args.no_install:
        POLICY_PATH.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "policy.npz", POLICY_PATH)
        print(f"installed {POLICY_PATH}")


if __name__ == "__main__":
    main()
