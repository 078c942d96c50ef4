"""Target-conditioned environments: every `reset()` draws a new target, so one policy can learn
to transcribe any of them (`raveforce/DrumTranscribe-v0`, `raveforce/KickTranscribe-v0`).

    env = gym.make("raveforce/DrumTranscribe-v0")
    obs, info = env.reset(seed=0)             # obs["audio"], obs["target"]: (88200,) float32
    info["target_pattern"]                    # the 16 actions the target was made of
    env.reset(options={"target": "loop.wav"}) # or (samples, sample_rate): a target of your own

Drawn drum targets are mixed in numpy from the kit's samples at the step boundaries (equal to
scsynth's render of the same pattern to 1e-7), so drawing costs no render.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from raveforce import rewards
from raveforce.env import RaveForceEnv
from raveforce.errors import ArgumentError, TargetError
from raveforce.task import Task
from raveforce.tasks import DRUM_LOOP, KICK_FREQUENCY
from raveforce.vector import RaveForceVectorEnv

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
DENSITY = 0.3  # default chance that a drum hits on a step
FREQUENCY_RANGE = (30.0, 2000.0)  # Hz, KickTranscribe's drawn frequencies (log-uniform)
SINE_PERC = {"amp": 0.5, "attack": 0.01, "release": 0.49}  # the sine_perc synth's defaults
TEMPO_LIMITS = (30.0, 300.0)  # BPM a tempo range may span (16th-note steps of 2205 to 22050 samples)


# --- tempo ranges -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TempoRange:
    """A tempo drawn uniformly from [low, high] BPM at every reset. The env is built at `low`
    (the longest episode), so its observations keep one length: shorter episodes are
    zero-padded to it."""

    low: float
    high: float

    @classmethod
    def parse(cls, bpm) -> TempoRange:
        """The range of `bpm=(low, high)`; ArgumentError naming the valid values otherwise."""
        lo_limit, hi_limit = TEMPO_LIMITS
        numbers = isinstance(bpm, (tuple, list)) and len(bpm) == 2 and all(
            isinstance(b, (int, float, np.integer, np.floating)) and not isinstance(b, (bool, np.bool_)) and math.isfinite(b) for b in bpm
        )
        if not numbers or not lo_limit <= bpm[0] < bpm[1] <= hi_limit:
            raise ArgumentError(
                f"bpm={bpm!r} is neither a tempo (a number) nor a tempo range (low, high) with "
                f"{lo_limit:g} <= low < high <= {hi_limit:g} BPM, e.g. bpm=(90, 140)"
            )
        return cls(float(bpm[0]), float(bpm[1]))

    def draw(self, rng: np.random.Generator, bpm=None) -> float:
        """A tempo from the range, or `bpm` (reset option) if it lies within it."""
        if bpm is None:
            return float(rng.uniform(self.low, self.high))
        if isinstance(bpm, bool) or not isinstance(bpm, (int, float, np.integer, np.floating)) or not self.low <= bpm <= self.high:
            raise ArgumentError(f"reset option bpm={bpm!r} is outside this env's tempo range {self.low:g}-{self.high:g} BPM")
        return float(bpm)


def split_bpm(bpm, kwargs: dict) -> TempoRange | None:
    """A tempo range for `bpm=(low, high)` (kwargs get bpm=low); a number goes on as a task
    option (kwargs["bpm"]); None leaves the task's."""
    if bpm is None:
        return None
    if isinstance(bpm, (int, float, np.integer, np.floating)) and not isinstance(bpm, bool):
        kwargs["bpm"] = bpm
        return None
    tempo = TempoRange.parse(bpm)
    kwargs["bpm"] = tempo.low
    return tempo


def check_retimable(renderer, task: Task, tempo: TempoRange) -> None:
    """Raise ArgumentError unless `renderer` (built for `task` at tempo.low) plays the whole range."""
    if not hasattr(renderer, "retime"):
        raise ArgumentError(f"renderer {renderer!r} has no retime(task): a tempo range needs one (use renderer='auto')")
    renderer.retime(dataclasses.replace(task, bpm=tempo.high))  # the fastest tempo: the shortest steps
    renderer.retime(task)


# --- drawing targets --------------------------------------------------------------------------


def draw_pattern(rng: np.random.Generator, *, steps: int = 16, kit_size: int = 3, density: float | Sequence[float] = DENSITY) -> np.ndarray:
    """int64 (steps,): drum-loop actions, drum i hitting on each step with chance density[i]."""
    p = np.broadcast_to(np.asarray(density, dtype=np.float64), (kit_size,))
    hits = rng.random((steps, kit_size)) < p
    return (hits * (1 << np.arange(kit_size))).sum(axis=1).astype(np.int64)


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


class PatternDrawer(Drawer):
    """A random drum pattern on the task's kit; info["target_pattern"] holds its actions."""

    def __init__(self, task: Task, density: float | Sequence[float] = DENSITY) -> None:
        super().__init__(task)
        p = np.asarray(density, dtype=np.float64)
        if p.ndim > 1 or (p.ndim == 1 and len(p) != len(task.buffers)) or not np.all((p >= 0) & (p <= 1)):
            raise ArgumentError(f"density={density!r} is not a chance in [0, 1], or one per drum ({len(task.buffers)})")
        self.density = density

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        audio, info = self.draw_many(rng, 1)
        return audio[0], {"target_pattern": info["target_pattern"][0]}

    def draw_many(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, dict]:
        """float32 (count, total_samples) and info["target_pattern"] int64 (count, steps): `count`
        draws in one go (the same random numbers as `count` calls of `draw`)."""
        patterns = np.stack([draw_pattern(rng, steps=self.task.steps, kit_size=len(self.task.buffers), density=self.density) for _ in range(count)])
        return mix_patterns(self.task, patterns), {"target_pattern": patterns}


def kit_seeds(kits_option) -> Sequence[int]:
    """The kit seeds of `kits=`: a split name of `raveforce.kits.SPLITS` or a sequence of seeds."""
    from raveforce import kits as kit_family

    if isinstance(kits_option, str):
        if kits_option not in kit_family.SPLITS:
            raise ArgumentError(f"kits={kits_option!r} is not a split {sorted(kit_family.SPLITS)} nor a sequence of kit seeds")
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

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        audio, info = self.draw_many(rng, 1)
        return audio[0], {key: value[0] for key, value in info.items()}

    def draw_many(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, dict]:
        """float32 (count, total_samples) and info arrays of `count` rows."""
        from raveforce import kits as kit_family

        seeds = np.array([self.seeds[int(i)] for i in rng.integers(0, len(self.seeds), count)], np.int64)
        patterns = np.stack([draw_pattern(rng, steps=self.task.steps, kit_size=len(self.task.buffers), density=self.density) for _ in range(count)])
        hit_seeds = rng.integers(0, 2**31, count)
        loops = [(family_kit(int(k)), p, int(h)) for k, p, h in zip(seeds, patterns, hit_seeds)]
        return kit_family.render_loops(loops, self.task), {"target_pattern": patterns, "target_kit": seeds, "target_loop_seed": hit_seeds}


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


# --- the single environments ------------------------------------------------------------------


class TranscribeEnv(RaveForceEnv):
    """A RaveForceEnv whose target changes every episode; observation Dict(audio=, target=).
    With `tempo` (a TempoRange) every episode also draws its tempo."""

    def __init__(self, task: Task, drawer_factory, *, reward=None, tempo: TempoRange | None = None, **kwargs) -> None:
        if "target" in kwargs:
            raise ArgumentError("a transcription env draws its targets: pass reset(options={'target': ...}) instead of target=")
        super().__init__(task, reward=reward, **kwargs)
        self._reward_spec = self.task.reward if reward is None else reward
        self.drawer = drawer_factory(self.task)
        self.tempo, self.padded_task = tempo, self.task
        if tempo is not None:
            check_retimable(self._renderer, self.task, tempo)
        box = spaces.Box(-np.inf, np.inf, (self.task.total_samples,), dtype=np.float32)
        self.observation_space = spaces.Dict({"audio": box, "target": box})
        self.drawn: dict = {}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        gym.Env.reset(self, seed=seed)
        options = dict(options or {})
        given = options.pop("target", None)
        bpm = options.pop("bpm", None)
        if options:
            raise ArgumentError(f"reset options {sorted(options)} are not supported; valid: ['bpm', 'target']")
        drawn = {}
        if self.tempo is not None:
            self.task = dataclasses.replace(self.padded_task, bpm=self.tempo.draw(self.np_random, bpm))
            self._renderer.retime(self.task)
            self.drawer.task = self.task
            drawn["target_bpm"] = self.task.bpm
        elif bpm is not None:
            raise ArgumentError("reset option 'bpm' needs a tempo range: make the env with bpm=(low, high)")
        if given is None:
            audio, self.drawn = self.drawer.draw(self.np_random)
        else:
            audio, self.drawn = load_given_target(self.task, given), {}
        self.drawn.update(drawn)
        self.target = np.zeros(self.padded_task.total_samples, np.float32)
        self.target[: len(audio)] = audio
        self.reward_criterion = rewards.make(self._reward_spec, target=audio, sample_rate=self.task.sample_rate, boundaries=self.task.boundaries)
        observation, info = super().reset()
        return self._observe(observation), {**info, **self.drawn}

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        return self._observe(observation), reward, terminated, truncated, info

    def _observe(self, audio: np.ndarray) -> dict:
        return {"audio": audio, "target": self.target.copy()}


class DrumTranscribeEnv(TranscribeEnv):
    """Transcribe a drum loop: like DrumLoop-v0, but every episode has a new target.

    ## Action Space
    `Discrete(8)`, as DrumLoop-v0: bits 1 = kick, 2 = snare, 4 = closed hi-hat; 0 is a rest.

    ## Observation Space
    `Dict(audio=Box(-inf, inf, (88200,), float32), target=Box(-inf, inf, (88200,), float32))`:
    the audio rendered so far (zero-padded, as DrumLoop-v0) and the whole target, so a policy
    can listen ahead.

    ## Rewards
    Minus the STFT distance ("stft", default; any reward name or callable) between the audio so
    far and the same prefix of the target. The drawn targets are played on the agent's own kit,
    so the right pattern scores 0 (float rounding) at every step.

    ## Target
    Every `reset()` draws a 16-step pattern from the env's random generator (seed it with
    `reset(seed=)`), each drum hitting on each step with chance `density` (0.3; or one per drum),
    mixed from the kit samples; `info["target_pattern"]` holds its actions. With `kits=` (a split
    of `raveforce.kits.SPLITS`, "train"/"dev"/"held_out", or a sequence of kit seeds) each reset
    also draws a kit of the family and scsynth renders the pattern on it with the kit's rendition
    (about 0.2 s a reset; the vector env renders its lanes together); `info["target_kit"]` is its
    seed. The agent still plays the shipped kit, so the right pattern no longer scores 0. `reset(options=
    {"target": path or (samples, sample_rate)})` sets a target instead (other rates resampled;
    another length cut or padded, with a warning).

    ## Tempo
    `bpm=100` fixes the tempo; `bpm=(low, high)` (30 <= low < high <= 300) draws one uniformly at
    every reset (`info["target_bpm"]`; `reset(options={"bpm": 100})` picks one in the range). The
    env is built at `low`, so both observations keep the slowest tempo's length (117,600 samples
    for 90 BPM) and a faster episode's audio and target are zeros after its end;
    `env.unwrapped.task` is the episode's task (tempo, step boundaries). The vector env draws one
    tempo per reset for all its lanes: they render in lockstep.

    ## Arguments
    `density`, `kits`, `bpm`, `reward`, `reward_mode`, `render_mode`, `renderer`, `scsynth`, `timeout`
    (see `RaveForceEnv`). Vector version: `gym.make_vec(..., vectorization_mode="vector_entry_point")`.

    ## Version History
    - v0: initial version.
    """

    TASK = DRUM_TRANSCRIBE

    def __init__(self, *, density: float | Sequence[float] = DENSITY, kits=None, bpm=None, **kwargs) -> None:
        tempo = split_bpm(bpm, kwargs)
        super().__init__(DRUM_TRANSCRIBE, pattern_drawer(density, kits), tempo=tempo, **kwargs)

    @classmethod
    def make_vector(cls, num_envs: int = 1, *, density: float | Sequence[float] = DENSITY, kits=None, bpm=None, **kwargs):
        tempo = split_bpm(bpm, kwargs)
        return TranscribeVectorEnv(DRUM_TRANSCRIBE, num_envs, pattern_drawer(density, kits), tempo=tempo, **kwargs)


def pattern_drawer(density, kits):
    """The drawer factory of DrumTranscribe: the shipped kit (kits=None) or the kit family."""
    if kits is None:
        return lambda task: PatternDrawer(task, density)
    kit_seeds(kits)  # a bad value fails here, before scsynth starts
    return lambda task: KitPatternDrawer(task, kits, density)


class KickTranscribeEnv(TranscribeEnv):
    """Find a kick's frequency: like KickFrequency-v0, but every episode has a new target.

    ## Action Space
    `Box(0, 1, (1,), float32)`, mapped exponentially to 20-22000 Hz, as KickFrequency-v0.

    ## Observation Space
    `Dict(audio=Box(-inf, inf, (22050,), float32), target=Box(-inf, inf, (22050,), float32))`.

    ## Rewards
    Minus the spectral optimal-transport distance ("spectral_ot", default) between the note
    and the target.

    ## Target
    Every `reset()` draws a frequency log-uniformly from `frequency_range` (30-2000 Hz) and plays
    the agent's own sine kick there (synthesised in numpy: within 0.03 of scsynth in the attack, 0.004 after);
    `info["target_frequency"]` (Hz) and `info["target_action"]` (the action that plays it).
    `reset(options={"target": ...})` sets a target instead.

    ## Version History
    - v0: initial version.
    """

    TASK = KICK_TRANSCRIBE

    def __init__(self, *, frequency_range: tuple[float, float] = FREQUENCY_RANGE, **kwargs) -> None:
        super().__init__(KICK_TRANSCRIBE, lambda task: FrequencyDrawer(task, frequency_range), **kwargs)

    @classmethod
    def make_vector(cls, num_envs: int = 1, *, frequency_range: tuple[float, float] = FREQUENCY_RANGE, **kwargs):
        return TranscribeVectorEnv(KICK_TRANSCRIBE, num_envs, lambda task: FrequencyDrawer(task, frequency_range), **kwargs)


# --- the vector environment -------------------------------------------------------------------


class TranscribeVectorEnv(RaveForceVectorEnv):
    """`num_envs` transcription episodes in lockstep; every new episode draws new targets.

    Observations: Dict(audio=(num_envs, total_samples), target=(num_envs, total_samples)) float32.
    `info` of reset() (and of the autoreset step) holds what was drawn, batched: e.g.
    "target_pattern" (num_envs, steps) int64. reset(options={"target": one or num_envs targets}).
    """

    def __init__(self, task: Task, num_envs: int, drawer_factory, *, reward=None, tempo: TempoRange | None = None, **kwargs) -> None:
        if "target" in kwargs:
            raise ArgumentError("a transcription env draws its targets: pass reset(options={'target': ...}) instead of target=")
        super().__init__(task, num_envs, reward=reward, **kwargs)
        self._reward_spec = self.task.reward if reward is None else reward
        self.drawer = drawer_factory(self.task)
        self.tempo, self.padded_task = tempo, self.task
        if tempo is not None:
            for group in self._groups:
                check_retimable(group, self.task, tempo)
        box, batch = self.single_observation_space, self.observation_space
        # batch_space(Dict(audio=box, target=box)), without building two more (num_envs, samples) bounds
        self.single_observation_space = spaces.Dict({"audio": box, "target": copy.copy(box)})
        self.observation_space = spaces.Dict({"audio": batch, "target": copy.copy(batch)})
        self._target_batch = np.zeros((num_envs, self.task.total_samples), np.float32)  # rewritten in place at every reset
        self._given = self._bpm = None
        self.drawn: dict = {}

    def reset(self, *, seed=None, options: dict | None = None):
        options = dict(options or {})
        given = options.pop("target", None)
        bpm = options.pop("bpm", None)
        if options:
            raise ArgumentError(f"reset options {sorted(options)} are not supported; valid: ['bpm', 'target']")
        if bpm is not None and self.tempo is None:
            raise ArgumentError("reset option 'bpm' needs a tempo range: make the env with bpm=(low, high)")
        self._given, self._bpm = given, bpm
        try:
            observation, info = super().reset(seed=seed)
        finally:
            self._given = self._bpm = None
        return observation, {**info, **self.drawn}

    def step(self, actions):
        starting = self._autoreset
        observation, reward, terminated, truncated, info = super().step(actions)
        return observation, reward, terminated, truncated, ({**info, **self.drawn} if starting else info)

    def _start_episodes(self) -> None:
        self._retarget()
        super()._start_episodes()

    def _retarget(self) -> None:
        if self.tempo is not None:  # one tempo for all lanes: they render in lockstep
            self.task = dataclasses.replace(self.padded_task, bpm=self.tempo.draw(self.np_random, self._bpm))
            for group in self._groups:
                group.retime(self.task)
            self.drawer.task = self.task
        n = self.task.total_samples
        if self._given is not None:
            self._given_targets(self._given)
            self.drawn = {}
        elif hasattr(self.drawer, "draw_many"):
            audio, self.drawn = self.drawer.draw_many(self.np_random, self.num_envs)
            self._target_batch[:, :n] = audio
        else:
            draws = [self.drawer.draw(self.np_random) for _ in range(self.num_envs)]
            for row, (audio, _) in zip(self._target_batch, draws):
                row[:n] = audio
            self.drawn = {key: np.stack([d[key] for _, d in draws]) for key in draws[0][1]}
        self._target_batch[:, n:] = 0.0
        if self.tempo is not None:
            self.drawn["target_bpm"] = np.full(self.num_envs, self.task.bpm)
        self.targets = [row[:n] for row in self._target_batch]
        sr, bounds = self.task.sample_rate, self.task.boundaries
        self.criteria = [rewards.make(self._reward_spec, target=t, sample_rate=sr, boundaries=bounds) for t in self.targets]

    def _given_targets(self, given) -> None:
        """Write the given target(s) into the target batch (checked before any row is written)."""
        if isinstance(given, list):
            if len(given) != self.num_envs:
                raise TargetError(f"{len(given)} targets given for {self.num_envs} sub-environments: give one, or one each")
            audio = [load_given_target(self.task, t) for t in given]
            for row, a in zip(self._target_batch, audio):
                row[: len(a)] = a
        else:
            audio = load_given_target(self.task, given)
            self._target_batch[:, : len(audio)] = audio

    def _observation(self) -> dict:
        audio = self._audio.copy() if self.copy else self._audio
        return {"audio": audio, "target": self._target_batch.copy() if self.copy else self._target_batch}


__all__ = [
    "DENSITY",
    "DRUM_TRANSCRIBE",
    "FREQUENCY_RANGE",
    "KICK_TRANSCRIBE",
    "DrumTranscribeEnv",
    "KickTranscribeEnv",
    "TempoRange",
    "TranscribeVectorEnv",
    "draw_pattern",
    "mix_pattern",
    "mix_patterns",
    "sine_kick",
]
