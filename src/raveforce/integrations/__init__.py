"""Integrations with training frameworks, each an optional extra imported on demand.

- `raveforce.integrations.rllib` (`pip install -e '.[rllib]'`): RaveForce envs under Ray RLlib,
  one batched vector env (one scsynth) per env runner.

May import anything in RaveForce; nothing in RaveForce imports it.
"""
