"""The runs of a baseline study (`raveforce baselines`): one algorithm on one task with one seed.

    from raveforce.agents import baselines
    from raveforce.tasks import DRUM_LOOP
    run = baselines.run("ppo", DRUM_LOOP, seed=0, steps=4096, kwargs=baselines.hyperparameters("DrumLoop")["ppo"])
    run.final_distance, run.env_steps, run.curve        # curve: [(env steps, final distance), ...]

Algorithms (`valid_algos(task)`): stable-baselines3 PPO and A2C everywhere, DQN on discrete
tasks, SAC and TD3 on continuous ones, all trained on a `RaveForceVectorEnv` of `envs` lanes with
the observations `raveforce train` uses (`sb3.make_env`: log-mel frames plus the step's
one-hot) and rewards normalised by VecNormalize; CMA-ES (the `cma` package) on one-step tasks
of two or more action dimensions; the search agents greedy and beam (width 4) on discrete
tasks and sweep on one-dimensional ones, as references. Distances are the env's own (the
negated reward of an episode's last step, >= 0, 0 is the target).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from raveforce.task import Choices, Controls, MultiChoices, Task

HYPERPARAMETERS = Path(__file__).resolve().parents[1] / "data" / "baselines"  # <Task>.yaml
SB3_ALGOS = {"ppo": "PPO", "a2c": "A2C", "dqn": "DQN", "sac": "SAC", "td3": "TD3"}
SEARCH_ALGOS = ("greedy", "beam", "sweep")
LEVERS = {  # an SB3 algorithm with "+lever" trains with one of the env's own levers changed
    "delta": 'reward_mode="delta": the improvement of each step as its reward',
    "step": "the step's one-hot alone as the observation, no log-mel audio",
    "sym": "continuous actions in [-1, 1] for the policy (stable-baselines3's advice), mapped onto the task's [0, 1]",
}
CMA_HINT = "cma is not installed: pip install -e '.[baselines]' (or pip install cma)"
YAML_HINT = "PyYAML is not installed: pip install -e '.[baselines]' (or pip install pyyaml)"


def split_algo(algo: str) -> tuple[str, tuple[str, ...]]:
    """("ppo", ("delta",)) for "ppo+delta": the algorithm and its levers (`LEVERS`)."""
    base, *levers = algo.split("+")
    return base, tuple(levers)


def fits(algo: str, task: Task) -> bool:
    """Whether `algo` (with its levers, which only SB3 algorithms take) fits the task."""
    base, levers = split_algo(algo)
    continuous = isinstance(task.actions, Controls)
    return base in valid_algos(task) and all(lever in LEVERS and (lever != "sym" or continuous) for lever in levers) and (not levers or base in SB3_ALGOS)


def valid_algos(task: Task) -> tuple[str, ...]:
    """The algorithms that fit the task's action space, in a fixed order (each SB3 one also with
    "+" and any of `LEVERS`)."""
    if isinstance(task.actions, Choices):
        return ("ppo", "a2c", "dqn", "greedy", "beam")
    if isinstance(task.actions, MultiChoices):  # SB3's DQN takes Discrete only; greedy and beam enumerate every action
        return ("ppo", "a2c")
    dims = task.action_space.shape[0]
    one_step = ("cma",) * (task.steps == 1 and dims >= 2) + ("sweep",) * (task.steps == 1 and dims == 1)
    return ("ppo", "a2c", "sac", "td3", *one_step)


def hyperparameters(name: str) -> dict:
    """The task's YAML file (`raveforce/data/baselines/<name>.yaml`): budget, envs, and per algorithm its keyword arguments."""
    try:
        import yaml
    except ImportError as exc:
        raise ImportError(YAML_HINT) from exc
    path = HYPERPARAMETERS / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"no hyperparameters for task {name!r} ({path} is missing)")
    return yaml.safe_load(path.read_text())


@dataclass
class Run:
    """One cell's outcome. env_steps: env steps trained or evaluated (sub-env steps of a vector
    env; the evaluation episodes of the curve not counted). episode_return: the sum of the
    rewards of the final answer's episode; final_distance: minus its last reward.
    curve: (env steps, final distance of the answer at that point) pairs."""

    env_steps: int
    episode_return: float
    final_distance: float
    curve: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0


def run(algo: str, task: Task, *, seed: int, steps: int, kwargs: dict | None = None, envs: int = 8, points: int = 10) -> Run:
    """`algo` on `task` for about `steps` env steps (SB3 finishes its last rollout; the search
    references take what they need), evaluated `points` times along the way (every steps/points)."""
    if not fits(algo, task):
        raise ValueError(f"algorithm {algo!r} does not fit {task.name}; valid: {', '.join(valid_algos(task))} (SB3 ones with +{' or +'.join(LEVERS)})")
    start = time.perf_counter()
    every = max(1, steps // points)
    base, levers = split_algo(algo)
    if base in SB3_ALGOS:
        result = _sb3(base, task, seed=seed, steps=steps, kwargs=dict(kwargs or {}), envs=envs, every=every, levers=levers)
    elif algo == "cma":
        result = _cma(task, seed=seed, steps=steps, kwargs=dict(kwargs or {}), every=every)
    else:
        result = _search(algo, task, kwargs=dict(kwargs or {}))
    result.seconds = time.perf_counter() - start
    return result


def random_distance(task: Task, *, episodes: int = 32, seed: int = 0) -> float:
    """The mean final distance of `episodes` episodes of uniformly random actions (seeded)."""
    from raveforce.vector import RaveForceVectorEnv

    env = RaveForceVectorEnv(task, episodes, copy=False)
    try:
        env.reset(seed=seed)
        for _ in range(task.steps):
            reward = env.step(env.action_space.sample())[1]
    finally:
        env.close()
    return float(np.mean(0.0 - reward))


# --- stable-baselines3 ---------------------------------------------------------------------------


def _sb3(algo: str, task: Task, *, seed: int, steps: int, kwargs: dict, envs: int, every: int, levers: tuple[str, ...] = ()) -> Run:
    from raveforce._optional import quiet_logger, stable_baselines3
    from raveforce.agents.sb3 import make_env

    sb3 = stable_baselines3()
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    if "action_noise_std" in kwargs:  # TD3's Gaussian exploration noise, as a number in the YAML
        from stable_baselines3.common.noise import NormalActionNoise

        n = task.action_space.shape[0]
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n), np.full(n, float(kwargs.pop("action_noise_std"))))
    evaluator = make_env(task)  # also the log-mel transform of the training lanes
    curve: list[tuple[int, float]] = []

    def evaluate(model) -> tuple[float, float]:
        """(return, final distance) of one deterministic episode."""
        observation, _ = evaluator.reset(seed=seed)
        rewards, done = [], False
        while not done:
            action, _ = model.predict(observation[-task.steps :] if "step" in levers else observation, deterministic=True)
            if isinstance(task.actions, Controls):
                action = from_symmetric(action) if "sym" in levers else np.clip(action, 0.0, 1.0).astype(np.float32)
            observation, reward, terminated, truncated, _ = evaluator.step(action)
            rewards.append(float(reward))
            done = terminated or truncated
        return float(sum(rewards)), 0.0 - rewards[-1]

    class Curve(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next = every

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next:
                curve.append((self.num_timesteps, evaluate(self.model)[1]))
                while self.next <= self.num_timesteps:
                    self.next += every
            return True

    log_mel = None if "step" in levers else evaluator.get_wrapper_attr("log_mel")
    lanes = lane_vec_env(task, envs, log_mel, reward_mode="delta" if "delta" in levers else "absolute", symmetric="sym" in levers)
    vec = VecNormalize(lanes, norm_obs=False, norm_reward=True, gamma=kwargs.get("gamma", 0.99))
    try:
        vec.seed(seed)
        model = getattr(sb3, SB3_ALGOS[algo])("MlpPolicy", vec, seed=seed, device="cpu", **kwargs)
        quiet_logger(model).learn(total_timesteps=steps, callback=Curve())
        episode_return, distance = evaluate(model)
        if curve and curve[-1][0] == model.num_timesteps:  # measured before the last rollout's update
            curve.pop()
        curve.append((model.num_timesteps, distance))
        return Run(int(model.num_timesteps), episode_return, distance, curve)
    finally:
        vec.close()
        evaluator.close()


def from_symmetric(actions) -> np.ndarray:
    """float32: actions in [-1, 1] (the `+sym` lever's) mapped onto a task's [0, 1], clipped there."""
    return np.clip((np.asarray(actions) + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)


def lane_vec_env(task: Task, envs: int, log_mel: Callable[..., np.ndarray] | None, *, reward_mode: str = "absolute", symmetric: bool = False):
    """An SB3 VecEnv over `RaveForceVectorEnv(task, envs, reward_mode=)` whose observations are
    those of `sb3.make_env(task)`: float32 (envs, frames * n_mels + steps), `log_mel(audio,
    slot=lane)` of each lane's audio and the one-hot of the step about to be played (log_mel
    None: the one-hot alone). Episodes restart at once (SB3's convention); info["raw_reward"] is
    the env's reward. symmetric: a continuous task's actions are Box(-1, 1), mapped to its [0, 1]."""
    from gymnasium import spaces

    from raveforce.agents.sb3 import vector_env_base
    from raveforce.vector import RaveForceVectorEnv

    env = RaveForceVectorEnv(task, envs, copy=False, reward_mode=reward_mode)

    def observe(audio: np.ndarray, k: int) -> np.ndarray:
        one_hot = np.zeros((envs, task.steps), np.float32)
        one_hot[:, min(k, task.steps - 1)] = 1.0
        if log_mel is None:
            return one_hot
        return np.concatenate([np.stack([log_mel(a, slot=("lane", i)) for i, a in enumerate(audio)]), one_hot], axis=1)

    class LaneVecEnv(vector_env_base(env)):
        def __init__(self) -> None:
            size = len(observe(np.zeros((envs, task.total_samples), np.float32), 0)[0])
            actions = spaces.Box(-1.0, 1.0, task.action_space.shape, np.float32) if symmetric else task.action_space
            super().__init__(envs, spaces.Box(0.0, np.inf, (size,), np.float32), actions)
            self.k, self._actions = 0, None

        def reset(self):
            audio, _ = env.reset(seed=self._seed)
            self._seed, self.k = None, 0
            return observe(audio, 0)

        def step_async(self, actions) -> None:
            self._actions = from_symmetric(actions) if symmetric else np.asarray(actions)

        def step_wait(self):
            audio, reward, terminated, _, _ = env.step(self._actions)
            self.k += 1
            infos = [{"raw_reward": float(r)} for r in reward]
            if terminated.all():
                final = observe(audio, self.k)
                for i, info in enumerate(infos):
                    info["terminal_observation"] = final[i]
                audio, *_ = env.step(self._actions)  # the NEXT_STEP autoreset: new episodes, no render
                self.k = 0
            return observe(audio, self.k), reward, terminated.copy(), infos

    return LaneVecEnv()


# --- CMA-ES and the search references ------------------------------------------------------------


def _cma(task: Task, *, seed: int, steps: int, kwargs: dict, every: int) -> Run:
    """CMA-ES from the middle of [0, 1]^n (bounds enforced by cma), one population per vector-env
    step, until the next population would pass `steps` evaluations; the answer is the best seen."""
    try:
        import cma
    except ImportError as exc:
        raise ImportError(CMA_HINT) from exc
    from raveforce.vector import RaveForceVectorEnv

    n = task.action_space.shape[0]
    options = {
        "bounds": [0.0, 1.0],
        "seed": seed + 1,
        "verbose": -9,
        **({"popsize": kwargs["popsize"]} if "popsize" in kwargs else {}),
    }  # cma: seed 0 is the clock
    es = cma.CMAEvolutionStrategy(np.full(n, 0.5), float(kwargs.get("sigma0", 0.3)), options)
    env = RaveForceVectorEnv(task, es.popsize, copy=False)
    best, used, curve, mark = np.inf, 0, [], every
    try:
        while used + es.popsize <= steps:
            xs = es.ask()
            env.reset(seed=0)
            distances = 0.0 - env.step(np.clip(np.array(xs), 0.0, 1.0).astype(np.float32))[1]  # 0.0 -: no -0.0 at the target
            es.tell(xs, distances.tolist())
            used += es.popsize
            best = min(best, float(distances.min()))
            if used >= mark:
                curve.append((used, best))
                while mark <= used:
                    mark += every
    finally:
        env.close()
    if not curve or curve[-1][0] != used:
        curve.append((used, best))
    return Run(used, -best, best, curve)


def _search(algo: str, task: Task, *, kwargs: dict) -> Run:
    from raveforce.agents import search

    if algo == "sweep":
        solution = search.sweep(task, **kwargs)
    else:
        solution = search.beam_search(task, width=1 if algo == "greedy" else int(kwargs.get("width", 4)))
    distance = 0.0 - solution.rewards[-1]
    return Run(int(solution.evaluations), solution.total_reward, distance, [(int(solution.evaluations), distance)])


__all__ = ["HYPERPARAMETERS", "LEVERS", "Run", "fits", "hyperparameters", "lane_vec_env", "random_distance", "run", "split_algo", "valid_algos"]
