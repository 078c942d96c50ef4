"""Tasks as data: the step grid, the instruments, and how an action becomes notes.

A `Task` says everything an environment needs and nothing about how it is rendered:
sample rate, tempo, steps, the SynthDefs and sound files, the action mapping and the target.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from gymnasium import spaces

from raveforce.errors import ArgumentError, InvalidActionError, UnknownOptionError


@dataclass(frozen=True)
class Note:
    """One synth started at a step's first sample: a SynthDef name and its control values."""

    synth: str
    controls: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, synth: str, **controls: float) -> Note:
        return cls(synth, tuple(sorted((k, float(v)) for k, v in controls.items())))


@dataclass(frozen=True)
class Control:
    """A synth control driven by one action dimension in [0, 1], scaled to [low, high].

    `scale="exp"` maps like SuperCollider's `x.linexp(0, 1, low, high)`; "lin" like `linlin`.
    """

    name: str
    low: float
    high: float
    scale: Literal["lin", "exp"] = "lin"

    def __post_init__(self) -> None:
        if self.scale not in ("lin", "exp"):
            raise ArgumentError(f"Control {self.name!r}: scale={self.scale!r} is not 'lin' or 'exp'")
        if self.scale == "exp" and (self.low <= 0 or self.high <= 0):
            raise ArgumentError(f"Control {self.name!r}: an exp scale needs low and high > 0, got {self.low}, {self.high}")

    def __call__(self, x: float) -> float:
        if self.scale == "exp":
            return self.low * (self.high / self.low) ** x
        return self.low + (self.high - self.low) * x


@dataclass(frozen=True)
class Choices:
    """A discrete action: action i plays the notes of `options[i]` (an empty tuple is a rest)."""

    options: tuple[tuple[Note, ...], ...]

    @property
    def space(self) -> spaces.Discrete:
        return spaces.Discrete(len(self.options))

    def notes(self, action) -> tuple[Note, ...]:
        return self.options[_check_discrete(action, len(self.options))]

    @cached_property
    def candidates(self) -> tuple[Note, ...]:
        """Every note some option may play, as often as one option plays it at most."""
        most: Counter[Note] = Counter()
        for option in self.options:
            most |= Counter(option)
        return tuple(note for note, count in most.items() for _ in range(count))


@dataclass(frozen=True)
class Controls:
    """A continuous action in [0, 1]^n: one note of `synth`, each dimension scaled into a control."""

    synth: str
    controls: tuple[Control, ...]
    fixed: tuple[tuple[str, float], ...] = ()

    @property
    def space(self) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (len(self.controls),), dtype=np.float32)

    def notes(self, action) -> tuple[Note, ...]:
        return self.play(_check_box(action, len(self.controls)))

    def play(self, x: np.ndarray) -> tuple[Note, ...]:
        """The notes of a float64 (n,) action already checked to lie in [0, 1]."""
        values = {c.name: c(float(v)) for c, v in zip(self.controls, x)}
        return (Note.of(self.synth, **dict(self.fixed), **values),)

    candidates = None  # not knowable before the action arrives


@dataclass(frozen=True)
class MultiChoices:
    """A MultiDiscrete action: dimension i picks an option of `parts[i]` (a `Choices`, option 0
    usually a rest) and the step plays the notes of every part's pick, e.g. one dimension per
    drum of a kit whose options are its velocities."""

    parts: tuple[Choices, ...]

    def __post_init__(self) -> None:
        if not self.parts or not all(isinstance(p, Choices) for p in self.parts):
            raise ArgumentError(f"MultiChoices needs one or more Choices, got {self.parts!r}")

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(p.options) for p in self.parts)

    @property
    def space(self) -> spaces.MultiDiscrete:
        return spaces.MultiDiscrete(self.sizes)

    def notes(self, action) -> tuple[Note, ...]:
        return self.play(_check_multi_discrete(action, self.sizes))

    def play(self, picks) -> tuple[Note, ...]:
        """The notes of one option per part (ints already checked to lie in range)."""
        return tuple(note for part, a in zip(self.parts, picks) for note in part.options[a])

    @cached_property
    def candidates(self) -> tuple[Note, ...]:
        """Every note some option may play, part by part."""
        return tuple(note for part in self.parts for note in part.candidates)


_INTEGERS = frozenset({int, np.int64, np.int32, np.uint8, np.int16, np.uint16, np.uint32, np.uint64, np.int8})


def _check_discrete(action, n: int) -> int:
    if type(action) in _INTEGERS and 0 <= action < n:  # the common case, checked fast
        return int(action)
    try:
        a = np.asarray(action)
    except (TypeError, ValueError) as exc:  # e.g. a ragged list
        raise InvalidActionError(f"action {action!r} is not one integer in Discrete({n}) (0 to {n - 1})") from exc
    # kind "iu": numpy integers, but not timedelta64 (a subtype of np.integer) or bool
    if a.shape != () or not (a.dtype.kind in "iu" or (a.dtype.kind == "f" and float(a).is_integer())):
        raise InvalidActionError(f"action {action!r} is not one integer in Discrete({n}) (0 to {n - 1})")
    if not 0 <= int(a) < n:
        raise InvalidActionError(f"action {int(a)} is outside Discrete({n}): valid actions are 0 to {n - 1}")
    return int(a)


def _check_multi_discrete(action, sizes: tuple[int, ...]) -> list[int]:
    valid = f"MultiDiscrete({list(sizes)}): {len(sizes)} integers, each from 0 to its size - 1"
    try:
        a = np.asarray(action)
    except (TypeError, ValueError) as exc:
        raise InvalidActionError(f"action {action!r} is not {valid}") from exc
    if a.shape != (len(sizes),) or not (a.dtype.kind in "iu" or (a.dtype.kind == "f" and np.all(np.mod(a, 1) == 0))):
        raise InvalidActionError(f"action {action!r} is not {valid}")
    picks = a.astype(np.int64).tolist()
    bad = [i for i, (x, n) in enumerate(zip(picks, sizes)) if not 0 <= x < n]
    if bad:
        raise InvalidActionError(f"action {picks} is outside {valid} (dimension {bad[0]}: {picks[bad[0]]})")
    return picks


def _check_box(action, n: int) -> np.ndarray:
    try:
        x = np.asarray(action)
        if x.dtype.kind not in "biuf":  # no complex, strings, dates or objects, even if they convert
            raise TypeError(f"dtype {x.dtype}")
        x = x.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidActionError(f"action {action!r} is not a number array of shape ({n},)") from exc
    if x.shape != (n,):
        raise InvalidActionError(f"action {action!r} has shape {x.shape}; expected ({n},) with values in [0, 1]")
    if not np.all(np.isfinite(x)):
        raise InvalidActionError(f"action {action!r} has NaN or inf; expected ({n},) values in [0, 1]")
    if np.any(x < 0) or np.any(x > 1):
        raise InvalidActionError(f"action {action!r} is outside [0, 1] in some dimension")
    return x


@dataclass(frozen=True)
class Task:
    """Everything an environment needs to know about a music task, as data.

    synthdefs: compiled SynthDefs (`.scsyndef` bytes, or objects with `.compile()` such as supriya's).
    buffers: sound files loaded as buffers 0, 1, ... before the first step (for PlayBuf).
    actions: how one step's action becomes notes (`Choices`, `MultiChoices` or `Controls`).
    target: the default target, a sound file (or None: the user must pass one).
    one_shot_buffers: True if the synths only play the buffers forward from their start, once
      (PlayBuf with rate > 0, no loop, freed at the end): each is then loaded without its trailing
      silence, which costs scsynth time and adds only zeros (`audio.sounding_frames`).
    Step k starts at sample round(k * step_seconds * sample_rate), rounded half up.
    """

    name: str
    synthdefs: tuple[bytes, ...]
    actions: Choices | Controls | MultiChoices
    buffers: tuple[Path, ...] = ()
    target: Path | None = None
    sample_rate: int = 44100
    bpm: float = 120.0
    steps: int = 16
    beats_per_step: float = 0.25
    reward: str = "mse"
    description: str = field(default="", compare=False)
    one_shot_buffers: bool = False  # last: the fields before it keep their positions

    def __post_init__(self) -> None:
        if not (isinstance(self.sample_rate, int) and 1000 <= self.sample_rate <= 768_000):
            raise ArgumentError(f"sample_rate={self.sample_rate!r} is not an integer from 1000 to 768000 Hz")
        if not (isinstance(self.steps, int) and not isinstance(self.steps, bool) and self.steps >= 1):
            raise ArgumentError(f"steps={self.steps!r} is not a whole number >= 1")
        if not isinstance(self.one_shot_buffers, bool):
            raise ArgumentError(f"one_shot_buffers={self.one_shot_buffers!r} is not True or False")
        for name in ("bpm", "beats_per_step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ArgumentError(f"{name}={value!r} is not a finite number > 0")
        shortest = int(np.diff(self.boundaries).min())
        if shortest < 128:
            raise ArgumentError(
                f"a step of {self.beats_per_step} beats at {self.bpm} BPM lasts {shortest} samples; "
                "steps must last at least 128 samples (lower the bpm)"
            )
        if self.total_samples > 60 * 60 * self.sample_rate:
            raise ArgumentError(f"an episode of {self.total_seconds:.0f} s is longer than an hour: lower steps or raise bpm")

    @property
    def step_seconds(self) -> float:
        return self.beats_per_step * 60.0 / self.bpm

    @cached_property
    def boundaries(self) -> np.ndarray:
        """int64 (steps + 1,): the first sample of every step, and the episode's length last."""
        k = np.arange(self.steps + 1)
        return np.floor(k * self.step_seconds * self.sample_rate + 0.5).astype(np.int64)

    @property
    def total_samples(self) -> int:
        return int(self.boundaries[-1])

    @property
    def total_seconds(self) -> float:
        return self.total_samples / self.sample_rate

    @property
    def action_space(self) -> spaces.Space:
        return self.actions.space

    def load_target(self, target=None) -> np.ndarray:
        """float32 (total_samples,): `target` (a path or (samples, rate)), else the task's own,
        as mono audio at the task's sample rate, cut or zero-padded to the episode."""
        from raveforce.audio import load_target
        from raveforce.errors import RaveForceError

        if target is None:
            if self.target is None:
                raise RaveForceError(f"task {self.name!r} has no default target: pass target=")
            target = self.target
        return load_target(target, sample_rate=self.sample_rate, length=self.total_samples)

    def compiled_synthdefs(self) -> list[bytes]:
        return [d if isinstance(d, bytes) else d.compile() for d in self.synthdefs]


def replace_options(task: Task, overrides: Mapping[str, object]) -> Task:
    """A copy of `task` with some fields replaced (unknown names rejected by name)."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(task)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise UnknownOptionError(f"unknown task option(s) {unknown}; valid: {sorted(names)}")
    return dataclasses.replace(task, **overrides)


__all__ = ["Choices", "Control", "Controls", "MultiChoices", "Note", "Task", "replace_options"]
