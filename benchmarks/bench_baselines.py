"""Baseline scores of every registered task: random, search agents and PPO.

    .venv/bin/python benchmarks/bench_baselines.py [--seeds 3] [--ppo-steps 8192] [--no-ppo]

For each task and agent, over `--seeds` runs (deterministic agents run once): the best final
reward reached (the reward of an episode's last step, i.e. minus the whole episode's distance
to the target; the median over runs, and the best), the success rate, and the env steps used
per run. Success: final distance <= 0.1 % of the median distance of 64 uniformly random episodes
(for the tasks whose optimum is 0; KickFrequency's sine cannot reach its kick, so it has none).
The distance of silence is printed for scale (under STFT and MSE a kick imitation is often worse).
Agents come from `raveforce.agents` (random_search, greedy, beam_search, sweep, actor_critic)
plus `local_search` below for the 5-dimensional one-step tasks; PPO is stable-baselines3
through `raveforce.agents.sb3` (same settings for continuous tasks). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from raveforce import agents, tasks
from raveforce._optional import quiet_logger
from raveforce.app.progress import ProgressLine
from raveforce.audio import load_target
from raveforce.rewards import make as make_criterion
from raveforce.task import Choices, Controls, Task
from raveforce.vector import RaveForceVectorEnv

SUCCESS = 1e-3  # of the median distance of a random episode
TASKS = {  # env id: (task, whether its optimum is 0)
    "raveforce/DrumLoop-v0": (tasks.DRUM_LOOP, True),
    "raveforce/KickFrequency-v0": (tasks.KICK_FREQUENCY, False),
    "raveforce/KickMatch-v0": (tasks.KICK_MATCH, True),
    "raveforce/FMTone-v0": (tasks.FM_TONE, True),
    "raveforce/BassLine-v0": (tasks.BASS_LINE, True),
    "raveforce/Melody-v0": (tasks.MELODY, True),
}


def silence_reward(task: Task) -> float:
    """The final reward of an episode of silence: minus the whole target's distance from zeros."""
    target = load_target(task.target, sample_rate=task.sample_rate, length=task.total_samples)
    criterion = make_criterion(task.reward, target=target, sample_rate=task.sample_rate, boundaries=task.boundaries)
    return -float(criterion.distance(np.zeros(task.total_samples, np.float32), task.steps - 1))


def random_median(task: Task, episodes: int = 64, seed: int = 12345) -> float:
    """The median final reward of `episodes` uniformly random episodes (seeded)."""
    env = RaveForceVectorEnv(task, episodes, copy=False)
    try:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        for _ in range(task.steps):
            reward = env.step(env.action_space.sample())[1]
    finally:
        env.close()
    return float(np.median(reward))


def local_search(task: Task, *, budget: int = 1024, population: int = 32, sigma: float = 0.1, seed: int = 0) -> agents.Solution:
    """A one-step continuous task, n dimensions: a (1 + population) evolution strategy. Start at
    the best of `population` uniform actions; each generation tries `population` Gaussian
    neighbours (std `sigma`, clipped to [0, 1]), moves to the best if it improves, else halves
    sigma. Stops after `budget` evaluations."""
    rng = np.random.default_rng(seed)
    n = task.action_space.shape[0]
    env = RaveForceVectorEnv(task, population, copy=False)
    try:
        def play(xs: np.ndarray) -> np.ndarray:
            env.reset(seed=0)
            return env.step(xs.astype(np.float32))[1]

        xs = rng.random((population, n))
        rs = play(xs)
        best_x, best_r, used = xs[np.argmax(rs)], float(rs.max()), population
        while used + population <= budget:
            xs = np.clip(best_x + sigma * rng.standard_normal((population, n)), 0.0, 1.0)
            rs = play(xs)
            used += population
            if rs.max() > best_r:
                best_x, best_r = xs[np.argmax(rs)], float(rs.max())
            else:
                sigma *= 0.5
    finally:
        env.close()
    return agents.Solution([best_x.astype(np.float32)], [best_r], used)


def ppo(task: Task, *, steps: int, seed: int) -> tuple[float, int]:
    """(final reward of the trained policy's deterministic episode, env steps trained)."""
    from raveforce.agents import sb3 as train

    if isinstance(task.actions, Choices):
        return train.train("ppo", task=task, steps=steps, seed=seed).rewards[-1], steps
    # raveforce.agents.sb3.train plays discrete actions only: the same settings for a Box action.
    import stable_baselines3 as sb3
    import torch
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    torch.set_num_threads(1)
    env = train.make_env(task)
    try:
        vec = VecNormalize(DummyVecEnv([lambda: train.RawReward(env)]), norm_obs=False, norm_reward=True, gamma=0.99)
        vec.seed(seed)
        model = sb3.PPO("MlpPolicy", vec, n_steps=128, batch_size=64, n_epochs=10, learning_rate=1e-3, ent_coef=0.01, seed=seed, device="cpu")
        quiet_logger(model).learn(total_timesteps=steps)
        observation, _ = env.reset(seed=seed)
        action, _ = model.predict(observation, deterministic=True)
        return float(env.step(np.clip(action, 0.0, 1.0))[1]), steps
    finally:
        env.close()


def search_agents(task: Task) -> dict:
    """{name: (run(seed) -> (final reward, env steps), True if deterministic)} for the task's kind."""
    one_step = task.steps == 1
    continuous = isinstance(task.actions, Controls)
    episodes = 1024 if one_step else 256

    def run(agent, **kwargs):
        def go(seed):
            solution = agent(task, **kwargs, **({"seed": seed} if agent in (agents.random_search, agents.actor_critic, local_search) else {}))
            return solution.rewards[-1], solution.evaluations

        return go

    found = {f"random ({episodes} episodes)": (run(agents.random_search, episodes=episodes), False)}
    if not continuous:
        found["greedy"] = (run(agents.greedy), True)
        found["beam search (width 4)"] = (run(agents.beam_search, width=4), True)
    elif task.action_space.shape[0] == 1:
        found["sweep (64 points x 4 rounds)"] = (run(agents.sweep), True)
        found["actor-critic"] = (run(agents.actor_critic), False)
    else:
        found["local search (1024 evaluations)"] = (run(local_search, budget=1024), False)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="runs of each seeded agent")
    parser.add_argument("--ppo-steps", type=int, default=8192, help="env steps of PPO training per task")
    parser.add_argument("--ppo-seeds", type=int, default=1, help="PPO runs per task")
    parser.add_argument("--no-ppo", action="store_true")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), help="env ids (default: all)")
    args = parser.parse_args()

    rows = []
    progress = ProgressLine("baselines")
    for t, env_id in enumerate(args.tasks):
        progress(t, len(args.tasks), env_id)
        task, optimum_zero = TASKS[env_id]
        silence = silence_reward(task)
        threshold = SUCCESS * random_median(task) if optimum_zero else None
        runs = search_agents(task)
        if not args.no_ppo:
            runs[f"PPO ({args.ppo_steps} steps)"] = (lambda seed, task=task: ppo(task, steps=args.ppo_steps, seed=seed), "ppo")
        for name, (go, kind) in runs.items():
            start = time.perf_counter()
            n = 1 if kind is True else args.ppo_seeds if kind == "ppo" else args.seeds
            results = [go(seed) for seed in range(n)]
            seconds = (time.perf_counter() - start) / len(results)
            finals = np.array([r for r, _ in results])
            used = int(np.median([s for _, s in results]))
            success = "—" if threshold is None else f"{np.mean(finals >= threshold):.0%} of {len(finals)}"
            limit = "—" if threshold is None else f"{threshold:.3g}"
            rows.append((env_id.removeprefix("raveforce/"), task.reward, f"{silence:.4g}", limit, name, np.median(finals), finals.max(), success, used, seconds))
            print(f"{rows[-1][0]:<16} {name:<32} median {np.median(finals):.4g} best {finals.max():.4g} success {success} steps {used} ({seconds:.1f} s/run)", flush=True)
    progress(len(args.tasks), len(args.tasks), "done")

    print(f"\nsuccess: final distance <= {SUCCESS:g} x the median distance of a random episode\n")
    print("| task | reward | silence | success if >= | agent | final reward (median) | best | success | env steps / run | s / run |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for task_name, reward, silence, limit, name, median, best, success, used, seconds in rows:
        print(f"| {task_name} | {reward} | {silence} | {limit} | {name} | {median:.4g} | {best:.4g} | {success} | {used} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
