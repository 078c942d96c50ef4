"""RaveForce: Gymnasium environments for music rendered by SuperCollider.

    import gymnasium as gym
    import raveforce                      # registers raveforce/DrumLoop-v0, raveforce/KickFrequency-v0
    env = gym.make("raveforce/DrumLoop-v0")
"""

from __future__ import annotations

import importlib

import gymnasium

from raveforce.errors import (
    EpisodeError,
    InvalidActionError,
    RaveForceError,
    SCLangError,
    ScsynthError,
    ScsynthNotFoundError,
    TargetError,
)

__version__ = "0.1.0"

ENVS = {
    "raveforce/DrumLoop-v0": "raveforce.envs:DrumLoopEnv",
    "raveforce/KickFrequency-v0": "raveforce.envs:KickFrequencyEnv",
    "raveforce/SCLang-v0": "raveforce.sclang:SCLangEnv",
}
VECTOR_ENVS = {  # batched versions: gym.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")
    "raveforce/DrumLoop-v0": "raveforce.vector:DrumLoopVectorEnv",
    "raveforce/KickFrequency-v0": "raveforce.vector:KickFrequencyVectorEnv",
}
for _env_id, _entry_point in ENVS.items():
    if _env_id not in gymnasium.registry:
        gymnasium.register(_env_id, entry_point=_entry_point, vector_entry_point=VECTOR_ENVS.get(_env_id))

_LAZY = {"rewards", "tasks", "envs", "env", "task", "render", "scsynth", "audio", "osc", "sclang", "vector"}


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"raveforce.{name}")
    if name in ("RaveForceEnv",):
        return importlib.import_module("raveforce.env").RaveForceEnv
    if name in ("Task", "Note", "Control", "Controls", "Choices"):
        return getattr(importlib.import_module("raveforce.task"), name)
    raise AttributeError(f"module 'raveforce' has no attribute {name!r}")


__all__ = [
    "ENVS",
    "EpisodeError",
    "InvalidActionError",
    "RaveForceError",
    "SCLangError",
    "ScsynthError",
    "ScsynthNotFoundError",
    "TargetError",
]
