"""The transcription environments, single and vector: a RaveForce env whose target (and tempo)
changes at every reset, observed as Dict(audio=, target=)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from raveforce import rewards
from raveforce.env import RaveForceEnv
from raveforce.errors import ArgumentError, TargetError
from raveforce.task import Task
from raveforce.tasks import drum_kit_task
from raveforce.transcribe.targets import (
    DENSITY,
    DRUM_KIT_TRANSCRIBE,
    DRUM_TRANSCRIBE,
    FREQUENCY_RANGE,
    KICK_TRANSCRIBE,
    KIT_DENSITY,
    FrequencyDrawer,
    GridDrawer,
    load_given_target,
    pattern_drawer,
)
from raveforce.transcribe.tempo import TempoRange, check_retimable, split_bpm
from raveforce.vector import RaveForceVectorEnv

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
    seed. `kits="hydrogen:train"` (or "dev", "held_out", or kit names separated by commas) plays
    the pattern on Hydrogen's sampled kits instead, drawn with a rendition by
    `raveforce.kits.sampled.draw` (`info["target_kit"]` is the seed it was drawn with).
    The agent still plays the shipped kit, so the right pattern no longer scores 0. `reset(options=
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


class DrumKitTranscribeEnv(TranscribeEnv):
    """Transcribe a drum loop on the ten-voice kit, with velocities: like DrumKit-v0, but every
    episode has a new target.

    ## Action Space
    `MultiDiscrete([4] * 10)`, as DrumKit-v0: one level per voice (kick, snare, clap, closed hat,
    open hat, low, mid and high tom, crash, ride), 0 a rest, 1-3 soft, medium, hard.

    ## Observation Space
    `Dict(audio=Box(-inf, inf, (88200,), float32), target=Box(-inf, inf, (88200,), float32))`.

    ## Rewards
    Minus the STFT distance ("stft", default; any reward name or callable) between the audio so
    far and the same prefix of the target. The drawn targets are played on the agent's own kit,
    so the right pattern scores 0 (float rounding) at every step.

    ## Target
    Every `reset()` draws a pattern from the env's random generator and mixes it in numpy from
    the kit's samples (equal to scsynth's render to 1e-6); `info["target_pattern"]` holds its
    levels, int64 (steps, 10). `patterns="random"` (default): voice v hits on each step with
    chance `density[v]` (`KIT_DENSITY`: hats and kick often, toms and crash rarely) at a uniform
    level; `patterns="grooves"`: grooves with accents, ghost snares, ride patterns, open hats,
    crashes on the one and tom fills (`groove_grid`; grids of 16ths). `reset(options={"target":
    path or (samples, sample_rate)})` sets a target instead.

    ## Arguments
    `patterns`, `density`, `bars`, `steps_per_beat`, `velocity_levels`, `bpm` (a number, or
    `(low, high)` to draw a tempo at every reset, as DrumTranscribe-v0), `reward`, `reward_mode`,
    `render_mode`, `renderer`, `scsynth`, `timeout`. Vector version:
    `gym.make_vec(..., vectorization_mode="vector_entry_point")`.

    ## Version History
    - v0: initial version.
    """

    TASK = DRUM_KIT_TRANSCRIBE

    def __init__(self, *, patterns: str = "random", density: Sequence[float] = KIT_DENSITY, bpm=None, **kwargs) -> None:
        task, kwargs = _kit_grid(kwargs)
        tempo = split_bpm(bpm, kwargs)
        super().__init__(task, lambda t: GridDrawer(t, patterns, density), tempo=tempo, **kwargs)

    @classmethod
    def make_vector(cls, num_envs: int = 1, *, patterns: str = "random", density: Sequence[float] = KIT_DENSITY, bpm=None, **kwargs):
        task, kwargs = _kit_grid(dict(kwargs))
        tempo = split_bpm(bpm, kwargs)
        return TranscribeVectorEnv(task, num_envs, lambda t: GridDrawer(t, patterns, density), tempo=tempo, **kwargs)


def _kit_grid(kwargs: dict) -> tuple[Task, dict]:
    """(DRUM_KIT_TRANSCRIBE on the grid of bars, steps_per_beat and velocity_levels in kwargs, the other kwargs)."""
    grid = {k: kwargs.pop(k) for k in ("bars", "steps_per_beat", "velocity_levels") if k in kwargs}
    if not grid:
        return DRUM_KIT_TRANSCRIBE, kwargs
    return dataclasses.replace(drum_kit_task(**grid), name=DRUM_KIT_TRANSCRIBE.name, description=DRUM_KIT_TRANSCRIBE.description), kwargs


class KickTranscribeEnv(TranscribeEnv):
    """Find a kick's frequency: like KickFrequency-v0, but every episode has a new target.

    ## Action Space
    `Box(0, 1, (1,), float32)`, mapped exponentially to 20-22000 Hz, as KickFrequency-v0.

    ## Observation Space
    `Dict(audio=Box(-inf, inf, (22050,), float32), target=Box(-inf, inf, (22050,), float32))`.

    ## Rewards
    Minus "steady_ot" (the default, as KickFrequency's: optimal transport between log-frequency
    spectra, weighted to where the target holds still) between the note and the target; or any
    other registered reward.

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
