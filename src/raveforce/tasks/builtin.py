"""The built-in tasks, as data: the paper's two (section 5.2) and the suite beyond it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from raveforce.task import Choices, Control, Controls, Note, Task

DATA = Path(__file__).resolve().parents[1] / "data"
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
    one_shot_buffers=True,  # the drum synth: PlayBuf from the start, freed at the end
    actions=drum_choices(),
    target=DATA / "targets" / "drum_loop.wav",
    bpm=120.0,
    steps=16,
    beats_per_step=0.25,
    reward="hits",  # docs/benchmarks/rewards.md, "Kit family": best on loops of unheard kits (dev split)
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
    reward="steady_ot",  # docs/benchmarks/rewards.md, "Kit family": the pitch a swept kick settles on, 100% of dev kicks
    description="Find the frequency of a sine under a fixed percussive envelope that best imitates a kick.",
)


# --- the task suite beyond the paper ----------------------------------------------------------


def midi_hz(midi: float) -> float:
    """The frequency in Hz of a MIDI note number (69 = A4 = 440 Hz), equal temperament."""
    return 440.0 * 2.0 ** ((midi - 69) / 12)


KICK_MATCH = Task(
    name="KickMatch",
    synthdefs=(_synthdef("kick"),),
    actions=Controls(
        "kick",
        (
            Control("freq", 20.0, 200.0, "exp"),  # Hz, where the sweep ends
            Control("sweep", 40.0, 2000.0, "exp"),  # Hz, where it starts
            Control("sweep_time", 0.002, 0.5, "exp"),  # s
            Control("attack", 0.0005, 0.1, "exp"),  # s
            Control("decay", 0.02, 2.0, "exp"),  # s
        ),
    ),
    target=DATA / "kit" / "kick.wav",
    bpm=120.0,
    steps=1,
    beats_per_step=1.0,
    reward="mfcc",
    description="Imitate the kit's kick with a swept sine: end and start frequency, sweep time, attack, decay.",
)

KICK_MATCH_PARAMETERS = {"freq": 48.0, "sweep": 180.0, "sweep_time": 0.03, "attack": 0.002, "decay": 0.45}  # the kit's


def _inverse(control: Control, value: float) -> float:
    """The action x in [0, 1] that `control` maps to `value`."""
    if control.scale == "exp":
        return float(np.log(value / control.low) / np.log(control.high / control.low))
    return (value - control.low) / (control.high - control.low)


def optimum(task: Task, parameters: dict[str, float]) -> np.ndarray:
    """float32 (n,): the continuous action of `task` that plays `parameters` (to float32 precision)."""
    return np.array([_inverse(c, parameters[c.name]) for c in task.actions.controls], dtype=np.float32)


KICK_MATCH_OPTIMUM = optimum(KICK_MATCH, KICK_MATCH_PARAMETERS)

FM_TONE = Task(
    name="FMTone",
    synthdefs=(_synthdef("fm"),),
    actions=Controls(
        "fm",
        (
            Control("carrier", 0.5, 4.0, "exp"),  # carrier frequency / 220 Hz
            Control("modulator", 0.25, 8.0, "exp"),  # modulator frequency / 220 Hz
            Control("index", 0.0, 10.0, "lin"),  # modulation index, radians
            Control("attack", 0.001, 0.1, "exp"),  # s
            Control("decay", 0.05, 2.0, "exp"),  # s
        ),
        fixed=(("freq", 220.0),),
    ),
    target=DATA / "targets" / "fm_tone.wav",
    bpm=120.0,
    steps=1,
    beats_per_step=1.0,
    reward="mfcc",
    description="Find the carrier and modulator ratios, index and envelope of a hidden two-operator FM tone.",
)
FM_TONE_PARAMETERS = {"carrier": 1.0, "modulator": 3.0, "index": 2.5, "attack": 0.005, "decay": 0.4}
FM_TONE_OPTIMUM = optimum(FM_TONE, FM_TONE_PARAMETERS)  # the target plays it

BASS_LOW, BASS_HIGH = 28, 51  # MIDI E1 to D#3
BASS_CUTOFF = 800.0  # Hz, the default task's single cutoff


def bass_choices(low: int = BASS_LOW, high: int = BASS_HIGH, cutoffs: tuple[float, ...] = (BASS_CUTOFF,)) -> Choices:
    """Action 0 rests; action 1 + (m - low) * len(cutoffs) + c plays MIDI note m (low..high)
    through the low-pass at cutoffs[c] Hz: 1 + (high - low + 1) * len(cutoffs) actions."""
    return Choices(((),) + tuple((Note.of("bass", freq=midi_hz(m), cutoff=c),) for m in range(low, high + 1) for c in cutoffs))


def bass_action(midi: int | None, cutoff: int = 0, *, low: int = BASS_LOW, n_cutoffs: int = 1) -> int:
    """The `bass_choices` action of MIDI note `midi` (None: rest) with cutoff index `cutoff`."""
    return 0 if midi is None else 1 + (midi - low) * n_cutoffs + cutoff


# A1 . A1 A2 . A1 C2 . D2 . D2 D3 E2 . G2 E2 (MIDI; None rests): the default target's notes.
BASS_LINE_PATTERN = (33, None, 33, 45, None, 33, 36, None, 38, None, 38, 50, 40, None, 43, 40)

BASS_LINE = Task(
    name="BassLine",
    synthdefs=(_synthdef("bass"),),
    actions=bass_choices(),
    target=DATA / "targets" / "bass_line.wav",
    bpm=120.0,
    steps=16,
    beats_per_step=0.25,
    reward="stft",
    description="Imitate a 16-step bass line on a saw bass through a resonant low-pass, one 16th note a step.",
)

MELODY_LOW, MELODY_HIGH = 60, 83  # MIDI C4 to B5


def melody_choices(low: int = MELODY_LOW, high: int = MELODY_HIGH) -> Choices:
    """Action 0 rests; action 1 + m - low plays MIDI note m (low..high) on the voice."""
    return Choices(((),) + tuple((Note.of("voice", freq=midi_hz(m)),) for m in range(low, high + 1)))


# G4 . C5 E5 G5 E5 C5 . D5 F5 . D5 B4 . G4 C5 (MIDI; None rests): the default target's notes.
MELODY_PATTERN = (67, None, 72, 76, 79, 76, 72, None, 74, 77, None, 74, 71, None, 67, 72)

MELODY = Task(
    name="Melody",
    synthdefs=(_synthdef("voice"),),
    actions=melody_choices(),
    target=DATA / "targets" / "melody.wav",
    bpm=120.0,
    steps=16,
    beats_per_step=0.25,
    reward="stft",
    description="Imitate a 16-step melody on a simple voice (sine and soft harmonics), one 16th note a step.",
)


def melody_action(midi: int | None, *, low: int = MELODY_LOW) -> int:
    """The `melody_choices` action of MIDI note `midi` (None: rest)."""
    return 0 if midi is None else 1 + midi - low


__all__ = ["BASS_CUTOFF", "BASS_HIGH", "BASS_LOW", "BASS_LINE", "BASS_LINE_PATTERN", "DATA", "DRUM_LOOP", "DRUM_LOOP_PATTERN", "FM_TONE", "FM_TONE_OPTIMUM", "FM_TONE_PARAMETERS", "KICK_FREQUENCY", "KICK_MATCH", "KICK_MATCH_OPTIMUM", "KICK_MATCH_PARAMETERS", "KIT", "MELODY", "MELODY_HIGH", "MELODY_LOW", "MELODY_PATTERN", "bass_action", "bass_choices", "drum_choices", "melody_action", "melody_choices", "midi_hz", "optimum"]
