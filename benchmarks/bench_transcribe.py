"""Baselines of drum transcription on 200 held-out patterns (seeds never trained on).

    PYTHONPATH=src python benchmarks/bench_transcribe.py --dqn out/tr-dqn [--ppo out/tr-ppo] [--beam 50]
    PYTHONPATH=src python benchmarks/bench_transcribe.py --throughput   # targets/s per reward and lanes
    PYTHONPATH=src python benchmarks/bench_transcribe.py --tempos [--split dev]   # accuracy at other tempos
    PYTHONPATH=src python benchmarks/bench_transcribe.py --kits [out/tr-dqn-kits]   # kit-family targets

Rows: the shipped policy (one pass, 16 env steps; supervised, `scripts/train_transcriber.py`), PPO and DQN runs of `raveforce train
drum-transcribe` at equal step budgets (their policy.npz), a supervised classifier on the same
features (trained on the true patterns of 2048 training-seed targets: an upper reference, not
RL), greedy and beam search (width 4) with their env-step counts, and random actions.
Per-hit accuracy: the share of the 16 x 3 step x drum cells right; exact: whole patterns right.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime

import numpy as np

from raveforce import agents
from raveforce.transcribe import (
    DRUM_TRANSCRIBE,
    DrumTranscribeEnv,
    draw_pattern,
    mix_pattern,
)
from raveforce.transcribe import policy as transcriber
from raveforce.transcribe.policy import NumpyPolicy, StepFeatures
from raveforce.transcribe.training import evaluate, hit_scores, split_patterns


def supervised(n_patterns: int = 2048, *, epochs: int = 40, seed: int = 0, lanes: int = 64) -> NumpyPolicy:
    """An MLP (128, 128, tanh) trained with cross-entropy on StepFeatures of teacher-forced
    episodes (the true prefix rendered) of patterns from training seeds."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    features = StepFeatures(DRUM_TRANSCRIBE)
    env = DrumTranscribeEnv.make_vector(lanes, copy=False)
    xs, ys = [], []
    try:
        for _ in range(n_patterns // lanes):
            patterns = np.stack([draw_pattern(rng) for _ in range(lanes)])
            obs, _ = env.reset(options={"target": [(mix_pattern(env.task, p), 44100) for p in patterns]})
            for k in range(env.task.steps):
                xs.append(features(obs["audio"], obs["target"], k))
                ys.append(patterns[:, k])
                obs, *_ = env.step(patterns[:, k])
    finally:
        env.close()
    x, y = torch.tensor(np.concatenate(xs)), torch.tensor(np.concatenate(ys))
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 128), torch.nn.Tanh(), torch.nn.Linear(128, 128), torch.nn.Tanh(), torch.nn.Linear(128, 8))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(256):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    weights = [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in net if isinstance(m, torch.nn.Linear)]
    return NumpyPolicy(weights, "tanh", features, meta={"algo": "supervised"})


def search_rows(patterns: np.ndarray, width: int) -> dict:
    """Greedy (width 1) or beam search per target: hit scores and env steps per target."""
    predicted, steps = [], 0
    start = time.perf_counter()
    for p in patterns:
        s = agents.beam_search(DRUM_TRANSCRIBE, width=width, target=(mix_pattern(DRUM_TRANSCRIBE, p), 44100))
        predicted.append(s.actions)
        steps += s.evaluations
    return {**hit_scores(np.array(predicted), patterns), "env_steps": steps / len(patterns), "targets_per_s": len(patterns) / (time.perf_counter() - start)}


def kick_rows(n: int = 200, lanes: int = 50) -> list[tuple]:
    """KickTranscribe on n held-out frequencies (env seeds 200000+): the share within 50 cents
    and targets/s, for the spectral-peak agent and random actions."""
    from raveforce.transcribe import KickTranscribeEnv
    from raveforce.transcribe.policy import SpectralPeakKick

    env = KickTranscribeEnv.make_vector(lanes, copy=False)
    control = env.task.actions.controls[0]
    rows = []
    try:
        rng = np.random.default_rng(0)
        from raveforce.transcribe import kick_policy as kick_transcriber

        agents_ = {"spectral peak (one pass, not trained)": SpectralPeakKick(env.task).act,
                   "kick transcriber (imitation, one pass)": kick_transcriber.load().act,
                   "random actions": lambda a, t, k: rng.random((len(a), 1), dtype=np.float32)}  # fmt: skip
        for name, act in agents_.items():
            cents, start = [], time.perf_counter()
            for i in range(n // lanes):
                obs, info = env.reset(seed=200_000 + i)
                actions = act(obs["audio"], obs["target"], 0)
                env.step(actions)
                played = np.array([control(float(x)) for x in actions[:, 0]])
                cents.extend(np.abs(1200 * np.log2(played / info["target_frequency"])).tolist())
            rows.append((name, float(np.mean(np.array(cents) <= 50)), float(np.median(cents)), n / (time.perf_counter() - start)))
            print(rows[-1], flush=True)
    finally:
        env.close()
    return rows


def throughput(held_out: np.ndarray, *, search: int = 4, repeats: int = 3) -> None:
    """The shipped policy's targets/s on the held-out patterns through the vector env, per reward
    and lane count (best of `repeats` runs, scsynth started before the clock), next to greedy
    search on the first `search` patterns in the same run (the reference: 1088 renders a target)."""
    policy = transcriber.load()
    g = search_rows(held_out[:search], 1)
    print(f"greedy search: {g['targets_per_s']:.3f} targets/s ({search} patterns)", flush=True)
    rows = []
    load = os.getloadavg()[0]
    for reward in ("stft", "mse"):
        for lanes, threads in ((50, 1), (100, 1), (200, 1), (100, 2)):
            runs = [evaluate(policy.act, held_out, lanes=lanes, reward=reward, threads=threads) for _ in range(repeats)]
            rate = max(r["targets_per_s"] for r in runs)
            rows.append((reward, lanes, threads, runs[0]["hit_accuracy"], rate, rate / g["targets_per_s"]))
            print(rows[-1], flush=True)
    print(f"\n{platform.node()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end (1 min)")
    print(f"| reward | lanes | threads (vector envs) | per-hit accuracy | targets/s (best of {repeats}) | x greedy search ({g['targets_per_s']:.3f} targets/s) |")
    print("|---|---|---|---|---|---|")
    for reward, lanes, threads, acc, rate, ratio in rows:
        print(f"| {reward}{' (default)' if reward == 'stft' else ''} | {lanes} | {threads} | {acc:.4f} | {rate:.1f} | {ratio:,.0f} |")


def tempo_rows(patterns: np.ndarray, tempos=(60, 80, 100, 120, 140, 160, 180, 200)) -> None:
    """The shipped policy on the patterns played at other tempos (mixed on the shipped kit): it
    hears each step between its own boundaries."""
    import dataclasses

    policy = transcriber.load()
    rows = []
    for bpm in tempos:
        boundaries = dataclasses.replace(DRUM_TRANSCRIBE, bpm=float(bpm)).boundaries
        s = evaluate(lambda audio, target, k, b=boundaries: policy.act(audio, target, k, b), patterns, bpm=float(bpm))
        rows.append((bpm, s["hit_accuracy"], s["exact_rate"], s["hit_recall"], s["hit_precision"]))
        print(rows[-1], flush=True)
    print(f"\n{platform.node()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.2f}, {len(patterns)} patterns")
    print("| BPM | per-hit accuracy | exact patterns | hit recall | hit precision |")
    print("|---|---|---|---|---|")
    for bpm, acc, exact, recall, precision in rows:
        print(f"| {bpm} | {acc:.4f} | {exact:.3f} | {recall:.3f} | {precision:.3f} |")


def kit_rows(folder: str | None, n: int = 200) -> None:
    """Kit-family targets: the held-out patterns played on held-out kits of `raveforce.kits`
    (`split_kit_targets("held_out")`), and on the shipped kit, for the shipped policy and the
    policy of a `raveforce train drum-transcribe --kits train` run in `folder` (if given)."""
    from raveforce.transcribe.training import split_kit_targets

    kit_audio, kit_patterns = split_kit_targets("held_out", n)
    policies = {"shipped policy": transcriber.load()}
    if folder:
        p = transcriber.load(f"{folder}/policy.npz")
        policies[f"{p.meta.get('algo', '?').upper()} on kit-family targets ({p.meta.get('env_steps', '?')} steps)"] = p
    rows = []
    for name, policy in policies.items():
        k = evaluate(policy.act, kit_patterns, audio=kit_audio)
        own = evaluate(policy.act, split_patterns("held_out", n))
        rows.append((name, k["hit_accuracy"], k["exact_rate"], k["hit_recall"], k["hit_precision"], own["hit_accuracy"], own["exact_rate"]))
        print(rows[-1], flush=True)
    print(f"\n{platform.node()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {n} held-out patterns")
    print("| policy | held-out kits: per-hit | exact | hit recall | hit precision | shipped kit: per-hit | exact |")
    print("|---|---|---|---|---|---|---|")
    for name, acc, exact, recall, precision, own_acc, own_exact in rows:
        print(f"| {name} | {acc:.4f} | {exact:.3f} | {recall:.3f} | {precision:.3f} | {own_acc:.4f} | {own_exact:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ppo", default=None, help="a `raveforce train drum-transcribe --algo ppo` folder (default: the shipped policy only)")
    parser.add_argument("--dqn", default=None, help="a `raveforce train drum-transcribe --algo dqn` folder")
    parser.add_argument("--n", type=int, default=200, help="held-out patterns")
    parser.add_argument("--beam", type=int, default=50, help="held-out patterns beam search runs on (it costs 4352 env steps each)")
    parser.add_argument("--throughput", action="store_true", help="only the shipped policy's targets/s per reward and lane count")
    parser.add_argument("--tempos", action="store_true", help="only the shipped policy's accuracy at other tempos")
    parser.add_argument("--split", default="held_out", choices=["dev", "held_out"], help="--tempos: the patterns (dev to choose, held_out to report)")
    parser.add_argument("--kits", nargs="?", const="", default=None, metavar="RUN_DIR", help="only kit-family targets: the shipped policy (and a `raveforce train drum-transcribe --kits train` run's)")
    args = parser.parse_args()
    held_out = split_patterns("held_out", args.n)
    if args.kits is not None:
        return kit_rows(args.kits or None, args.n)
    if args.throughput:
        return throughput(held_out)
    if args.tempos:
        return tempo_rows(split_patterns(args.split, args.n))
    rows = []

    def policy_row(name: str, policy) -> None:
        s = evaluate(policy.act, held_out)
        rows.append((name, s["hit_accuracy"], s["exact_rate"], 16, s["targets_per_s"], len(held_out)))
        print(rows[-1], flush=True)

    shipped = transcriber.load()
    policy_row(f"shipped policy ({shipped.meta.get('algo', '?')})", shipped)
    policy_row("supervised classifier (2048 patterns, true labels)", supervised())
    rng = np.random.default_rng(0)
    policy_row("random actions", type("R", (), {"act": lambda self, a, t, k: rng.integers(0, 8, len(a))})())
    g = search_rows(held_out, 1)
    rows.append(("greedy search", g["hit_accuracy"], g["exact_rate"], g["env_steps"], g["targets_per_s"], len(held_out)))
    print(rows[-1], flush=True)
    b = search_rows(held_out[: args.beam], 4)
    rows.append(("beam search (width 4)", b["hit_accuracy"], b["exact_rate"], b["env_steps"], b["targets_per_s"], args.beam))
    print(rows[-1], flush=True)

    kicks = kick_rows(args.n)
    for algo, folder in (("PPO", args.ppo), ("DQN", args.dqn)):
        if folder:
            p = transcriber.load(f"{folder}/policy.npz")
            policy_row(f"{algo}, {p.meta.get('env_steps', '?')} steps", p)

    print(f"\n{platform.node()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.2f}")
    print("| agent | per-hit accuracy | exact patterns | env steps per target | targets/s | held-out patterns |")
    print("|---|---|---|---|---|---|")
    for name, acc, exact, steps, rate, n in rows:
        print(f"| {name} | {acc:.4f} | {exact:.3f} | {steps:g} | {rate:.1f} | {n} |")
    print(f"\nKickTranscribe-v0, {args.n} held-out frequencies (30-2000 Hz, log-uniform):")
    print("| agent | within 50 cents | median error (cents) | env steps per target | targets/s |")
    print("|---|---|---|---|---|")
    for name, share, median, rate in kicks:
        print(f"| {name} | {share:.3f} | {median:.3g} | 1 | {rate:.1f} |")


if __name__ == "__main__":
    main()
