"""The built-in tasks (the paper's section 5.2), as data."""

from __future__ import annotations

from pathlib import Path

from raveforce.task import Choices, Control, Controls, Note, Task

DATA = Path(__file__).parent / "data"
KIT = ("kick", "snare", "hat")  # buffer numbers 0, 1, 2; action bits 1, 2, 4
DRUM_LOOP_PATTERN = (5, 0, 4, 0, 6, 0, 4, 1, 5, 0, 5, 0, 6, 0, 4, 2)  # the default target's actions


def _synthdef(name: str) -> bytes:
    return (DATA / "synthdefs" / f"{name}.scsyndef").read_bytes()


def drum_choices(kit_size: int = len(KIT)) -> Choices:
    """Action a plays drum i when bit i of a is set: 2**kit_size actions, 0 is a rest."""
    return Choices(
        tuple(
            tuple(Note.of("drum", buf=i) for i in range(kit_size) if action >> i & 1)
            for action in range(2**kit_size)
        )
    )


DRUM_LOOP = Task(
    name="DrumLoop",
    synthdefs=(_synthdef("drum"),),
    buffers=tuple(DATA / "kit" / f"{name}.wav" for name in KIT),
    actions=drum_choices(),
    target=DATA / "targets" / "drum_loop.wav",
    bpm=120.0,
    steps=16,
    beats_per_step=0.25,
    reward="mfcc",
    description="Imitate a drum loop with kick, snare and closed hi-hat samples, one 16th note a step.",
)

KICK_FREQUENCY = Task(
    name="KickFrequency",
    synthdefs=(_synthdef("sine_perc"),),
    actions=Controls("sine_perc", (Control("freq", 20.0, 22000.0, "exp"),)),
    target=DATA / "kit" / "kick.wav",
    bpm=120.0,
    steps=1,
    beats_per_step=1.0,
    reward="stft",
    description="Find the frequency of a sine under a fixed percussive envelope that best imitates a kick.",
)
