"""The registered environments, each a spec sheet in its docstring: the built-in tasks'
(`builtin`: `raveforce/DrumLoop-v0`, `DrumKit-v0`, `KickFrequency-v0`, `KickMatch-v0`, `FMTone-v0`,
`BassLine-v0`, `Melody-v0`) and a task defined in sclang with the RaveForce quark
(`sclang`: `raveforce/SCLang-v0`). The target-conditioned ones live in `raveforce.transcribe`.

May import: the engine, `raveforce.synth`, `raveforce.rewards`, `raveforce.tasks`, `raveforce.kits`.
"""

from raveforce.envs.builtin import BassLineEnv, DrumKitEnv, DrumLoopEnv, FMToneEnv, KickFrequencyEnv, KickMatchEnv, MelodyEnv
from raveforce.envs.sclang import SCLangEnv

__all__ = ["BassLineEnv", "DrumKitEnv", "DrumLoopEnv", "FMToneEnv", "KickFrequencyEnv", "KickMatchEnv", "MelodyEnv", "SCLangEnv"]
