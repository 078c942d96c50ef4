"""Train stable-baselines3 agents on RaveForce tasks (needs the `sb3` extra).

    from raveforce.agents.sb3 import train
    result = train("ppo", steps=2048, seed=0)     # the drum loop, log-mel observations
    result.actions, result.total_reward, result.episode_returns

The policy sees `AppendStep(LogMelObservation(env))`; rewards are normalized for learning by
SB3's VecNormalize (the reported rewards are the environment's own).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium as gym

from raveforce._optional import quiet_logger, stable_baselines3
from raveforce.task import Task

ALGOS = ("ppo", "dqn")


def make_env(task: Task, *, target=None, reward=None, record: str | os.PathLike | None = None, every: int = 10, **env_kwargs):
    """A RaveForceEnv of `task` with the training wrappers (and RecordEpisodeAudio into `record`)."""
    from raveforce.env import RaveForceEnv
    from raveforce.wrappers import AppendStep, LogMelObservation, RecordEpisodeAudio

    env = RaveForceEnv(task, target=target, reward=reward, **env_kwargs)
    if record is not None:
        env = RecordEpisodeAudio(env, record, every=every, midi=True)
    return AppendStep(LogMelObservation(env))


@dataclass
class TrainResult:
    """The trained policy's episode (deterministic actions) and the training curve.

    actions: int per step; rewards: the env's reward per step; episode_returns: the sum of the
    env's rewards of every training episode, in order. model: the SB3 model (save with .save()).
    """

    actions: list[int]
    rewards: list[float]
    episode_returns: list[float] = field(default_factory=list)
    model: object = None
    recorded: list = field(default_factory=list)

    @property
    def total_reward(self) -> float:
        return float(sum(self.rewards))


def train(
    algo: str = "ppo",
    *,
    task: Task | None = None,
    steps: int = 2048,
    seed: int = 0,
    target=None,
    reward=None,
    record: str | os.PathLike | None = None,
    every: int = 10,
    progress: Callable[[int, int, str], None] | None = None,
) -> TrainResult:
    """Train `algo` ("ppo" or "dqn") for `steps` env steps on `task` (default the drum loop),
    then play one episode with the deterministic policy."""
    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; valid: {', '.join(ALGOS)}")
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps={steps!r} is not a whole number >= 1")
    sb3 = stable_baselines3()
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from raveforce.tasks import DRUM_LOOP

    task = DRUM_LOOP if task is None else task
    torch.set_num_threads(1)
    returns: list[float] = []
    env = make_env(task, target=target, reward=reward, record=record, every=every)

    class Curve(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.ret = 0.0

        def _on_step(self) -> bool:
            self.ret += float(self.locals["infos"][0].get("raw_reward", 0.0))
            if self.locals["dones"][0]:
                returns.append(self.ret)
                self.ret = 0.0
                if progress:
                    progress(self.num_timesteps, steps, f"episode {len(returns)}: return {returns[-1]:.4g}")
            return True

    try:
        vec = VecNormalize(DummyVecEnv([lambda: RawReward(env)]), norm_obs=False, norm_reward=True, gamma=0.99)
        vec.seed(seed)
        if algo == "ppo":
            model = sb3.PPO("MlpPolicy", vec, n_steps=128, batch_size=64, n_epochs=10, learning_rate=1e-3, ent_coef=0.01, seed=seed, device="cpu")
        else:
            model = sb3.DQN(
                "MlpPolicy", vec, learning_starts=64, buffer_size=10_000, batch_size=64, train_freq=4,
                target_update_interval=128, exploration_fraction=0.5, learning_rate=1e-3, seed=seed, device="cpu",
            )  # fmt: skip
        quiet_logger(model).learn(total_timesteps=steps, callback=Curve())
        observation, _ = env.reset(seed=seed)
        actions, rewards, done = [], [], False
        while not done:
            action, _ = model.predict(observation, deterministic=True)
            observation, r, terminated, truncated, _ = env.step(int(action))
            actions.append(int(action))
            rewards.append(float(r))
            done = terminated or truncated
    finally:
        env.close()
    recorder = env.get_wrapper_attr("written") if record is not None else []
    return TrainResult(actions, rewards, returns, model, list(recorder))


class RawReward(gym.Wrapper):
    """Puts the env's own reward into info["raw_reward"] (VecNormalize rescales the reward)."""

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        return observation, reward, terminated, truncated, {**info, "raw_reward": reward}



def vector_env_base(env):
    """A stable-baselines3 VecEnv class over one raveforce vector env `env` with the plumbing
    that needs no per-lane work (close, seed, attributes of `env`); a subclass gives __init__,
    reset, step_async and step_wait. reset() should pass `self._seed` to env.reset."""
    from stable_baselines3.common.vec_env import VecEnv

    class VectorEnvBase(VecEnv):
        _seed = None

        def close(self) -> None:
            env.close()

        def seed(self, seed=None):
            self._seed = seed
            return [seed] * env.num_envs

        def get_attr(self, name, indices=None):
            return [getattr(env, name)] * len(self._get_indices(indices))

        def set_attr(self, name, value, indices=None) -> None:
            setattr(env, name, value)

        def env_method(self, name, *args, indices=None, **kwargs):
            return [getattr(env, name)(*args, **kwargs)] * len(self._get_indices(indices))

        def env_is_wrapped(self, wrapper_class, indices=None):
            return [False] * len(self._get_indices(indices))

    return VectorEnvBase


__all__ = ["ALGOS", "TrainResult", "make_env", "train", "vector_env_base"]
