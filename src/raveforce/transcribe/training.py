"""Train one policy for every target: stable-baselines3 on `DrumTranscribe-v0`'s vector env.

    from raveforce.transcribe.training import train_transcriber
    run = train_transcriber("ppo", steps=200_000, envs=64, out="out/tr")   # curve.csv, curve.png, policy.npz

The policy sees `transcriber.StepFeatures` of the target and of the audio rendered so far; the
reward is "multiscale" in reward_mode="delta" (each step's improvement): chosen on the dev set
over "stft" and "mfcc", under which PPO stalls at 0.955-0.963 per-hit accuracy, never playing
a hi-hat together with a snare. Learning curves are
measured on a fixed dev set of patterns; the held-out set (other seeds) is for docs/benchmarks/transcription.md only.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from gymnasium import spaces

from raveforce._optional import quiet_logger, stable_baselines3
from raveforce.transcribe import (
    DRUM_TRANSCRIBE,
    DrumTranscribeEnv,
    draw_pattern,
    mix_patterns,
)
from raveforce.transcribe.policy import NumpyPolicy, StepFeatures

SPLIT_SEEDS = {"dev": 100_000, "held_out": 200_000}  # pattern i of a split is drawn from default_rng(base + i)
ALGOS = ("ppo", "dqn")


def split_patterns(split: str, n: int = 200) -> np.ndarray:
    """int64 (n, steps): the split's fixed patterns (training draws from the env's own seeded rng)."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"split={split!r} is not one of {sorted(SPLIT_SEEDS)}")
    base = SPLIT_SEEDS[split]
    return np.stack([draw_pattern(np.random.default_rng(base + i), steps=DRUM_TRANSCRIBE.steps) for i in range(n)])


def split_kit_targets(split: str, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(audio float32 (n, samples), patterns int64 (n, steps)): the split's fixed patterns, each
    played on a kit of the same split of the kit family (`raveforce.kits.SPLITS`) and rendered by
    scsynth with the kit's rendition; drawn from default_rng(SPLIT_SEEDS[split])."""
    from raveforce.transcribe import KitPatternDrawer

    if split not in SPLIT_SEEDS:
        raise ValueError(f"split={split!r} is not one of {sorted(SPLIT_SEEDS)}")
    audio, info = KitPatternDrawer(DRUM_TRANSCRIBE, split).draw_many(np.random.default_rng(SPLIT_SEEDS[split]), n)
    return audio, info["target_pattern"]


def hit_scores(predicted: np.ndarray, truth: np.ndarray, kit_size: int = 3) -> dict:
    """Per-hit accuracy (share of the step x drum cells right), step accuracy, exact-pattern rate,
    and hit precision/recall, of predicted vs true actions (n, steps)."""
    bits = 1 << np.arange(kit_size)
    p = (np.asarray(predicted)[..., None] & bits) > 0
    t = (np.asarray(truth)[..., None] & bits) > 0
    return {
        "hit_accuracy": float((p == t).mean()),
        "step_accuracy": float((predicted == truth).mean()),
        "exact_rate": float((predicted == truth).all(axis=1).mean()),
        "hit_recall": float((p & t).sum() / max(t.sum(), 1)),
        "hit_precision": float((p & t).sum() / max(p.sum(), 1)),
    }


def evaluate(
    act: Callable[[np.ndarray, np.ndarray, int], np.ndarray], patterns: np.ndarray, *, lanes: int = 50, reward=None, reward_mode: str = "delta",
    bpm: float | None = None, audio: np.ndarray | None = None, threads: int = 1,
) -> dict:
    """Play `act(audio, target, k) -> actions` once on each pattern's target in a vector env of
    `lanes`; hit_scores plus mean_return, env_steps and targets_per_s (wall clock of the episodes,
    mixing the targets included; the env's construction and scsynth's start, at its first reset, not).
    bpm: the targets' tempo (default the task's; a policy's StepFeatures must be at the same).
    audio: float32 (n, samples) targets of the patterns (e.g. `split_kit_targets`) instead of
    the patterns mixed on the shipped kit.
    threads: vector envs of `lanes`, each playing every threads-th batch of targets in a thread of
    its own (numpy's FFTs and the waits for scsynth overlap; the results are the same)."""
    from concurrent.futures import ThreadPoolExecutor

    envs = [DrumTranscribeEnv.make_vector(lanes, reward=reward, reward_mode=reward_mode, copy=False, bpm=bpm) for _ in range(threads)]
    task = envs[0].task
    predicted = np.zeros_like(patterns)
    returns = np.zeros(len(patterns))

    def play(env, starts) -> None:
        for lo in starts:
            chunk = list(patterns[lo : lo + lanes] if audio is None else audio[lo : lo + lanes])
            used = len(chunk)
            chunk += [chunk[-1]] * (lanes - used)
            targets = [(a, task.sample_rate) for a in (mix_patterns(task, chunk) if audio is None else chunk)]
            obs, _ = env.reset(options={"target": targets})
            total = np.zeros(lanes)
            for k in range(task.steps):
                a = np.asarray(act(obs["audio"], obs["target"], k), np.int64)
                predicted[lo : lo + used, k] = a[:used]
                obs, r, *_ = env.step(a)
                total += r
            returns[lo : lo + used] = total[:used]

    try:
        for env in envs:
            env.reset(seed=0)  # starts scsynth
        batches = list(range(0, len(patterns), lanes))
        start = time.perf_counter()
        if threads == 1:
            play(envs[0], batches)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(play, envs, [batches[i::threads] for i in range(threads)]))
        seconds = time.perf_counter() - start
    finally:
        for env in envs:
            env.close()
    return {**hit_scores(predicted, patterns), "mean_return": float(returns.mean()), "env_steps": int(predicted.size),
            "targets_per_s": len(patterns) / seconds, "predicted": predicted}  # fmt: skip


def sb3_vec_env(env, features: StepFeatures):
    """An SB3 VecEnv over a TranscribeVectorEnv: observations are StepFeatures, episodes restart
    at once (SB3's convention; the vector env's NEXT_STEP reset step is taken inside)."""
    from raveforce.agents.sb3 import vector_env_base

    class TranscribeVecEnv(vector_env_base(env)):
        def __init__(self) -> None:
            box = spaces.Box(0.0, np.inf, (features.size,), np.float32)
            super().__init__(env.num_envs, box, env.single_action_space)
            self.k = 0
            self.returns = np.zeros(env.num_envs)
            self.episode_returns: list[float] = []

        def reset(self):
            obs, _ = env.reset(seed=self._seed)
            self._seed = None
            self.k = 0
            self.returns[:] = 0
            return features(obs["audio"], obs["target"], 0, env.task.boundaries)

        def step_async(self, actions) -> None:
            self._actions = np.asarray(actions).reshape(env.num_envs)

        def step_wait(self):
            obs, reward, terminated, _, _ = env.step(self._actions)
            self.k += 1
            self.returns += reward
            infos = [{} for _ in range(env.num_envs)]
            if terminated.all():
                final = features(obs["audio"], obs["target"], self.k, env.task.boundaries)
                self.episode_returns.extend(self.returns.tolist())
                for i in range(env.num_envs):
                    infos[i] = {"terminal_observation": final[i], "episode": {"r": float(self.returns[i]), "l": env.task.steps}}
                obs, *_ = env.step(self._actions)  # the NEXT_STEP autoreset: new targets, no render
                self.k = 0
                self.returns[:] = 0
            return features(obs["audio"], obs["target"], self.k, env.task.boundaries), reward, terminated.copy(), infos

    return TranscribeVecEnv()


def export_policy(model, features: StepFeatures, **meta) -> NumpyPolicy:
    """The SB3 model's deterministic policy as a NumpyPolicy (PPO: policy net + action net;
    DQN: the Q network)."""
    import torch

    if hasattr(model.policy, "action_net"):
        modules = list(model.policy.mlp_extractor.policy_net) + [model.policy.action_net]
    else:
        modules = list(model.policy.q_net.q_net)
    linear = [m for m in modules if isinstance(m, torch.nn.Linear)]
    activation = "relu" if any(isinstance(m, torch.nn.ReLU) for m in modules) else "tanh"
    weights = [(m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in linear]
    return NumpyPolicy(weights, activation, features, meta=meta)


def eta(seconds: float, done: int, total: int) -> str:
    """'12m05s': the time left at the rate so far."""
    left = seconds / max(done, 1) * max(total - done, 0)
    return f"{int(left // 60)}m{int(left % 60):02d}s"


@dataclass
class TranscriberRun:
    """A training run: its numpy policy, the curve rows and the dev scores at the end."""

    policy: NumpyPolicy
    curve: list[dict] = field(default_factory=list)
    dev: dict = field(default_factory=dict)
    seconds: float = 0.0
    dev_size: int = 200  # dev patterns measured at each evaluation


def train_transcriber(
    algo: str = "ppo",
    *,
    steps: int = 200_000,
    envs: int = 64,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    evaluations: int = 10,
    dev_size: int = 200,
    tensorboard: str | os.PathLike | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    hyper: dict | None = None,
    reward: str | None = "multiscale",
    kits=None,
) -> TranscriberRun:
    """Train `algo` for `steps` env steps on `envs` lanes of DrumTranscribe-v0 (reward
    "multiscale", delta mode: it weighs the quiet hi-hat far more than "stft" does), measuring
    the dev set `evaluations` times; write curve.csv, curve.png and policy.npz into `out` when given.
    kits: train on targets played on kits of the kit family ("train", see DrumTranscribe-v0's
    `kits=`); the dev set is then the dev patterns on dev kits (`split_kit_targets`)."""
    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; valid: {', '.join(ALGOS)}")
    sb3 = stable_baselines3()
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    env = DrumTranscribeEnv.make_vector(envs, reward=reward, reward_mode="delta", copy=False, kits=kits)
    features = StepFeatures(env.task)
    dev_audio, dev_patterns = split_kit_targets("dev", dev_size) if kits is not None else (None, split_patterns("dev", dev_size))
    vec = sb3_vec_env(env, features)
    vec.seed(seed)
    norm = VecNormalize(vec, norm_obs=False, norm_reward=True, gamma=0.9)
    kwargs = dict(hyper or {})
    tb = None if tensorboard is None else os.fspath(tensorboard)
    if algo == "ppo":
        options = {"n_steps": 16, "batch_size": min(256, 16 * envs), "n_epochs": 4, "learning_rate": 1e-3, "gamma": 0.9, "ent_coef": 0.01,
                   "policy_kwargs": {"net_arch": [128, 128]}} | kwargs  # fmt: skip
        model = sb3.PPO("MlpPolicy", norm, seed=seed, device="cpu", tensorboard_log=tb, **options)
    else:
        options = {"learning_starts": 2048, "buffer_size": 100_000, "batch_size": 256, "train_freq": 1, "gradient_steps": 4,
                   "target_update_interval": 2000, "exploration_fraction": 0.3, "exploration_final_eps": 0.02,
                   "learning_rate": 5e-4, "gamma": 0.9, "policy_kwargs": {"net_arch": [128, 128]}} | kwargs  # fmt: skip
        model = sb3.DQN("MlpPolicy", norm, seed=seed, device="cpu", tensorboard_log=tb, **options)
    if tb is None:
        quiet_logger(model)
    run = TranscriberRun(policy=None, dev_size=dev_size)
    every = max(steps // max(evaluations, 1), envs * 16)
    start = time.perf_counter()

    def measure(done: int) -> None:
        policy = export_policy(model, features, algo=algo, env_steps=done, seed=seed, **({} if kits is None else {"kits": kits}))
        scores = evaluate(policy.act, dev_patterns, reward=reward, audio=dev_audio)
        recent = vec.episode_returns[-envs * 4 :]
        row = {"env_steps": done, "seconds": round(time.perf_counter() - start, 1),
               "train_return": float(np.mean(recent)) if recent else float("nan"),
               "dev_return": scores["mean_return"], "dev_hit_accuracy": scores["hit_accuracy"],
               "dev_exact_rate": scores["exact_rate"]}  # fmt: skip
        run.curve.append(row)
        run.policy, run.dev = policy, {k: v for k, v in scores.items() if k != "predicted"}
        if tb is not None and done > 0:  # SB3's logger exists once learn() has started
            model.logger.record("dev/hit_accuracy", row["dev_hit_accuracy"])
            model.logger.record("dev/mean_return", row["dev_return"])

    class Curve(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next = every

        def _on_step(self) -> bool:
            done = self.num_timesteps
            if done >= self.next:
                self.next += every
                measure(done)
            if progress and (done % (envs * 16) == 0 or run.curve[-1]["env_steps"] == done):
                row = run.curve[-1]
                progress(done, steps, f"ETA {eta(time.perf_counter() - start, done, steps)}  dev hit accuracy {row['dev_hit_accuracy']:.3f} at {row['env_steps']}")
            return True

    try:
        measure(0)
        model.learn(total_timesteps=steps, callback=Curve(), tb_log_name=f"{algo}-transcribe")
        if not run.curve or run.curve[-1]["env_steps"] < model.num_timesteps:
            measure(model.num_timesteps)
    finally:
        norm.close()
    run.seconds = time.perf_counter() - start
    if out is not None:
        write_run(run, Path(out), model=model)
    return run


def write_run(run: TranscriberRun, out: Path, *, model=None) -> None:
    """curve.csv, curve.png (if matplotlib is there), policy.npz (and model.zip) in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "curve.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(run.curve[0]))
        writer.writeheader()
        writer.writerows(run.curve)
    run.policy.save(out / "policy.npz")
    if model is not None:
        model.save(out / "model.zip")
    try:
        curve_png(run.curve, out / "curve.png", title=f"{run.policy.meta.get('algo', '').upper()} on DrumTranscribe-v0", dev_size=run.dev_size)
    except ImportError:
        pass


def curve_png(rows: list[dict], path: Path, *, title: str = "", dev_size: int = 200) -> Path:
    """Mean return and dev per-hit accuracy against env steps."""
    from raveforce._optional import pyplot

    plt = pyplot()
    x = [r["env_steps"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(x, [r["dev_return"] for r in rows], "o-", label="dev set")
    a.plot(x, [r["train_return"] for r in rows], ".--", label="training episodes")
    a.set_xlabel("env steps")
    a.set_ylabel("mean return (delta reward)")
    a.legend()
    b.plot(x, [r["dev_hit_accuracy"] for r in rows], "o-", label="per-hit accuracy")
    b.plot(x, [r["dev_exact_rate"] for r in rows], ".--", label="exact patterns")
    b.set_ylim(0, 1.02)
    b.set_xlabel("env steps")
    b.set_ylabel(f"dev set ({dev_size} patterns)")
    b.legend(loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = ["ALGOS", "SPLIT_SEEDS", "TranscriberRun", "evaluate", "export_policy", "hit_scores", "split_kit_targets", "split_patterns", "train_transcriber"]
