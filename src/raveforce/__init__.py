"""RaveForce: Gymnasium environments for music rendered by SuperCollider.

    import gymnasium as gym
    import raveforce                      # registers the raveforce/... envs (raveforce.ENVS)
    env = gym.make("raveforce/DrumLoop-v0")
"""

from __future__ import annotations

import importlib

import gymnasium

from raveforce.errors import (
    ArgumentError,
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
    "raveforce/DrumKit-v0": "raveforce.envs:DrumKitEnv",
    "raveforce/KickFrequency-v0": "raveforce.envs:KickFrequencyEnv",
    "raveforce/KickMatch-v0": "raveforce.envs:KickMatchEnv",
    "raveforce/FMTone-v0": "raveforce.envs:FMToneEnv",
    "raveforce/BassLine-v0": "raveforce.envs:BassLineEnv",
    "raveforce/Melody-v0": "raveforce.envs:MelodyEnv",
    "raveforce/SCLang-v0": "raveforce.envs.sclang:SCLangEnv",
    "raveforce/DrumTranscribe-v0": "raveforce.transcribe:DrumTranscribeEnv",
    "raveforce/KickTranscribe-v0": "raveforce.transcribe:KickTranscribeEnv",
    "raveforce/DrumKitTranscribe-v0": "raveforce.transcribe:DrumKitTranscribeEnv",
}


def _vector_entry_point(entry_point: str):
    """A make_vec entry point: the env class's own `make_vector`, else its TASK in a RaveForceVectorEnv."""

    def make(num_envs: int = 1, **kwargs):
        from raveforce.vector import RaveForceVectorEnv

        env_class = gymnasium.envs.registration.load_env_creator(entry_point)
        if hasattr(env_class, "make_vector"):
            return env_class.make_vector(num_envs, **kwargs)
        return RaveForceVectorEnv(env_class.TASK, num_envs, **kwargs)

    return make


SERVED = {"raveforce/SCLang-v0"}  # their tasks come from a server at make time: no vector env
for _env_id, _entry_point in ENVS.items():
    if _env_id not in gymnasium.registry:
        vector = None if _env_id in SERVED else _vector_entry_point(_entry_point)
        gymnasium.register(_env_id, entry_point=_entry_point, vector_entry_point=vector)

_LAZY = {"agents", "audio", "env", "envs", "kits", "midi", "rewards", "synth", "task", "tasks", "transcribe", "vector", "wrappers"}


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"raveforce.{name}")
    if name in ("RaveForceEnv",):
        return importlib.import_module("raveforce.env").RaveForceEnv
    if name in ("Task", "Note", "Control", "Controls", "Choices", "MultiChoices"):
        return getattr(importlib.import_module("raveforce.task"), name)
    raise AttributeError(f"module 'raveforce' has no attribute {name!r}")


__all__ = [
    "ArgumentError",
    "ENVS",
    "EpisodeError",
    "InvalidActionError",
    "RaveForceError",
    "SCLangError",
    "ScsynthError",
    "ScsynthNotFoundError",
    "TargetError",
]
