"""DrumKit: a General MIDI kit of ten voices, each with a velocity, one grid step at a time.

The action is one level per voice (`MultiDiscrete([levels + 1] * 10)`): 0 rests, level i of
`levels` plays the voice at MIDI velocity round(127 * i / levels), as the `drum` synth at amp
velocity / 100 (so `raveforce.midi` writes the velocity back). A pattern is an int (steps, 10)
grid of levels, voices in `FULL_KIT` order.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from raveforce.errors import ArgumentError
from raveforce.task import Choices, MultiChoices, Note, Task
from raveforce.tasks.builtin import DATA, DRUM_LOOP

# buffer i, action dimension i; the names are the sample files' stems in data/kit and raveforce.midi's GM keys
FULL_KIT = ("kick", "snare", "clap", "hat", "open_hat", "low_tom", "mid_tom", "high_tom", "crash", "ride")
LEVELS = 3  # soft, medium, hard
MAX_LEVELS = 31  # 10 voices x 31 levels = 310 candidate notes a step; scsynth's output file takes 1024 channels at most


def velocities(levels: int = LEVELS) -> tuple[int, ...]:
    """The MIDI velocity of each level 1..levels: (42, 85, 127) for three."""
    if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= MAX_LEVELS:
        raise ArgumentError(
            f"velocity_levels={levels!r} is not a whole number from 1 to {MAX_LEVELS} (every level of every voice "
            "starts ahead of each step on a channel of its own)"
        )
    return tuple(round(127 * i / levels) for i in range(1, levels + 1))


def kit_choices(voices: int = len(FULL_KIT), levels: int = LEVELS) -> MultiChoices:
    """Dimension i: rest, or drum buffer i at each velocity of `velocities(levels)`."""
    amps = [v / 100 for v in velocities(levels)]  # velocity 100 is the drum synth's default amp 1
    return MultiChoices(tuple(Choices(((),) + tuple((Note.of("drum", buf=i, amp=a),) for a in amps)) for i in range(voices)))


def levels_of(task: Task) -> int:
    """The velocity levels of a DrumKit task (`drum_kit_task`): each voice's options less the rest."""
    parts = getattr(task.actions, "parts", ())
    if len(parts) != len(FULL_KIT):
        raise ArgumentError(f"task {task.name!r} is not a DrumKit task ({len(FULL_KIT)} voices with levels, tasks.drum_kit_task)")
    return len(parts[0].options) - 1


def drum_kit_task(*, bars: int = 1, steps_per_beat: int = 4, velocity_levels: int = LEVELS, beats_per_bar: int = 4, **options) -> Task:
    """DRUM_KIT on another grid: `bars` bars of `beats_per_bar` beats, `steps_per_beat` steps a
    beat (4: 16ths; 3 or 6: triplets, for shuffles and 12/8), velocities in `velocity_levels`
    levels. `options` replace other Task fields (bpm, target, reward, ...)."""
    for name, value in (("bars", bars), ("steps_per_beat", steps_per_beat), ("beats_per_bar", beats_per_bar)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ArgumentError(f"{name}={value!r} is not a whole number >= 1")
    return dataclasses.replace(
        DRUM_KIT,
        actions=kit_choices(levels=velocity_levels),
        steps=bars * beats_per_bar * steps_per_beat,
        beats_per_step=1.0 / steps_per_beat,
        **options,
    )


def _default_pattern() -> np.ndarray:
    """One bar in every voice and level: crash and kick on the one, 8th hats with an open hat, a
    ghost snare, a clap on the four and a tom fill, a ride bell on the offbeats of the fill."""
    grid = np.zeros((16, len(FULL_KIT)), np.int64)
    voice = {name: i for i, name in enumerate(FULL_KIT)}
    hits = {
        "kick": {0: 3, 3: 1, 6: 2, 8: 3, 10: 2},
        "snare": {4: 3, 7: 1, 12: 3, 15: 1},
        "clap": {12: 2},
        "hat": {0: 2, 2: 1, 4: 2, 6: 1, 8: 2, 10: 1},
        "open_hat": {14: 2},
        "high_tom": {13: 2},
        "mid_tom": {14: 2},
        "low_tom": {15: 3},
        "crash": {0: 3},
        "ride": {9: 1, 11: 1},
    }
    for name, steps in hits.items():
        for k, level in steps.items():
            grid[k, voice[name]] = level
    return grid


DRUM_KIT = Task(
    name="DrumKit",
    synthdefs=DRUM_LOOP.synthdefs,
    buffers=tuple(DATA / "kit" / f"{name}.wav" for name in FULL_KIT),
    one_shot_buffers=True,
    actions=kit_choices(),
    target=DATA / "targets" / "drum_kit.wav",
    bpm=120.0,
    steps=16,
    beats_per_step=0.25,
    reward="stft",  # the target is played on the agent's own kit; "kit_hits" for targets on other kits
    description="Imitate a drum loop on a ten-voice General MIDI kit with velocities, one 16th note a step.",
)
DRUM_KIT_PATTERN = _default_pattern()  # int64 (16, 10): the default target's levels

__all__ = ["DRUM_KIT", "DRUM_KIT_PATTERN", "FULL_KIT", "LEVELS", "MAX_LEVELS", "drum_kit_task", "kit_choices", "levels_of", "velocities"]
