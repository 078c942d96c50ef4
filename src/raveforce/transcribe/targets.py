"""What the transcription envs transcribe: their tasks, and the targets drawn at every reset (random
drum patterns on the shipped kit or on kits of the family, sine kicks) or given by the user."""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from raveforce.errors import ArgumentError, TargetError
from raveforce.task import Task
from raveforce.tasks import DRUM_KIT, DRUM_LOOP, FULL_KIT, KICK_FREQUENCY, levels_of

DRUM_TRANSCRIBE = dataclasses.replace(
    DRUM_LOOP,
    name="DrumTranscribe",
    reward="stft",  # the target is made with the agent's own kit, so the paper's criteria are exact; 0.4 ms to set up
    description="Transcribe a new 16-step drum pattern on the shipped kit every episode.",
)
KICK_TRANSCRIBE = dataclasses.replace(
    KICK_FREQUENCY,
    name="KickTranscribe",
    description="Find the frequency of a new sine kick every episode.",
)
DRUM_KIT_TRANSCRIBE = dataclasses.replace(
    DRUM_KIT,
    name="DrumKitTranscribe",
    description="Transcribe a new drum pattern on the ten-voice kit, with velocities, every episode.",
)
DENSITY = 0.3  # default chance that a drum hits on a step
KIT_DENSITY = (0.25, 0.2, 0.05, 0.4, 0.08, 0.04, 0.04, 0.04, 0.04, 0.1)  # DrumKitTranscribe's, per voice of FULL_KIT
FREQUENCY_RANGE = (30.0, 2000.0)  # Hz, KickTranscribe's drawn frequencies (log-uniform)
SINE_PERC = {"amp": 0.5, "attack": 0.01, "release": 0.49}  # the sine_perc synth's defaults


def draw_pattern(rng: np.random.Generator, *, steps: int = 16, kit_size: int = 3, density: float | Sequence[float] = DENSITY) -> np.ndarray:
    """int64 (steps,): drum-loop actions, drum i hitting on each step with chance density[i]."""
    p = np.broadcast_to(np.asarray(density, dtype=np.float64), (kit_size,))
    hits = rng.random((steps, kit_size)) < p
    return (hits * (1 << np.arange(kit_size))).sum(axis=1).astype(np.int64)


def groove_bar(rng: np.random.Generator) -> list[int]:
    """16 drum-loop actions (bits: 1 kick, 2 snare, 4 hat): one bar of a plausible groove (kick on
    the one, mostly on the three, sometimes four on the floor; snare on the backbeat; hats on 8ths,
    16ths, offbeats or none; a few extra hits)."""
    bar = [0] * 16
    hats = rng.choice(["8ths", "16ths", "offbeats", "none"])
    four_on_floor = rng.random() < 0.3
    for k in range(16):
        if k == 0 or (k == 8 and rng.random() < 0.8) or (four_on_floor and k % 4 == 0):
            bar[k] |= 1
        elif k % 2 == 0 and rng.random() < 0.15 or rng.random() < 0.04:
            bar[k] |= 1
        if k in (4, 12) and rng.random() < 0.9 or rng.random() < 0.04:
            bar[k] |= 2
        on = {"8ths": k % 2 == 0, "16ths": True, "offbeats": k % 4 == 2, "none": False}[hats]
        if on and rng.random() > 0.1:
            bar[k] |= 4
    return bar


def groove_pattern(rng: np.random.Generator, bars: int = 1) -> list[int]:
    """16 * bars actions: one `groove_bar` repeated, the last bar a new one with chance 1/2 (a fill
    or a variation)."""
    first = groove_bar(rng)
    return [a for b in range(bars) for a in (first if b < bars - 1 or rng.random() < 0.5 else groove_bar(rng))]


def draw_grid(rng: np.random.Generator, *, steps: int, levels: int, density: Sequence[float] = KIT_DENSITY) -> np.ndarray:
    """int64 (steps, voices): voice v hits on each step with chance density[v], at a level drawn uniformly from 1..levels."""
    p = np.asarray(density, dtype=np.float64)
    hits = rng.random((steps, len(p))) < p
    return np.where(hits, rng.integers(1, levels + 1, (steps, len(p))), 0).astype(np.int64)


def groove_grid(rng: np.random.Generator, *, bars: int = 1, levels: int = 3) -> np.ndarray:
    """int64 (16 * bars, 10): a plausible groove on the ten-voice kit, levels of `levels`: a
    `groove_bar` with its hats accented on the beat (or a ride pattern instead), the kick
    accented on the one and three, ghost snares, sometimes a clap on the backbeat and an open
    hat on an offbeat; a crash on the one with chance 1/2 and a tom fill in the last beat with
    chance 1/2."""
    kick, snare, clap, hat, open_hat, low_tom, mid_tom, high_tom, crash, ride = range(len(FULL_KIT))
    soft, medium, hard = (max(1, round(level * levels / 3)) for level in (1, 2, 3))
    bar = np.zeros((16, len(FULL_KIT)), np.int64)
    cymbal = ride if rng.random() < 0.3 else hat
    for k, action in enumerate(groove_bar(rng)):
        bar[k, kick] = (hard if k % 8 == 0 else medium) if action & 1 else 0
        bar[k, snare] = hard if action & 2 else (soft if rng.random() < 0.08 else 0)
        bar[k, cymbal] = (medium if k % 4 == 0 else soft) if action & 4 else 0
    if rng.random() < 0.2:
        bar[:, clap] = np.where(bar[:, snare] == hard, medium, 0)
    if cymbal == hat and rng.random() < 0.4:
        k = int(rng.choice([2, 6, 10, 14]))
        bar[k, hat], bar[k, open_hat] = 0, medium
    grid = np.tile(bar, (bars, 1))
    if rng.random() < 0.5:
        grid[0, [hat, ride]] = 0
        grid[0, crash] = hard
    if rng.random() < 0.5:
        fills = ((high_tom, high_tom, mid_tom, low_tom), (snare, high_tom, mid_tom, low_tom), (high_tom, mid_tom, low_tom, low_tom), (snare, snare, mid_tom, low_tom))
        fill = fills[int(rng.integers(len(fills)))]
        grid[-4:, [snare, clap, hat, open_hat, ride]] = 0
        for k, voice in enumerate(fill):
            grid[len(grid) - 4 + k, voice] = hard if k == 3 else medium
    return grid


def shuffle_grid(grid: np.ndarray) -> np.ndarray:
    """int64 (3 * beats, voices): a grid of 16ths (4 * beats, voices) as a shuffle on 8th-note
    triplets: each beat's 8th notes on its first and third triplet, its other 16ths dropped."""
    beats = np.asarray(grid, np.int64).reshape(-1, 4, grid.shape[-1])
    out = np.zeros((len(beats), 3, grid.shape[-1]), np.int64)
    out[:, 0], out[:, 2] = beats[:, 0], beats[:, 2]
    return out.reshape(-1, grid.shape[-1])


def mix_grids(task: Task, grids) -> np.ndarray:
    """float32 (n, task.total_samples): n MultiDiscrete patterns (n, steps, parts) of a task whose
    notes are `drum` one-shots, mixed from its samples (times each note's amp) in numpy."""
    kit = kit_samples(task.buffers, task.sample_rate)
    grids = np.asarray(grids, dtype=np.int64).reshape(-1, task.steps, len(task.actions.parts))
    out = np.empty((len(grids), task.total_samples), np.float32)
    row = np.empty(task.total_samples, np.float64)
    for j, grid in enumerate(grids):
        row[:] = 0.0
        for k, action in enumerate(grid):
            start = int(task.boundaries[k])
            for note in task.actions.play(action.tolist()):
                controls = dict(note.controls)
                sample = kit[int(controls["buf"])]
                n = min(len(sample), len(row) - start)
                row[start : start + n] += sample[:n] * controls.get("amp", 1.0)
        out[j] = row
    return out


@lru_cache(maxsize=8)
def kit_samples(buffers: tuple[Path, ...], sample_rate: int) -> tuple[np.ndarray, ...]:
    """The task's drum samples as float32 arrays at `sample_rate` (read once)."""
    import soundfile

    from raveforce.audio import load_target

    return tuple(load_target(p, sample_rate=sample_rate, length=soundfile.info(p).frames) for p in buffers)


def mix_pattern(task: Task, pattern: Sequence[int]) -> np.ndarray:
    """float32 (task.total_samples,): the drum pattern mixed from the kit samples in numpy."""
    return mix_patterns(task, [pattern])[0]


def mix_patterns(task: Task, patterns) -> np.ndarray:
    """float32 (n, task.total_samples): n drum patterns (n, steps) mixed from the kit samples."""
    kit = kit_samples(task.buffers, task.sample_rate)
    patterns = np.asarray(patterns, dtype=np.int64).reshape(-1, task.steps)
    out = np.empty((len(patterns), task.total_samples), np.float32)
    row = np.empty(task.total_samples, np.float64)  # one row summed at a time: small enough to stay in cache
    for j, pattern in enumerate(patterns.tolist()):
        row[:] = 0.0
        for k, action in enumerate(pattern):
            start = int(task.boundaries[k])
            for i, sample in enumerate(kit):
                if action >> i & 1:
                    n = min(len(sample), len(row) - start)
                    row[start : start + n] += sample[:n]
        out[j] = row
    return out


def sine_kick(task: Task, frequency: float) -> np.ndarray:
    """float32 (task.total_samples,): the sine_perc synth at `frequency` Hz in numpy
    (Env.perc, curve -4): within 0.03 of scsynth's render in the 10 ms attack
    (scsynth's envelope runs at control rate), within 0.004 after."""
    sr = task.sample_rate
    t = np.arange(task.total_samples) / sr
    attack, release = SINE_PERC["attack"], SINE_PERC["release"]
    curve = lambda x: (1 - np.exp(-4.0 * x)) / (1 - np.exp(-4.0))
    rise = curve(np.clip(t / attack, 0, 1))
    fall = 1 - curve(np.clip((t - attack) / release, 0, 1))
    envelope = np.where(t < attack, rise, fall)
    return (np.sin(2 * np.pi * frequency * t) * envelope * SINE_PERC["amp"]).astype(np.float32)


def frequency_action(task: Task, frequency: float) -> np.ndarray:
    """float32 (1,): the KickFrequency action that plays `frequency` Hz."""
    control = task.actions.controls[0]
    return np.array([math.log(frequency / control.low) / math.log(control.high / control.low)], np.float32)


def load_given_target(task: Task, target) -> np.ndarray:
    """float32 (total_samples,): a user's target; a warning says so when it is cut or padded.
    A float32 (total_samples,) array at the task's rate is checked and returned as it is (the
    caller's own array: copy it to keep it)."""
    if (
        isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], np.ndarray) and target[0].dtype == np.float32
        and target[0].shape == (task.total_samples,) and isinstance(target[1], (int, np.integer)) and target[1] == task.sample_rate
    ):  # fmt: skip
        if not np.isfinite(target[0]).all():
            raise TargetError("target array contains NaN or infinite samples")
        return target[0]
    seconds = None
    if isinstance(target, (str, os.PathLike)):
        import soundfile

        try:
            info = soundfile.info(os.fspath(target))
            seconds = info.frames / info.samplerate
        except (OSError, RuntimeError, soundfile.LibsndfileError):
            seconds = None  # load_target below raises the clear error
    elif isinstance(target, tuple) and len(target) == 2 and isinstance(target[1], (int, np.integer)) and target[1] > 0:
        seconds = len(np.asarray(target[0])) / int(target[1])
    audio = task.load_target(target)
    if seconds is not None and abs(seconds - task.total_seconds) * task.sample_rate >= 1:
        how = "cut" if seconds > task.total_seconds else "padded with silence"
        warnings.warn(
            f"the target lasts {seconds:.3f} s but an episode lasts {task.total_seconds:.3f} s "
            f"({task.steps} steps at {task.bpm:g} BPM): it was {how} to the episode",
            stacklevel=3,
        )
    return audio


class Drawer:
    """Draws an episode's target: `draw(rng) -> (audio (total_samples,) float32, info dict)`."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        """One draw of `draw_many`, for drawers that draw in batches."""
        audio, info = self.draw_many(rng, 1)
        return audio[0], {key: value[0] for key, value in info.items()}


class PatternDrawer(Drawer):
    """A random drum pattern on the task's kit; info["target_pattern"] holds its actions."""

    def __init__(self, task: Task, density: float | Sequence[float] = DENSITY) -> None:
        super().__init__(task)
        p = np.asarray(density, dtype=np.float64)
        if p.ndim > 1 or (p.ndim == 1 and len(p) != len(task.buffers)) or not np.all((p >= 0) & (p <= 1)):
            raise ArgumentError(f"density={density!r} is not a chance in [0, 1], or one per drum ({len(task.buffers)})")
        self.density = density

    def draw_many(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, dict]:
        """float32 (count, total_samples) and info["target_pattern"] int64 (count, steps): `count`
        draws in one go (the same random numbers as `count` calls of `draw`)."""
        patterns = np.stack([draw_pattern(rng, steps=self.task.steps, kit_size=len(self.task.buffers), density=self.density) for _ in range(count)])
        return mix_patterns(self.task, patterns), {"target_pattern": patterns}


class GridDrawer(Drawer):
    """A pattern on the ten-voice kit (`draw_grid` with per-voice `density`, or `groove_grid`
    with patterns="grooves"), mixed from the kit's samples; info["target_pattern"] (steps, 10)."""

    def __init__(self, task: Task, patterns: str = "random", density: Sequence[float] = KIT_DENSITY) -> None:
        super().__init__(task)
        parts = len(task.actions.parts)
        p = np.asarray(density, dtype=np.float64)
        if p.shape != (parts,) or not np.all((p >= 0) & (p <= 1)):
            raise ArgumentError(f"density={density!r} is not one chance in [0, 1] per voice ({parts})")
        if patterns not in ("random", "grooves"):
            raise ArgumentError(f"patterns={patterns!r} is not 'random' or 'grooves'")
        if patterns == "grooves" and (task.steps % 16 or task.beats_per_step != 0.25):
            raise ArgumentError(f"patterns='grooves' are bars of 16ths: {task.steps} steps of {task.beats_per_step:g} beats are not")
        self.patterns, self.density = patterns, p

    def draw_many(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, dict]:
        levels = levels_of(self.task)
        if self.patterns == "grooves":
            grids = [groove_grid(rng, bars=self.task.steps // 16, levels=levels) for _ in range(count)]
        else:
            grids = [draw_grid(rng, steps=self.task.steps, levels=levels, density=self.density) for _ in range(count)]
        grids = np.stack(grids)
        return mix_grids(self.task, grids), {"target_pattern": grids}


def kit_seeds(kits_option) -> Sequence[int]:
    """The kit seeds of `kits=`: a split name of `raveforce.kits.SPLITS` or a sequence of seeds."""
    from raveforce import kits as kit_family

    if isinstance(kits_option, str):
        if kits_option not in kit_family.SPLITS:
            raise ArgumentError(
                f"kits={kits_option!r} is not a split {sorted(kit_family.SPLITS)} of the kit family, 'hydrogen:' and a split or "
                "kit names (Hydrogen's sampled kits), nor a sequence of kit seeds"
            )
        return kit_family.SPLITS[kits_option]
    if not isinstance(kits_option, Sequence) or len(kits_option) == 0:
        raise ArgumentError(f"kits={kits_option!r} is not a split {sorted(kit_family.SPLITS)} nor a non-empty sequence of kit seeds")
    bad = [s for s in kits_option if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0]
    if bad:
        raise ArgumentError(f"kits={list(kits_option)!r}: {bad!r} are not kit seeds (integers >= 0; splits: {sorted(kit_family.SPLITS)})")
    return tuple(int(s) for s in kits_option)


@lru_cache(maxsize=256)
def family_kit(seed: int):
    """`raveforce.kits.draw(seed)`, drawn once per kit."""
    from raveforce import kits as kit_family

    return kit_family.draw(seed)


class KitPatternDrawer(PatternDrawer):
    """A random drum pattern played on a kit drawn from the kit family and rendered by scsynth
    with the kit's rendition (`raveforce.kits.render_loops`); info["target_pattern"] (actions),
    ["target_kit"] (the kit's seed), ["target_loop_seed"] (the seed of its velocities and jitter). `draw_many` renders a batch in one scsynth run per mix rate."""

    def __init__(self, task: Task, kits, density: float | Sequence[float] = DENSITY) -> None:
        super().__init__(task, density)
        self.seeds = kit_seeds(kits)

    def draw_many(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, dict]:
        """float32 (count, total_samples) and info arrays of `count` rows."""
        from raveforce import kits as kit_family

        seeds = np.array([self.seeds[int(i)] for i in rng.integers(0, len(self.seeds), count)], np.int64)
        patterns = np.stack([draw_pattern(rng, steps=self.task.steps, kit_size=len(self.task.buffers), density=self.density) for _ in range(count)])
        hit_seeds = rng.integers(0, 2**31, count)
        loops = [(family_kit(int(k)), p, int(h)) for k, p, h in zip(seeds, patterns, hit_seeds)]
        return kit_family.render_loops(loops, self.task), {"target_pattern": patterns, "target_kit": seeds, "target_loop_seed": hit_seeds}


HYDROGEN = "hydrogen:"  # kits="hydrogen:train" or "hydrogen:GMRockKit,TR808EmulationKit": Hydrogen's sampled kits


def sampled_kits(kits_option: str) -> str | tuple[str, ...]:
    """The split name or kit names of a `kits="hydrogen:..."` option; an installed kit with a
    kick, a snare and a hat is required (HydrogenKitError names the package to install)."""
    from raveforce.kits import hydrogen, sampled

    spec = kits_option[len(HYDROGEN) :]
    chosen: str | tuple[str, ...] = spec if spec in hydrogen.SPLITS else tuple(n.strip() for n in spec.split(",") if n.strip())
    if not chosen:
        raise ArgumentError(f"kits={kits_option!r} names no kit: use 'hydrogen:' and a split {sorted(hydrogen.SPLITS)} or kit names separated by commas")
    sampled.draw(0, chosen)  # fails now, before scsynth starts, when the kits are not there
    return chosen


class SampledPatternDrawer(PatternDrawer):
    """A random drum pattern played on Hydrogen's sampled kits with a rendition, rendered by
    scsynth (`raveforce.kits.sampled`); info["target_pattern"] (actions), ["target_kit"] (the
    drums' seed for `sampled.draw`), ["target_loop_seed"]."""

    def __init__(self, task: Task, kits_option: str, density: float | Sequence[float] = DENSITY) -> None:
        super().__init__(task, density)
        self.kits = sampled_kits(kits_option)

    def draw_many(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, dict]:
        from raveforce.kits import sampled

        seeds = rng.integers(0, 2**31, count)
        patterns = np.stack([draw_pattern(rng, steps=self.task.steps, kit_size=len(self.task.buffers), density=self.density) for _ in range(count)])
        hit_seeds = rng.integers(0, 2**31, count)
        loops = [(sampled.draw(int(s), self.kits), p, int(h)) for s, p, h in zip(seeds, patterns, hit_seeds)]
        return sampled.render_loops(loops, self.task), {"target_pattern": patterns, "target_kit": seeds, "target_loop_seed": hit_seeds}


class FrequencyDrawer(Drawer):
    """A sine kick at a log-uniform frequency; info["target_frequency"] (Hz), ["target_action"]."""

    def __init__(self, task: Task, frequency_range: tuple[float, float] = FREQUENCY_RANGE) -> None:
        super().__init__(task)
        lo, hi = (float(f) for f in frequency_range)
        control = task.actions.controls[0]
        if not control.low <= lo < hi <= control.high:
            raise ArgumentError(f"frequency_range={frequency_range!r} is not (low, high) within {control.low:g}-{control.high:g} Hz")
        self.frequency_range = (lo, hi)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        lo, hi = self.frequency_range
        f = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        return sine_kick(self.task, f), {"target_frequency": f, "target_action": frequency_action(self.task, f)}


def pattern_drawer(density, kits):
    """The drawer factory of DrumTranscribe: the shipped kit (kits=None), Hydrogen's sampled kits
    (kits="hydrogen:..."), or the kit family."""
    if kits is None:
        return lambda task: PatternDrawer(task, density)
    if isinstance(kits, str) and kits.startswith(HYDROGEN):
        sampled_kits(kits)  # a bad value fails here, before scsynth starts
        return lambda task: SampledPatternDrawer(task, kits, density)
    kit_seeds(kits)  # a bad value fails here, before scsynth starts
    return lambda task: KitPatternDrawer(task, kits, density)
