"""`RaveForceEnv`: a Gymnasium environment for any `Task`.

The environment owns the episode: step counting, the zero-padded observation, the target prefix
the reward compares against, seeding and pictures. Rendering is the renderer's business.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from raveforce import rewards
from raveforce.audio import write_wav
from raveforce.errors import ArgumentError, EpisodeError, RaveForceError, ScsynthError
from raveforce.synth.render import Renderer, make_renderer
from raveforce.task import Task, replace_options


class RaveForceEnv(gym.Env):
    """An agent writes a sequence step by step; scsynth renders it; the reward compares audio.

    ## Observation
    float32 (task.total_samples,): the mono audio rendered so far, zeros after the current step's
    end (the paper's padded observation). After step k it holds samples up to
    `task.boundaries[k + 1]`, exactly where the target prefix the reward sees is cut.

    ## Reward
    `-distance(observation prefix, target prefix)` with a criterion from `raveforce.rewards`
    (a name, or a callable `fn(observed, target, sample_rate) -> reward`).
    `reward_mode="delta"` returns instead the improvement over the previous step,
    `distance(step k - 1) - distance(step k)` (0 before the first step): the shaping of the
    paper's equation 1, Q = V(s_{t+1}) - V(s_t) with V = -distance; an episode's delta rewards
    sum to its last absolute reward.

    ## Episode end
    `terminated` is True after `task.steps` steps; the episode never truncates by itself.

    ## Arguments
    task: the Task. target: a sound file path or (samples, sample_rate); default the task's.
    reward: a reward name or callable; default the task's. render_mode: None or "rgb_array".
    reward_mode: "absolute" (default, -distance as in the paper) or "delta" (see Reward).
    renderer: "auto" (a kept-alive scsynth where the task allows it), "stream", "nrt", or a
    Renderer object (reset/step/close) for other backends.
    scsynth: path to the scsynth executable (else $RAVEFORCE_SCSYNTH, else PATH).
    timeout: seconds to wait for scsynth to render a step before raising ScsynthError.
    Any other keyword (bpm, steps, sample_rate, ...) replaces that field of the task.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        task: Task,
        *,
        target=None,
        reward=None,
        reward_mode: str = "absolute",
        render_mode: str | None = None,
        renderer: str | Renderer = "auto",
        scsynth: str | os.PathLike | None = None,
        timeout: float = 10.0,
        **task_options: Any,
    ) -> None:
        check_timeout(timeout)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ArgumentError(f"render_mode={render_mode!r} is not one of {self.metadata['render_modes']} or None")
        self.task = task = replace_options(task, task_options) if task_options else task
        self.render_mode = render_mode
        self.reward_mode = check_reward_mode(reward_mode)
        self.target = task.load_target(target)
        self.reward_criterion = rewards.make(
            task.reward if reward is None else reward,
            target=self.target,
            sample_rate=task.sample_rate,
            boundaries=task.boundaries,
        )
        self.action_space = task.action_space
        self.observation_space = spaces.Box(-np.inf, np.inf, (task.total_samples,), dtype=np.float32)
        self._renderer = (
            make_renderer(renderer, task, scsynth=None if scsynth is None else os.fspath(scsynth), timeout=timeout)
            if isinstance(renderer, str)
            else renderer
        )
        self._audio = np.zeros(task.total_samples, dtype=np.float32)
        self._rewards: list[float] = []
        self._notes: list[tuple] = []  # the notes each step of this episode played (save_midi)
        self._distance = 0.0  # the previous step's distance (reward_mode="delta")
        self._step: int | None = None  # None: no episode running (before reset, after the end or a failure)

    # --- Gymnasium API -----------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if options:
            raise ArgumentError(f"reset options {sorted(options)} are not supported; pass None")
        self._step = None
        try:
            self._renderer.reset()  # starts scsynth afresh after a failure or close()
        except ScsynthError:
            self._renderer.close()
            raise
        self.reward_criterion.reset()
        self._audio[:] = 0.0
        self._rewards = []
        self._notes = []
        self._distance = 0.0
        self._step = 0
        return self._audio.copy(), {"step": 0}

    def step(self, action):
        k = self._step
        if k is None:
            ended = bool(self._rewards) and len(self._rewards) == self.task.steps
            raise EpisodeError(
                "the episode has ended: call reset() to start a new one"
                if ended
                else "step() before reset() (or after a failure): call reset() first"
            )
        notes = self.task.actions.notes(action)  # raises InvalidActionError, state unchanged
        b0, b1 = int(self.task.boundaries[k]), int(self.task.boundaries[k + 1])
        try:
            audio = self._renderer.step(k, notes)
        except ScsynthError:
            self._discard_renderer()
            raise
        except RaveForceError:  # e.g. sclang gone or a reply lost: the episode cannot go on
            self._step = None
            raise
        if not np.isfinite(audio).all():
            self._discard_renderer()
            raise ScsynthError(f"scsynth rendered NaN or infinite samples at step {k} (notes {list(notes)})")
        self._audio[b0:b1] = audio
        distance = float(self.reward_criterion.distance(self._audio, k))
        reward = 0.0 - distance if self.reward_mode == "absolute" else self._distance - distance  # 0.0, never -0.0
        self._distance = distance
        self._rewards.append(reward)
        self._notes.append(notes)
        terminated = k + 1 == self.task.steps
        self._step = None if terminated else k + 1
        return self._audio.copy(), reward, terminated, False, {"step": k + 1}

    def render(self):
        if self.render_mode == "rgb_array":
            return waveform_picture(self._audio, self.target, self.task.boundaries, len(self._rewards))
        return None

    def close(self) -> None:
        if getattr(self, "_renderer", None) is not None:
            self._renderer.close()
        self._step = None

    # --- beyond Gymnasium --------------------------------------------------------------------

    @property
    def audio(self) -> np.ndarray:
        """float32 (task.total_samples,): a copy of this episode's audio so far."""
        return self._audio.copy()

    @property
    def episode_rewards(self) -> list[float]:
        return list(self._rewards)

    def save_wav(self, path: str | os.PathLike):
        """Write this episode's audio so far as a float WAV at the task's sample rate."""
        return write_wav(path, self._audio, self.task.sample_rate)

    def save_midi(self, path: str | os.PathLike):
        """Write the notes of this episode's steps so far as a MIDI file (`raveforce.midi`)."""
        from raveforce.midi import write_midi

        return write_midi(path, self.task, self._notes)

    def _discard_renderer(self) -> None:
        """After a render failure: end the episode; the next reset() starts a fresh scsynth."""
        self._step = None
        self._renderer.close()


def check_timeout(timeout) -> None:
    """Raise ArgumentError unless `timeout` is a finite number of seconds > 0."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ArgumentError(f"timeout={timeout!r} is not a finite number of seconds > 0")


REWARD_MODES = ("absolute", "delta")


def check_reward_mode(mode) -> str:
    """`mode` if it is one of REWARD_MODES, else a ValueError that repeats it."""
    if mode not in REWARD_MODES:
        raise ValueError(f"reward_mode={mode!r} is not one of {REWARD_MODES}")
    return mode


def waveform_picture(
    observed: np.ndarray, target: np.ndarray, boundaries: np.ndarray, steps_done: int, *, width: int = 640, height: int = 240
) -> np.ndarray:
    """uint8 (height, width, 3): the target's waveform (top) and the observation's (bottom),
    step boundaries as grey lines, the steps rendered so far shaded."""
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    n = len(target)
    columns = np.minimum((np.arange(n) * width) // max(n, 1), width - 1)
    done = int(boundaries[steps_done]) if steps_done else 0
    image[:, : max(0, done * width // max(n, 1))] = (235, 242, 255)
    for b in boundaries[1:-1]:
        image[:, min(width - 1, int(b) * width // max(n, 1))] = (200, 200, 200)
    lanes = ((target, 0, (40, 40, 40)), (observed, height // 2, (20, 90, 200)))
    scale = max(float(np.abs(target).max()), float(np.abs(observed).max()), 1e-9)
    half = height // 4 - 4
    for signal, top, color in lanes:
        centre = top + height // 4
        lo = np.full(width, np.inf)
        hi = np.full(width, -np.inf)
        np.minimum.at(lo, columns, signal)
        np.maximum.at(hi, columns, signal)
        for x in range(width):
            if np.isfinite(lo[x]):
                y0 = centre - int(round(hi[x] / scale * half))
                y1 = centre - int(round(lo[x] / scale * half))
                image[y0 : y1 + 1, x] = color
        image[centre, :] = np.minimum(image[centre, :], 180)
    image[height // 2, :] = 120
    return image


__all__ = ["REWARD_MODES", "RaveForceEnv", "check_reward_mode", "waveform_picture"]
