"""Baseline agents for RaveForce tasks: search the action sequence that imitates the target best.

Every agent takes a `Task` (e.g. `raveforce.tasks.DRUM_LOOP`) and returns a `Solution`: the
actions of one episode and the reward of each step when they are played. They evaluate many
candidates at once in a `RaveForceVectorEnv` (one scsynth output channel per candidate).

- discrete step tasks (`Choices`): `random_search`, `greedy`, `beam_search` (the paper's
  "dynamic programming": the reward of a step depends only on the steps so far, so the best
  prefixes can be extended step by step; greedy is a beam of width 1).
- continuous one-step tasks (`Controls`, e.g. the kick): `random_search`, `sweep` (grid, then
  finer grids around the best point) and `actor_critic` (the paper's section 5.2.2: a critic
  network learns reward(action) from samples, an actor climbs the critic; numpy only).

    from raveforce import agents
    from raveforce.tasks import DRUM_LOOP
    solution = agents.greedy(DRUM_LOOP)          # Solution(actions=[5, 0, 4, ...], rewards=[0.0, ...])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from raveforce.task import Choices, Controls, MultiChoices, Task

Progress = Callable[[int, int, str], None]  # progress(done, total, message)


@dataclass
class Solution:
    """One episode's actions and the reward of each step when they are played.

    actions: one per step (int for `Choices`; float32 (n,) in [0, 1] for `Controls`).
    rewards: float, one per step (the environment's reward, <= 0, 0 is a perfect match).
    evaluations: environment steps the search spent (sub-environment steps of a vector env).
    history: what the agent tried, for plots (agent-specific; e.g. the sweep's (x, reward) pairs).
    """

    actions: list
    rewards: list[float]
    evaluations: int = 0
    history: dict = field(default_factory=dict)

    @property
    def total_reward(self) -> float:
        return float(sum(self.rewards))

    def plain_actions(self) -> list:
        """The actions as JSON-friendly values (ints, or lists of floats)."""
        return [a.tolist() if isinstance(a, np.ndarray) else int(a) for a in self.actions]


class Evaluator:
    """Plays batches of action sequences in one vector env (`lanes` sub-environments)."""

    def __init__(self, task: Task, lanes: int, *, target=None, reward=None, **kwargs) -> None:
        from raveforce.vector import RaveForceVectorEnv

        self.task = task
        self.lanes = lanes
        self.env = RaveForceVectorEnv(task, lanes, target=target, reward=reward, copy=False, **kwargs)
        self.evaluations = 0

    def play(self, sequences: Sequence[Sequence]) -> tuple[np.ndarray, np.ndarray]:
        """Rewards float64 (len(sequences), steps) and audio float32 (len(sequences), samples) of
        the sequences, all of one length (<= task.steps), `lanes` at a time."""
        steps = len(sequences[0])
        rewards = np.zeros((len(sequences), steps))
        audio = np.zeros((len(sequences), self.task.total_samples), np.float32)
        for start in range(0, len(sequences), self.lanes):
            batch = list(sequences[start : start + self.lanes])
            used = len(batch)
            batch += [batch[-1]] * (self.lanes - used)  # idle lanes repeat the last sequence
            self.env.reset(seed=0)
            for k in range(steps):
                actions = np.stack([np.asarray(seq[k]) for seq in batch])
                obs, reward, *_ = self.env.step(actions)
                rewards[start : start + used, k] = reward[:used]
            audio[start : start + used] = obs[:used]
            self.evaluations += used * steps
        return rewards, audio

    def close(self) -> None:
        self.env.close()


def _choices(task: Task) -> int:
    if isinstance(task.actions, MultiChoices):
        count = int(np.prod(task.actions.sizes))
        raise ValueError(f"task {task.name!r} has {count} actions a step ({task.action_space}): greedy and beam would try each; use random_search or an SB3 agent")
    if not isinstance(task.actions, Choices):
        raise ValueError(f"task {task.name!r} has continuous actions: use sweep, actor_critic or random_search")
    return len(task.actions.options)


def _controls(task: Task) -> int:
    if not isinstance(task.actions, Controls) or task.steps != 1:
        raise ValueError(f"task {task.name!r} is not a one-step continuous task: use greedy, beam_search or random_search")
    return len(task.actions.controls)


# --- discrete step tasks ------------------------------------------------------------------------


def beam_search(
    task: Task, *, width: int = 4, target=None, reward=None, progress: Progress | None = None, **env_kwargs
) -> Solution:
    """Keep the `width` prefixes with the highest return (sum of step rewards), extend each by
    every action, repeat for every step. Costs width * n_actions * steps * (steps + 1) / 2 env steps."""
    n = _choices(task)
    if not (isinstance(width, int) and width >= 1):
        raise ValueError(f"width={width!r} is not a whole number >= 1")
    evaluator = Evaluator(task, width * n, target=target, reward=reward, **env_kwargs)
    beams: list[tuple[tuple[int, ...], float, tuple[float, ...]]] = [((), 0.0, ())]  # prefix, return, rewards
    try:
        for k in range(task.steps):
            candidates = [(prefix + (a,), ret, rs) for prefix, ret, rs in beams for a in range(n)]
            rewards, _ = evaluator.play([c[0] for c in candidates])
            scored = [(seq, ret + r[k], rs + (float(r[k]),)) for (seq, ret, rs), r in zip(candidates, rewards)]
            scored.sort(key=lambda c: -c[1])  # stable: ties keep the lower action
            beams = scored[:width]
            if progress:
                progress(k + 1, task.steps, f"step {k + 1}: best action {beams[0][0][-1]}, reward {beams[0][2][-1]:.4g}")
    finally:
        evaluator.close()
    best = beams[0]
    return Solution(list(best[0]), list(best[2]), evaluator.evaluations, {"width": width})


def greedy(task: Task, **kwargs) -> Solution:
    """At every step keep the action with the best reward: a beam search of width 1."""
    return beam_search(task, width=1, **kwargs)


def random_search(
    task: Task, *, episodes: int = 64, seed: int = 0, target=None, reward=None, progress: Progress | None = None, **env_kwargs
) -> Solution:
    """Play `episodes` episodes of uniformly random actions (seeded); keep the best return."""
    rng = np.random.default_rng(seed)
    space = task.action_space
    if isinstance(task.actions, Choices):
        sequences = rng.integers(0, space.n, (episodes, task.steps)).tolist()
    elif isinstance(task.actions, MultiChoices):
        sequences = list(rng.integers(0, space.nvec, (episodes, task.steps, len(space.nvec))))
    else:
        sequences = list(rng.random((episodes, task.steps, space.shape[0]), dtype=np.float32))
    lanes = min(episodes, 64)
    evaluator = Evaluator(task, lanes, target=target, reward=reward, **env_kwargs)
    try:
        rewards = np.zeros((episodes, task.steps))
        for start in range(0, episodes, lanes):
            rewards[start : start + lanes] = evaluator.play(sequences[start : start + lanes])[0]
            if progress:
                done = min(start + lanes, episodes)
                progress(done, episodes, f"{done} random episodes, best return {rewards[:done].sum(axis=1).max():.4g}")
    finally:
        evaluator.close()
    returns = rewards.sum(axis=1)
    i = int(np.argmax(returns))
    return Solution(list(sequences[i]), rewards[i].tolist(), evaluator.evaluations, {"returns": returns.tolist()})


# --- continuous one-step tasks --------------------------------------------------------------------


def sweep(
    task: Task, *, points: int = 64, rounds: int = 4, target=None, reward=None, progress: Progress | None = None, **env_kwargs
) -> Solution:
    """A one-dimensional one-step task: evaluate `points` actions evenly spread over [0, 1], then
    `rounds - 1` times again over +-2 grid spacings around the best so far."""
    if _controls(task) != 1:
        raise ValueError(f"sweep searches one action dimension; task {task.name!r} has {_controls(task)}")
    evaluator = Evaluator(task, points, target=target, reward=reward, **env_kwargs)
    xs_all, rs_all = [], []
    lo, hi = 0.0, 1.0
    try:
        for r in range(rounds):
            xs = np.linspace(lo, hi, points, dtype=np.float32)
            rewards, _ = evaluator.play([[np.array([x], np.float32)] for x in xs])
            xs_all += xs.tolist()
            rs_all += rewards[:, 0].tolist()
            best = xs_all[int(np.argmax(rs_all))]
            spacing = (hi - lo) / (points - 1)
            lo, hi = max(0.0, best - 2 * spacing), min(1.0, best + 2 * spacing)
            if progress:
                progress(r + 1, rounds, f"round {r + 1}: best x {best:.6f}, reward {max(rs_all):.6g}")
    finally:
        evaluator.close()
    i = int(np.argmax(rs_all))
    return Solution([np.array([xs_all[i]], np.float32)], [rs_all[i]], evaluator.evaluations, {"x": xs_all, "reward": rs_all})


class Critic:
    """A small MLP (1 -> hidden -> hidden -> 1, tanh) fitted to standardized rewards by Adam.

    predict(x): x float (m,) in [0, 1] -> predicted standardized reward (m,).
    gradient(x): d predict / d x, float (m,).
    """

    def __init__(self, hidden: int = 32, *, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.params = [
            rng.normal(0, 1.0, (1, hidden)), np.zeros(hidden),
            rng.normal(0, 1 / np.sqrt(hidden), (hidden, hidden)), np.zeros(hidden),
            rng.normal(0, 1 / np.sqrt(hidden), (hidden, 1)), np.zeros(1),
        ]  # fmt: skip
        self._m = [np.zeros_like(p) for p in self.params]
        self._v = [np.zeros_like(p) for p in self.params]
        self._t = 0

    def _forward(self, x: np.ndarray):
        w1, b1, w2, b2, w3, b3 = self.params
        u = (2 * x - 1)[:, None] * 4  # [0, 1] -> [-4, 4]: sharper features for a narrow peak
        h1 = np.tanh(u @ w1 + b1)
        h2 = np.tanh(h1 @ w2 + b2)
        return u, h1, h2, (h2 @ w3 + b3)[:, 0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._forward(np.asarray(x, np.float64))[3]

    def gradient(self, x: np.ndarray) -> np.ndarray:
        w1, _, w2, _, w3, _ = self.params
        _, h1, h2, _ = self._forward(np.asarray(x, np.float64))
        d2 = (1 - h2**2) * w3[:, 0]  # d y / d (pre-activation 2)
        d1 = (d2 @ w2.T) * (1 - h1**2)
        return (d1 @ w1[0]) * 8  # d u / d x = 8

    def fit(self, x: np.ndarray, y: np.ndarray, *, epochs: int = 300, lr: float = 0.01) -> float:
        """Full-batch Adam on the mean squared error; returns the last loss."""
        x = np.asarray(x, np.float64)
        y = np.asarray(y, np.float64)
        for _ in range(epochs):
            w1, b1, w2, b2, w3, b3 = self.params
            u, h1, h2, pred = self._forward(x)
            err = (pred - y) * 2 / len(y)
            g3 = h2.T @ err[:, None]
            d2 = err[:, None] * w3.T * (1 - h2**2)
            g2 = h1.T @ d2
            d1 = (d2 @ w2.T) * (1 - h1**2)
            g1 = u.T @ d1
            grads = [g1, d1.sum(0), g2, d2.sum(0), g3, err.sum(keepdims=True)]
            self._t += 1
            for i, g in enumerate(grads):
                self._m[i] = 0.9 * self._m[i] + 0.1 * g
                self._v[i] = 0.999 * self._v[i] + 0.001 * g**2
                m = self._m[i] / (1 - 0.9**self._t)
                v = self._v[i] / (1 - 0.999**self._t)
                self.params[i] = self.params[i] - lr * m / (np.sqrt(v) + 1e-8)
        return float(np.mean((self._forward(x)[3] - y) ** 2))


def actor_critic(
    task: Task,
    *,
    samples: int = 96,
    rounds: int = 12,
    batch: int = 8,
    radius: float = 0.05,
    seed: int = 0,
    target=None,
    reward=None,
    progress: Progress | None = None,
    **env_kwargs,
) -> Solution:
    """The paper's critic/actor pair for a one-dimensional one-step task (section 5.2.2).

    The critic (`Critic`) learns reward(x) from `samples` random actions x, one in each of
    `samples` equal strata of [0, 1]
    (it fits log10 of the distance, standardized, which evens out the dynamic range). The actor
    is one number x, started at the best sample, that climbs the critic's gradient within a
    trust region of `radius` (shrinking by 0.7 a round). Each of `rounds` rounds plays the
    actor's x and `batch - 1` neighbours within the trust region, refits the critic on
    everything played so far, and climbs again. The solution is the best action played.
    """
    if _controls(task) != 1:
        raise ValueError(f"actor_critic searches one action dimension; task {task.name!r} has {_controls(task)}")
    rng = np.random.default_rng(seed)
    critic = Critic(seed=seed)
    evaluator = Evaluator(task, min(samples, 64), target=target, reward=reward, **env_kwargs)

    def play(xs: np.ndarray) -> np.ndarray:
        return evaluator.play([[np.array([x], np.float32)] for x in xs])[0][:, 0]

    try:
        xs = ((np.arange(samples) + rng.random(samples)) / samples).astype(np.float32)  # one per stratum
        rs = play(xs)
        x = float(xs[np.argmax(rs)])
        actor_path = []
        for r in range(rounds):
            y = -np.log10(np.maximum(-rs, 1e-30))  # higher is better
            critic.fit(xs, (y - y.mean()) / (y.std() + 1e-12), epochs=400 if r == 0 else 150)
            lo, hi = max(0.0, x - radius), min(1.0, x + radius)
            for _ in range(100):  # the actor climbs the critic inside its trust region
                x = float(np.clip(x + 0.2 * radius * np.tanh(critic.gradient(np.array([x]))[0]), lo, hi))
            actor_path.append(x)
            trial = np.clip(np.concatenate([[x], x + rng.uniform(-radius, radius, batch - 1)]), 0, 1).astype(np.float32)
            xs = np.concatenate([xs, trial])
            rs = np.concatenate([rs, play(trial)])
            radius *= 0.7
            if progress:
                progress(r + 1, rounds, f"round {r + 1}: actor x {x:.5f} (reward {rs[-batch]:.6g}), best {rs.max():.6g}")
    finally:
        evaluator.close()
    best = int(np.argmax(rs))
    history = {"x": xs.tolist(), "reward": rs.tolist(), "actor": actor_path}
    return Solution([np.array([xs[best]], np.float32)], [float(rs[best])], evaluator.evaluations, history)


# --- playing a solution -----------------------------------------------------------------------------


def play(task: Task, actions: Sequence, *, target=None, reward=None, **env_kwargs) -> tuple[np.ndarray, list[float], np.ndarray]:
    """Play `actions` in a single RaveForceEnv: (audio float32 (samples,), rewards per step, target
    float32 (samples,))."""
    from raveforce.env import RaveForceEnv

    env = RaveForceEnv(task, target=target, reward=reward, **env_kwargs)
    try:
        env.reset(seed=0)
        rewards = [float(env.step(a)[1]) for a in actions]
        return env.audio, rewards, env.target.copy()
    finally:
        env.close()


__all__ = ["Critic", "Evaluator", "Solution", "actor_critic", "beam_search", "greedy", "play", "random_search", "sweep"]
