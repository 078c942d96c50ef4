"""Target-conditioned environments: every `reset()` draws a new target, so one policy can learn
to transcribe any of them (`raveforce/DrumTranscribe-v0`, `raveforce/DrumKitTranscribe-v0`,
`raveforce/KickTranscribe-v0`).

    env = gym.make("raveforce/DrumTranscribe-v0")
    obs, info = env.reset(seed=0)             # obs["audio"], obs["target"]: (88200,) float32
    info["target_pattern"]                    # the 16 actions the target was made of
    env.reset(options={"target": "loop.wav"}) # or (samples, sample_rate): a target of your own

Drawn drum targets are mixed in numpy from the kit's samples at the step boundaries (equal to
scsynth's render of the same pattern to 1e-7), so drawing costs no render.

Also here: the shipped one-pass policies that transcribe a loop (`hit_policy`: drums, loaded
by `policy`, which also runs the MLPs `raveforce train` makes; `kit_classifier`: the ten-voice
kit with velocities; `kick_policy`: a kick's pitch), the full-kit measures (`scores`),
and training from the env's reward (`training`, with stable-baselines3).

May import: everything below it (the engine, `synth`, `rewards`, `tasks`, `kits`, `envs`, `agents`).
"""

from raveforce.transcribe.envs import (
    DrumKitTranscribeEnv,
    DrumTranscribeEnv,
    KickTranscribeEnv,
    TranscribeEnv,
    TranscribeVectorEnv,
)
from raveforce.transcribe.targets import (
    DENSITY,
    DRUM_KIT_TRANSCRIBE,
    DRUM_TRANSCRIBE,
    FREQUENCY_RANGE,
    KICK_TRANSCRIBE,
    KIT_DENSITY,
    SINE_PERC,
    Drawer,
    FrequencyDrawer,
    GridDrawer,
    KitPatternDrawer,
    PatternDrawer,
    draw_grid,
    draw_pattern,
    family_kit,
    frequency_action,
    groove_grid,
    kit_samples,
    kit_seeds,
    load_given_target,
    mix_grids,
    mix_pattern,
    mix_patterns,
    pattern_drawer,
    shuffle_grid,
    sine_kick,
)
from raveforce.transcribe.tempo import (
    TEMPO_LIMITS,
    TempoRange,
    check_retimable,
    split_bpm,
)

__all__ = [
    "DENSITY",
    "DRUM_KIT_TRANSCRIBE",
    "DRUM_TRANSCRIBE",
    "FREQUENCY_RANGE",
    "KICK_TRANSCRIBE",
    "KIT_DENSITY",
    "SINE_PERC",
    "TEMPO_LIMITS",
    "Drawer",
    "DrumKitTranscribeEnv",
    "DrumTranscribeEnv",
    "FrequencyDrawer",
    "GridDrawer",
    "KickTranscribeEnv",
    "KitPatternDrawer",
    "PatternDrawer",
    "TempoRange",
    "TranscribeEnv",
    "TranscribeVectorEnv",
    "check_retimable",
    "draw_grid",
    "draw_pattern",
    "family_kit",
    "frequency_action",
    "kit_samples",
    "kit_seeds",
    "groove_grid",
    "load_given_target",
    "mix_grids",
    "mix_pattern",
    "mix_patterns",
    "pattern_drawer",
    "shuffle_grid",
    "sine_kick",
    "split_bpm",
]
