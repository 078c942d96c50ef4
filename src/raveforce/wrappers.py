"""Gymnasium wrappers for training agents on RaveForce environments.

88,200 raw samples are a lot for a multilayer perceptron; these make small observations:

    env = AppendStep(LogMelObservation(gym.make("raveforce/DrumLoop-v0")))
    env.observation_space          # Box(0, inf, (44 * 32 + 16,), float32)

and `RecordEpisodeAudio` writes every Nth episode's audio to WAV (like Gymnasium's RecordVideo).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium import spaces


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 20.0, fmax: float | None = None) -> np.ndarray:
    """float32 (n_mels, n_fft // 2 + 1): triangular filters evenly spaced on the mel scale
    (HTK formula), each summing to about 1 over its bins."""
    fmax = sample_rate / 2 if fmax is None else fmax
    mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)  # noqa: E731
    hz = 700.0 * (10.0 ** (np.linspace(mel(fmin), mel(fmax), n_mels + 2) / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lo, mid, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    tri = np.maximum(0.0, np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)))
    return (tri / np.maximum(tri.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)


class LogMelObservation(gym.ObservationWrapper):
    """The audio observation as log-mel frames, flattened: float32 (frames * n_mels,).

    Frames of `n_fft` samples every `hop` samples (no padding, Hann window), mel power in dB
    mapped from [floor_db, 0] to [0, 1] (0 is silence or quieter than floor_db; louder than
    0 dB full scale goes above 1). The drum loop's 88,200 samples give 43 frames x 32 mels.
    A Dict observation (the transcription envs' audio and target) gets every key transformed.
    """

    def __init__(self, env: gym.Env, *, n_mels: int = 32, n_fft: int = 2048, hop: int = 2048, floor_db: float = -80.0) -> None:
        super().__init__(env)
        space = env.observation_space
        samples = (space[next(iter(space.spaces))] if isinstance(space, spaces.Dict) else space).shape[0]
        if samples < n_fft:
            raise ValueError(f"observations of {samples} samples are shorter than n_fft={n_fft}")
        rate = env.unwrapped.task.sample_rate
        self.samples, self.n_fft, self.hop, self.floor_db = samples, n_fft, hop, floor_db
        self.frames = 1 + (samples - n_fft) // hop
        self.window = np.hanning(n_fft).astype(np.float32)
        self.filters = mel_filterbank(rate, n_fft, n_mels)
        self._last: dict = {}  # slot -> (audio, (frames, n_mels) values) of its last call
        box = spaces.Box(0.0, np.inf, (self.frames * n_mels,), dtype=np.float32)
        self.observation_space = spaces.Dict({key: box for key in space.spaces}) if isinstance(space, spaces.Dict) else box

    def observation(self, observation, slot=None):
        if isinstance(observation, dict):
            return {key: self.log_mel(value, slot=(slot, key)) for key, value in observation.items()}
        return self.log_mel(observation, slot=slot)

    def log_mel(self, audio: np.ndarray, slot=None) -> np.ndarray:
        """float32 (frames * n_mels,) of float (samples,) audio.

        The audio and frames of the last call with the same `slot` (any hashable: a sub-env's
        index, a Dict key) are kept, and only the frames whose samples changed are computed again:
        an episode's observation changes only where the new step's samples land."""
        x = np.array(audio, np.float32)  # a copy: kept for the next call
        if x.shape != (self.samples,):
            raise ValueError(f"audio of shape {x.shape}; this wrapper's observations are ({self.samples},) samples")
        last, values = self._last.get(slot, (None, None))
        if last is None:
            values, rows = np.empty((self.frames, len(self.filters)), np.float32), range(self.frames)
        else:
            changed = np.flatnonzero(x != last)
            if len(changed) == 0:
                rows = range(0)
            else:  # frames k with k * hop + n_fft > first changed sample and k * hop <= the last
                first = max(0, -(-(int(changed[0]) - self.n_fft + 1) // self.hop))
                rows = range(first, min(self.frames, int(changed[-1]) // self.hop + 1))
        if len(rows):
            frames = np.lib.stride_tricks.sliding_window_view(x, self.n_fft)[rows.start * self.hop :: self.hop][: len(rows)]
            power = np.abs(np.fft.rfft(frames * self.window, axis=1)) ** 2 / self.n_fft
            for k, p in zip(rows, power):  # a row at a time: a product's rounding depends on its row count
                values[k] = np.maximum(0.0, 1.0 - 10.0 * np.log10(np.maximum(p @ self.filters.T, 1e-12)) / self.floor_db)
        self._last[slot] = (x, values)
        return values.ravel().copy()


class AppendStep(gym.Wrapper):
    """Appends a one-hot of the step about to be played (float32 (steps,)) to a flat Box
    observation: a sequencer knows where it is in the bar. A Dict observation gets it as a
    "step" key instead."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        self.steps = env.unwrapped.task.steps
        one_hot = spaces.Box(0.0, 1.0, (self.steps,), dtype=np.float32)
        if isinstance(space, spaces.Dict):
            self.observation_space = spaces.Dict({**space.spaces, "step": one_hot})
        elif isinstance(space, spaces.Box) and len(space.shape) == 1:
            low = np.concatenate([np.broadcast_to(space.low, space.shape), one_hot.low]).astype(np.float32)
            high = np.concatenate([np.broadcast_to(space.high, space.shape), one_hot.high]).astype(np.float32)
            self.observation_space = spaces.Box(low, high, dtype=np.float32)
        else:
            raise ValueError(f"AppendStep needs a flat Box or a Dict observation, got {space}")
        self._k = 0

    def _with_step(self, observation):
        one_hot = np.zeros(self.steps, np.float32)
        one_hot[min(self._k, self.steps - 1)] = 1.0
        if isinstance(observation, dict):
            return {**observation, "step": one_hot}
        return np.concatenate([np.asarray(observation, np.float32), one_hot])

    def reset(self, **kwargs):
        observation, info = self.env.reset(**kwargs)
        self._k = 0
        return self._with_step(observation), info

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._k += 1
        return self._with_step(observation), reward, terminated, truncated, info


class RecordEpisodeAudio(gym.Wrapper):
    """Writes the audio of chosen episodes to `folder/{name_prefix}-episode-{i}.wav` when they end,
    and with `midi=True` their notes beside it as `.mid` (`env.unwrapped.save_midi`).

    episode_trigger(i) -> bool picks episodes (counted from 0); default every `every`-th.
    The audio is the unwrapped env's (`env.unwrapped.audio`, float32 at the task's rate).
    """

    def __init__(
        self,
        env: gym.Env,
        folder: str | os.PathLike,
        *,
        every: int = 10,
        episode_trigger: Callable[[int], bool] | None = None,
        name_prefix: str = "rl",
        midi: bool = False,
    ) -> None:
        super().__init__(env)
        if episode_trigger is None and not (isinstance(every, int) and every >= 1):
            raise ValueError(f"every={every!r} is not a whole number >= 1")
        self.folder = Path(folder)
        self.episode_trigger = episode_trigger or (lambda i: i % every == 0)
        self.name_prefix = name_prefix
        self.midi = midi
        self.episode = -1
        self.written: list[Path] = []

    def reset(self, **kwargs):
        self.episode += 1
        return self.env.reset(**kwargs)

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        if (terminated or truncated) and self.episode >= 0 and self.episode_trigger(self.episode):
            path = self.folder / f"{self.name_prefix}-episode-{self.episode}.wav"
            self.written.append(self.env.unwrapped.save_wav(path))
            if self.midi:
                self.written.append(self.env.unwrapped.save_midi(path.with_suffix(".mid")))
        return observation, reward, terminated, truncated, info


__all__ = ["AppendStep", "LogMelObservation", "RecordEpisodeAudio", "mel_filterbank"]
