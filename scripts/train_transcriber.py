"""Train the shipped drum transcriber: DQN on DrumTranscribe-v0's vector env, from its reward.

    PYTHONPATH=src python scripts/train_transcriber.py --seed 0 [--algo dqn] [--steps 26240] [--out out/transcriber]

Writes the run (curve.csv, curve.png, policy.npz, model.zip, index.html) to --out and copies the
numpy policy to src/raveforce/data/policies/drum_transcriber.npz (--no-install to skip).
The algorithm, reward and step budget were chosen on the dev split (DQN reached 0.996 per-hit
accuracy there at 26,240 steps, PPO 0.964 at the same budget and 0.968 at 131,072); the
held-out split is only read by benchmarks/bench_transcribe.py. About 22 minutes on 2 busy cores.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from raveforce.app.cli import write_curve_html
from raveforce.app.progress import ProgressLine
from raveforce.transcribe.policy import POLICY_PATH
from raveforce.transcribe.training import train_transcriber

STEPS = 26_240  # 410 vector steps of 64 envs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--algo", choices=["dqn", "ppo"], default="dqn")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--reward", default="multiscale")
    parser.add_argument("--out", default="out/transcriber")
    parser.add_argument("--no-install", action="store_true", help="do not copy policy.npz into the package")
    parser.add_argument("--kits", default=None, help="train on targets played on kits of the kit family: a split (train); dev on dev kits")
    args = parser.parse_args()
    out = Path(args.out)
    run = train_transcriber(args.algo, steps=args.steps, envs=args.envs, seed=args.seed, out=out, reward=args.reward, progress=ProgressLine(args.algo), kits=args.kits)
    write_curve_html(out, {"task": "raveforce/DrumTranscribe-v0", "agent": args.algo, "steps": args.steps, "envs": args.envs, "kits": args.kits,
                           "dev": run.dev, "curve": run.curve})  # fmt: skip
    print(f"dev set: per-hit accuracy {run.dev['hit_accuracy']:.4f}, exact patterns {run.dev['exact_rate']:.3f}, {run.seconds / 60:.1f} min")
    if not args.no_install:
        POLICY_PATH.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "policy.npz", POLICY_PATH)
        print(f"installed {POLICY_PATH}")


if __name__ == "__main__":
    main()
