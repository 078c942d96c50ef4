"""Agents that play the environments: search (`search`: greedy, beam, random search, sweeps,
a small actor-critic) and stable-baselines3 training (`sb3`: PPO, DQN with the training wrappers).

May import: the engine, `raveforce.rewards`, `raveforce.tasks`, `raveforce.kits`, `raveforce.envs`.
`raveforce.agents.greedy(...)` and the rest of `search` are available here directly; `sb3` needs
the `sb3` extra and is imported on demand.
"""

from raveforce.agents.search import *  # noqa: F403
from raveforce.agents.search import __all__  # noqa: F401
