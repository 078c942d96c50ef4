"""RaveForce environments under Ray RLlib (new API stack): one batched vector env per env runner.

    import raveforce.integrations.rllib             # registers every RaveForce env id with RLlib
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (
        PPOConfig()
        .environment("raveforce/DrumLoop-v0", env_config={"reward": "mse", "observation": "logmel"})
        .env_runners(num_env_runners=2, num_envs_per_env_runner=8, gym_env_vectorize_mode="vector_entry_point")
        .fault_tolerance(restart_failed_sub_environments=True)
    )
    algo = config.build_algo()

or `ppo_config("raveforce/DrumLoop-v0", num_env_runners=2)`, which sets the same.

How it fits RLlib: its `SingleAgentEnvRunner.make_env()` calls the creator registered here with
the env runner's `env_config`, plus `num_envs` when `gym_env_vectorize_mode="vector_entry_point"`.
Then each env runner (one Ray actor process, on any node of the cluster) holds one
`RaveForceVectorEnv`: `num_envs_per_env_runner` lockstep episodes on the output channels of its
own scsynth (its FIFO in a private temp dir from `mkdtemp`, mode 0700), Gymnasium's NEXT_STEP
autoreset as RLlib assumes. In `"sync"` mode (RLlib's default) it gets one single env per
sub-environment instead, each with its own scsynth: correct, but slower.

`env_config` takes the env's own keyword arguments (`target`, `reward`, `bpm`, `steps`,
`scsynth`, `timeout`; vector: `processes`, default 1 scsynth per env runner) and:
- `observation`: `"audio"` (default: the env's raw samples, float32 (88200,) for the drum loop)
  or `"logmel"`: `raveforce.wrappers.AppendStep(LogMelObservation(env))`, the same observation
  as the stable-baselines3 path (log-mel frames and a one-hot of the step, 1392 values for the
  drum loop): small enough for RLlib's default MLP, which has 22.6 M weights on raw audio.
  The transcription envs (Dict(audio, target) observations) get `"features"` instead:
  `raveforce.transcribe.policy.StepFeatureObservation`, what the shipped transcriber sees.
- `observation_options`: keyword arguments of `LogMelObservation` (`n_mels`, `n_fft`, `hop`, ...).

A dead scsynth: the vector env raises `raveforce.vector.SubEnvError` (which sub-environments,
which scsynth, its exit status); RLlib logs it with the traceback and counts it in the
`env_runners/num_env_step_failures` metric. With `restart_failed_sub_environments=True`
the env runner re-creates its env (a fresh scsynth) and samples on; otherwise the env runner
fails and RLlib restarts the whole actor (`restart_failed_env_runners`, on by default, after
`delay_between_env_runner_restarts_s`). A scsynth that dies between two episodes is restarted
by the vector env's next (auto)reset without an error: nothing was lost.

Ray, RLlib and torch are the `[rllib]` extra: `pip install -e '.[rllib]'`.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space

INSTALL_HINT = "pip install -e '.[rllib]'  (torch first, as in the Makefile: pip install torch==2.13.0)"
OBSERVATIONS = ("audio", "logmel", "features")


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"RaveForce's RLlib integration needs {module.split('.')[0]} ({exc}); install it with: {INSTALL_HINT}") from exc


# --- observations ----------------------------------------------------------------------------


class _SingleSpec(gym.Env):
    """What the single-env wrappers read from the env they wrap: spaces and task (never stepped)."""

    def __init__(self, vector_env) -> None:
        self.observation_space = vector_env.single_observation_space
        self.action_space = vector_env.single_action_space
        self.task = vector_env.unwrapped.task


class VectorLogMelObservation(gym.vector.VectorObservationWrapper):
    """`raveforce.wrappers.AppendStep(LogMelObservation(env))` of each sub-environment of a
    lockstep RaveForce vector env (NEXT_STEP autoreset): float32 (num_envs, frames * n_mels + steps).

    The log-mel frames are `LogMelObservation`'s own, row by row; the step one-hot counts the
    lockstep steps (0 after reset and after the autoreset step), as `AppendStep` does.
    """

    def __init__(self, env: gym.vector.VectorEnv, **log_mel_options: Any) -> None:
        from raveforce.wrappers import AppendStep, LogMelObservation

        super().__init__(env)
        self._log_mel = LogMelObservation(_SingleSpec(env), **log_mel_options)
        self._steps = env.unwrapped.task.steps
        self.single_observation_space = AppendStep(self._log_mel).observation_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._k = 0
        self._ended = False

    def reset(self, **kwargs):
        self._k, self._ended = 0, False
        return super().reset(**kwargs)

    def step(self, actions):
        self._k = 0 if self._ended else self._k + 1
        observations, rewards, terminated, truncated, infos = self.env.step(actions)
        self._ended = bool(np.any(terminated) or np.any(truncated))
        return self.observations(observations), rewards, terminated, truncated, infos

    def observations(self, observations: np.ndarray) -> np.ndarray:
        one_hot = np.zeros(self._steps, np.float32)
        one_hot[min(self._k, self._steps - 1)] = 1.0
        mels = np.stack([self._log_mel.observation(row, slot=i) for i, row in enumerate(observations)])
        return np.concatenate([mels, np.broadcast_to(one_hot, (len(mels), self._steps))], axis=1)


def wrap_observation(env, observation: str = "audio", **options):
    """`env` (a RaveForce env or vector env) with the observation RLlib should see.

    "audio": as it is; "logmel": `raveforce.wrappers.AppendStep(LogMelObservation(env,
    **options))` (for a vector env, of each sub-environment).
    """
    if observation == "audio":
        return env
    if observation not in OBSERVATIONS:
        raise ValueError(f"observation={observation!r} is not one of {OBSERVATIONS}")
    space = getattr(env, "single_observation_space", env.observation_space)
    if isinstance(space, gym.spaces.Dict) or observation == "features":  # a transcription env: StepFeatures
        from raveforce.transcribe.policy import StepFeatureObservation, VectorStepFeatures

        return (VectorStepFeatures if isinstance(env, gym.vector.VectorEnv) else StepFeatureObservation)(env, **options)
    if isinstance(env, gym.vector.VectorEnv):
        return VectorLogMelObservation(env, **options)
    from raveforce.wrappers import AppendStep, LogMelObservation

    return AppendStep(LogMelObservation(env, **options))


# --- the env creator RLlib calls -------------------------------------------------------------


def make_env(env_id: str, config: Mapping[str, Any] | None = None):
    """What RLlib's env runners call: `env_id` from `config` (an RLlib `EnvContext` or dict).

    With `config["num_envs"]` (RLlib's `vector_entry_point` mode): a `RaveForceVectorEnv` of
    that many sub-environments on one scsynth (unless `processes` says otherwise); without it,
    one single env (RLlib's "sync"/"async" modes).
    """
    import raveforce  # registers the Gymnasium ids (in a fresh Ray worker too)

    if env_id not in raveforce.ENVS:
        raise ValueError(f"env_id={env_id!r} is not a RaveForce env; valid: {', '.join(raveforce.ENVS)}")
    kwargs = dict(config or {})
    observation = kwargs.pop("observation", "audio")
    options = dict(kwargs.pop("observation_options", None) or {})
    num_envs = kwargs.pop("num_envs", None)
    if observation not in OBSERVATIONS:
        raise ValueError(f"env_config observation={observation!r} is not one of {OBSERVATIONS}")
    if num_envs is None:
        kwargs.pop("processes", None)
        env = gym.make(env_id, **kwargs)
    else:
        if env_id in raveforce.SERVED:
            raise ValueError(f"{env_id} has no vector env (its task is served by sclang): use gym_env_vectorize_mode='sync'")
        kwargs.setdefault("processes", 1)
        env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    return wrap_observation(env, observation, **options)


def register(env_ids: Iterable[str] | None = None) -> list[str]:
    """Register RaveForce env ids (default: all) with RLlib's env registry; returns them.

    Done on import of this module. Registering before `ray.init()` is fine: RLlib keeps the
    creators and hands them to every worker of the cluster once Ray is up; except with Ray
    Client (`ray.init("ray://...")`), which needs `register()` again after connecting.
    """
    import raveforce

    registry = _require("ray.tune.registry")
    ids = list(raveforce.ENVS if env_ids is None else env_ids)
    for env_id in ids:
        registry.register_env(env_id, functools.partial(make_env, env_id))
    ray = _require("ray")
    if ray.is_initialized():  # a Ray Client connection does not flush on its own
        registry._global_registry.flush_values()
    return ids


# --- configuration and training --------------------------------------------------------------


def ppo_config(
    env_id: str = "raveforce/DrumLoop-v0",
    *,
    num_env_runners: int = 2,
    num_envs_per_env_runner: int = 8,
    env_config: Mapping[str, Any] | None = None,
    observation: str = "logmel",
    rollout_fragment_length: int | str = "auto",
    train_batch_size: int | None = None,
    minibatch_size: int | None = None,
    num_epochs: int | None = None,
    hidden: tuple[int, ...] = (256, 256),
    num_cpus_per_env_runner: float = 1.0,
    seed: int | None = None,
):
    """A `PPOConfig` for a RaveForce env: batched vector envs, scsynth crash recovery.

    `train_batch_size` defaults to two episodes per sub-environment per iteration.
    """
    if isinstance(num_env_runners, bool) or not isinstance(num_env_runners, int) or num_env_runners < 0:
        raise ValueError(f"num_env_runners={num_env_runners!r} is not a whole number >= 0")
    if isinstance(num_envs_per_env_runner, bool) or not isinstance(num_envs_per_env_runner, int) or num_envs_per_env_runner < 1:
        raise ValueError(f"num_envs_per_env_runner={num_envs_per_env_runner!r} is not a whole number >= 1")
    if observation not in OBSERVATIONS:
        raise ValueError(f"observation={observation!r} is not one of {OBSERVATIONS}")
    ppo = _require("ray.rllib.algorithms.ppo")
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    register([env_id])
    env_class = gym.envs.registration.load_env_creator(gym.spec(env_id).entry_point)
    steps = env_class.TASK.steps if getattr(env_class, "TASK", None) is not None else 16
    steps = int((env_config or {}).get("steps", steps))
    if train_batch_size is None:
        train_batch_size = 2 * steps * max(1, num_env_runners) * num_envs_per_env_runner
    config = (
        ppo.PPOConfig()
        .environment(env_id, env_config={"observation": observation, **(env_config or {})})
        .env_runners(
            num_env_runners=num_env_runners,
            num_envs_per_env_runner=num_envs_per_env_runner,
            gym_env_vectorize_mode="vector_entry_point",
            rollout_fragment_length=rollout_fragment_length,
            num_cpus_per_env_runner=num_cpus_per_env_runner,
        )
        .training(
            train_batch_size_per_learner=train_batch_size,
            minibatch_size=min(minibatch_size or 128, train_batch_size),
            num_epochs=num_epochs or 10,
        )
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=list(hidden)))
        .fault_tolerance(restart_failed_sub_environments=True)
    )
    if seed is not None:
        config = config.debugging(seed=seed)
    return config


def _metric(result: Mapping[str, Any], *path: str, default=float("nan")):
    for key in path:
        if not isinstance(result, Mapping) or key not in result:
            return default
        result = result[key]
    return result


def summarize(result: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers of one `algo.train()` result that matter here (NaN where RLlib has none)."""
    return {
        "iteration": _metric(result, "training_iteration"),
        "env_steps_sampled": _metric(result, "env_runners", "num_env_steps_sampled_lifetime"),
        "episodes": _metric(result, "env_runners", "num_episodes_lifetime"),
        "episode_return_mean": _metric(result, "env_runners", "episode_return_mean"),
        "env_step_failures": _metric(result, "env_runners", "num_env_step_failures", default=0),
        "seconds": _metric(result, "time_this_iter_s"),
    }


def train_rllib(
    env_id: str = "raveforce/DrumLoop-v0",
    *,
    iterations: int = 10,
    num_env_runners: int = 2,
    num_envs_per_env_runner: int = 8,
    address: str | None = None,
    env_config: Mapping[str, Any] | None = None,
    observation: str = "logmel",
    seed: int | None = 0,
    checkpoint: str | os.PathLike | None = None,
    log: Callable[[str], None] | None = print,
    **ppo_options: Any,
) -> list[dict[str, Any]]:
    """Train PPO on `env_id` with `num_env_runners` env runners, each with its own scsynth.

    address: None starts a local Ray instance (stopped again at the end); "auto" or
    "ray://head:10001" joins a running cluster, whose every node needs scsynth and
    `raveforce[rllib]` installed. Returns `summarize()` of each iteration; writes a checkpoint
    to `checkpoint` if given. Ray, the algorithm and every scsynth are stopped on return or error.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations={iterations!r} is not a whole number >= 1")
    ray = _require("ray")
    config = ppo_config(
        env_id,
        num_env_runners=num_env_runners,
        num_envs_per_env_runner=num_envs_per_env_runner,
        env_config=env_config,
        observation=observation,
        seed=seed,
        **ppo_options,
    )
    started = not ray.is_initialized()
    if started:
        if address is None:
            # Logical CPUs: enough for every env runner and the learner, so Ray never waits.
            cpus = max(os.cpu_count() or 1, math.ceil(num_env_runners * config.num_cpus_per_env_runner) + 1)
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level="warning")
        else:
            ray.init(address=address, logging_level="warning")
    algo = None
    history = []
    try:
        register([env_id])  # again once connected: Ray Client (ray://) skips the flush of earlier ones
        algo = config.build_algo()
        for _ in range(iterations):
            t0 = time.perf_counter()
            summary = summarize(algo.train())
            summary["seconds"] = time.perf_counter() - t0
            summary["healthy_env_runners"] = algo.env_runner_group.num_healthy_remote_workers()
            history.append(summary)
            if log is not None:
                log(
                    f"iteration {summary['iteration']}: {summary['env_steps_sampled']:g} env steps, "
                    f"{summary['episodes']:g} episodes, return mean {summary['episode_return_mean']:.6g}, "
                    f"env step failures {summary['env_step_failures']:g}, "
                    f"healthy env runners {summary['healthy_env_runners']}/{num_env_runners}, {summary['seconds']:.1f} s"
                )
        if checkpoint is not None:
            path = algo.save_to_path(os.path.abspath(os.fspath(checkpoint)))
            if log is not None:
                log(f"checkpoint: {path}")
    finally:
        if algo is not None:
            algo.stop()
        if started:
            ray.shutdown()
    return history


def resolve_env_id(name: str) -> str:
    """An env id from an id or a short name ("drum-loop", "drumloop" -> "raveforce/DrumLoop-v0")."""
    import raveforce

    short = {env_id.split("/")[1].split("-")[0].lower(): env_id for env_id in raveforce.ENVS}
    env_id = name if name in raveforce.ENVS else short.get(name.replace("-", "").replace("_", "").lower())
    if env_id is None:
        raise ValueError(f"unknown task {name!r}; valid: {', '.join(raveforce.ENVS)}")
    return env_id


def write_curve(history: list[dict[str, Any]], out: str | os.PathLike, *, title: str = "") -> None:
    """curve.csv (every iteration's summary) and curve.png (mean return against env steps) in `out`."""
    import csv
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "curve.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    try:
        from raveforce._optional import pyplot

        plt = pyplot()
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot([h["env_steps_sampled"] for h in history], [h["episode_return_mean"] for h in history], "o-")
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean return")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out / "curve.png", dpi=110)
    plt.close(fig)


def cli(args) -> int:
    """`raveforce train TASK --engine rllib ...` (the parsed arguments)."""
    env_config = {"reward": args.reward} if args.reward else {}
    if getattr(args, "target", None):  # loaded by each env runner: the same path on every node
        env_config["target"] = os.path.abspath(args.target)
    history = train_rllib(
        resolve_env_id(args.task),
        iterations=args.iterations,
        num_env_runners=args.num_env_runners,
        num_envs_per_env_runner=args.envs_per_runner,
        address=args.address,
        env_config=env_config,
        observation=args.observation,
        seed=args.seed,
        checkpoint=args.checkpoint,
    )
    if getattr(args, "out", None):
        write_curve(history, args.out, title=f"RLlib PPO on {resolve_env_id(args.task)}")
        print(f"wrote {args.out}/{{curve.csv,curve.png}}")
    last = history[-1]
    print(
        f"done: {last['env_steps_sampled']:g} env steps in {sum(h['seconds'] for h in history):.1f} s "
        f"over {len(history)} iterations, last return mean {last['episode_return_mean']:.6g}"
    )
    return 0


register()
