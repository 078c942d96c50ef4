"""The shipped drum transcriber, and policies that listen to a target and write its pattern down
in one episode (no search), in numpy.

    from raveforce.transcribe import policy as transcriber
    policy = transcriber.load()                       # raveforce/data/policies/drum_transcriber.npz
    actions, audio, rewards = transcriber.transcribe("loop.wav", policy=policy)

The shipped policy is a `HitPolicy`: it hears each step through the `hits` classifier and the
whole loop at once, at any tempo and length; it was trained supervised
(`scripts/train_transcriber.py`). `NumpyPolicy` runs the MLPs that `raveforce train
drum-transcribe` trains from the env's reward on `StepFeatures` (log-mel frames of the target
around the step about to be played, the last two frames of the audio rendered before it, and a
one-hot of the step).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space

from raveforce.errors import ArgumentError, RaveForceError
from raveforce.task import Task
from raveforce.transcribe.hit_policy import HIT_POLICY_FORMAT, HitPolicy, bar_position, hit_context, step_levels
from raveforce.wrappers import mel_filterbank

POLICY_PATH = Path(__file__).resolve().parents[1] / "data" / "policies" / "drum_transcriber.npz"
MLP_FORMAT = "raveforce-policy-1"  # a NumpyPolicy's file


class PolicyFileError(RaveForceError):
    """A policy file that is missing, unreadable or not a RaveForce policy."""


def read_policy_file(path: Path, parsers: dict, *, what: str = "policy"):
    """`parsers[format](header, arrays)` of the policy .npz at `path`, for the format its JSON
    header names; a missing file, another format or anything the parser cannot read is a
    PolicyFileError naming it."""
    import json
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            if header.get("format") not in parsers:
                raise ValueError(f"format {header.get('format')!r} is not {' or '.join(map(repr, parsers))}")
            return parsers[header["format"]](header, data)
    except FileNotFoundError as exc:
        raise PolicyFileError(f"{what} file {str(path)!r} does not exist") from exc
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as exc:
        raise PolicyFileError(f"{what} file {str(path)!r} is not a readable RaveForce {what} (.npz): {exc}") from exc


class StepFeatures:
    """float32 (n, size) features of step k for n episodes at once.

    Log-mel frames (`n_fft` samples, Hann, `n_mels` mels, dB mapped from [-80, 0] to [0, 1]) of
    the target starting at `target_offsets` samples from the step's first sample, of the audio
    rendered so far at `audio_offsets` (before the step: what still rings), and a one-hot of k.
    Frames outside the episode are silence.
    """

    def __init__(self, task: Task, *, n_fft: int = 1024, n_mels: int = 32,
                 target_offsets: tuple[int, ...] = (-1024, 0, 1024, 2048, 3072, 4096),
                 audio_offsets: tuple[int, ...] = (-2048, -1024)) -> None:  # fmt: skip
        self.task = task
        self.n_fft, self.n_mels = n_fft, n_mels
        self.target_offsets, self.audio_offsets = tuple(target_offsets), tuple(audio_offsets)
        self.window = np.hanning(n_fft).astype(np.float32)
        self.filters = mel_filterbank(task.sample_rate, n_fft, n_mels)
        self.size = (len(self.target_offsets) + len(self.audio_offsets)) * n_mels + task.steps

    @property
    def reach(self) -> int:
        """Samples after a step's first one that its target frames hear."""
        return max(self.target_offsets) + self.n_fft

    def check_tempo(self, boundaries: np.ndarray, bpm: float) -> None:
        """ArgumentError if an episode's steps (`boundaries`, at `bpm`) are shorter than `reach`:
        the features would hear the next step, which a policy trained at the task's tempo mistakes
        for this one's (the shipped policy: 0.82 per-hit at 140 BPM on the dev set, >= 0.99 from
        30 to 129 BPM)."""
        shortest = int(np.diff(boundaries).min())
        if shortest < self.reach:
            fastest = self.task.bpm * int(np.diff(self.task.boundaries).min()) / self.reach
            raise ArgumentError(
                f"bpm={bpm:g}: its steps of {shortest} samples are shorter than the {self.reach} samples this policy "
                f"hears from each step's start (it was trained at {self.task.bpm:g} BPM); valid: up to {fastest:.1f} BPM"
            )

    def config(self) -> dict:
        return {"n_fft": self.n_fft, "n_mels": self.n_mels, "target_offsets": list(self.target_offsets), "audio_offsets": list(self.audio_offsets)}

    def _frames(self, x: np.ndarray, starts: list[int]) -> np.ndarray:
        """(n, len(starts), n_mels) log-mel of frames of x (n, samples) starting at `starts`."""
        n, length = x.shape
        frames = np.zeros((n, len(starts), self.n_fft), np.float32)
        for j, s in enumerate(starts):
            lo, hi = max(s, 0), min(s + self.n_fft, length)
            if hi > lo:
                frames[:, j, lo - s : hi - s] = x[:, lo:hi]
        power = np.abs(np.fft.rfft(frames * self.window, axis=-1)) ** 2 / self.n_fft
        db = 10.0 * np.log10(np.maximum(power @ self.filters.T, 1e-12))
        return np.maximum(0.0, 1.0 + db / 80.0).astype(np.float32)

    CHUNK = 8  # episodes per FFT call: 8 episodes' frames stay in cache (3x faster than 50 at once)

    def __call__(self, audio: np.ndarray, target: np.ndarray, k: int, boundaries: np.ndarray | None = None) -> np.ndarray:
        """boundaries: the episode's step boundaries (samples), if not the task's (another tempo)."""
        audio, target = np.atleast_2d(audio), np.atleast_2d(target)
        k = min(int(k), self.task.steps - 1)
        b = int((self.task.boundaries if boundaries is None else boundaries)[k])
        n, t_size = len(target), len(self.target_offsets) * self.n_mels
        out = np.zeros((n, self.size), np.float32)
        for lo in range(0, n, self.CHUNK):
            rows = slice(lo, lo + self.CHUNK)
            out[rows, :t_size] = self._frames(target[rows], [b + o for o in self.target_offsets]).reshape(-1, t_size)
            out[rows, t_size : self.size - self.task.steps] = self._frames(audio[rows], [b + o for o in self.audio_offsets]).reshape(len(out[rows]), -1)
        out[:, self.size - self.task.steps + k] = 1.0
        return out


class NumpyPolicy:
    """A multilayer perceptron in numpy: `logits(features (n, size)) -> (n, n_actions)`;
    `act` takes the argmax (the deterministic policy)."""

    ACTIVATIONS: ClassVar[dict] = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]], activation: str, features: StepFeatures, *, meta: dict | None = None) -> None:
        if activation not in self.ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is not one of {sorted(self.ACTIVATIONS)}")
        self.weights = [(np.asarray(w, np.float32), np.asarray(b, np.float32)) for w, b in weights]
        self.activation = activation
        self.features = features
        self.meta = dict(meta or {})

    def logits(self, x: np.ndarray) -> np.ndarray:
        f = self.ACTIVATIONS[self.activation]
        for i, (w, b) in enumerate(self.weights):
            x = np.einsum("ni,oi->no", x, w) + b  # not BLAS: its thread pool crawls on a busy machine
            if i < len(self.weights) - 1:
                x = f(x)
        return x

    def act(self, audio: np.ndarray, target: np.ndarray, k: int, boundaries: np.ndarray | None = None) -> np.ndarray:
        """int64 (n,): the actions of step k for n episodes (audio, target: (n, samples));
        boundaries: the episode's step boundaries if not those of the policy's task."""
        return self.logits(self.features(audio, target, k, boundaries)).argmax(axis=1)

    def check_tempo(self, boundaries: np.ndarray, bpm: float) -> None:
        """StepFeatures.check_tempo: ArgumentError at a tempo too fast for the features."""
        self.features.check_tempo(boundaries, bpm)

    def save(self, path: str | os.PathLike) -> Path:
        import json

        arrays = {f"w{i}": w for i, (w, _) in enumerate(self.weights)} | {f"b{i}": b for i, (_, b) in enumerate(self.weights)}
        header = {"format": MLP_FORMAT, "activation": self.activation, "layers": len(self.weights),
                  "features": self.features.config(), "task": self.features.task.name, **self.meta}  # fmt: skip
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, header=np.array(json.dumps(header)), **arrays)
        return path


class SpectralPeakKick:
    """KickTranscribe's one-pass agent: the target's strongest frequency (zero-padded FFT,
    parabolic interpolation on log magnitude) as the action. Signal processing, not trained."""

    def __init__(self, task: Task, *, n_fft: int = 1 << 17) -> None:
        self.task, self.n_fft = task, n_fft

    def frequency(self, target: np.ndarray) -> np.ndarray:
        """float64 (n,) Hz of float (n, samples) targets."""
        spectrum = np.log(np.abs(np.fft.rfft(np.atleast_2d(target), self.n_fft, axis=1)) + 1e-12)
        i = np.clip(spectrum[:, 1:-1].argmax(axis=1) + 1, 1, spectrum.shape[1] - 2)
        rows = np.arange(len(i))
        a, b, c = spectrum[rows, i - 1], spectrum[rows, i], spectrum[rows, i + 1]
        offset = 0.5 * (a - c) / np.where(a - 2 * b + c == 0, -1e-12, a - 2 * b + c)
        return (i + offset) * self.task.sample_rate / self.n_fft

    def act(self, audio: np.ndarray, target: np.ndarray, k: int) -> np.ndarray:
        """float32 (n, 1): the actions that play each target's frequency."""
        control = self.task.actions.controls[0]
        f = np.clip(self.frequency(target), control.low, control.high)
        return (np.log(f / control.low) / np.log(control.high / control.low)).astype(np.float32)[:, None]


class StepFeatureObservation(gym.Wrapper):
    """A transcription env's Dict(audio, target) observation as StepFeatures of the step about
    to be played: float32 (features.size,)."""

    def __init__(self, env: gym.Env, **feature_options) -> None:
        super().__init__(env)
        self.features = StepFeatures(env.unwrapped.task, **feature_options)
        self.observation_space = spaces.Box(0.0, np.inf, (self.features.size,), np.float32)
        self._k = 0

    def reset(self, **kwargs):
        observation, info = self.env.reset(**kwargs)
        self._k = 0
        return self.features(observation["audio"], observation["target"], 0, self.env.unwrapped.task.boundaries)[0], info

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._k += 1
        return self.features(observation["audio"], observation["target"], self._k, self.env.unwrapped.task.boundaries)[0], reward, terminated, truncated, info


class VectorStepFeatures(gym.vector.VectorWrapper):
    """StepFeatureObservation for a lockstep TranscribeVectorEnv (NEXT_STEP autoreset):
    float32 (num_envs, features.size)."""

    def __init__(self, env: gym.vector.VectorEnv, **feature_options) -> None:
        super().__init__(env)
        self.features = StepFeatures(env.unwrapped.task, **feature_options)
        self.single_observation_space = spaces.Box(0.0, np.inf, (self.features.size,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._k, self._ended = 0, False

    def reset(self, **kwargs):
        observation, info = self.env.reset(**kwargs)
        self._k, self._ended = 0, False
        return self.features(observation["audio"], observation["target"], 0, self.env.unwrapped.task.boundaries), info

    def step(self, actions):
        self._k = 0 if self._ended else self._k + 1
        observation, reward, terminated, truncated, info = self.env.step(actions)
        self._ended = bool(np.any(terminated) or np.any(truncated))
        return self.features(observation["audio"], observation["target"], self._k, self.env.unwrapped.task.boundaries), reward, terminated, truncated, info


def load(path: str | os.PathLike | None = None, *, task: Task | None = None) -> NumpyPolicy | HitPolicy:
    """The policy in `path` (default the shipped one): a HitPolicy or a NumpyPolicy (trained
    by `raveforce train`); PolicyFileError names a bad file. task: a NumpyPolicy's task, if not
    DrumTranscribe's."""
    from raveforce.transcribe import DRUM_TRANSCRIBE

    path = POLICY_PATH if path is None else Path(path)
    read = read_policy_file(path, {
        HIT_POLICY_FORMAT: HitPolicy.parse,
        MLP_FORMAT: lambda header, data: (header, [(data[f"w{i}"], data[f"b{i}"]) for i in range(int(header["layers"]))]),
    })  # fmt: skip
    if isinstance(read, HitPolicy):
        return read
    header, weights = read
    features = StepFeatures(task or DRUM_TRANSCRIBE, **{k: tuple(v) if isinstance(v, list) else v for k, v in header["features"].items()})
    sizes = [w.shape for w, _ in weights]
    if sizes[0][1] != features.size or any(a[0] != b[1] for a, b in itertools.pairwise(sizes)):
        raise PolicyFileError(f"policy file {str(path)!r} has layers {sizes} that do not fit {features.size} features")
    meta = {k: v for k, v in header.items() if k not in ("format", "activation", "layers", "features")}
    return NumpyPolicy(weights, header["activation"], features, meta=meta)


def run_episodes(policy: NumpyPolicy, env, targets: list | None = None, *, seed: int | None = None):
    """Play one episode in every lane of a TranscribeVectorEnv with `policy`.

    targets: a list of num_envs targets (else drawn). Returns actions int64 (num_envs, steps),
    rewards float64 (num_envs, steps), the episodes' audio float32 (num_envs, samples) and the
    reset info."""
    obs, info = env.reset(seed=seed, options=None if targets is None else {"target": list(targets)})
    policy.check_tempo(env.task.boundaries, env.task.bpm)
    steps = env.task.steps
    actions = np.zeros((env.num_envs, steps), np.int64)
    rewards = np.zeros((env.num_envs, steps))
    for k in range(steps):
        actions[:, k] = policy.act(obs["audio"], obs["target"], k, env.task.boundaries)  # the episode's tempo
        obs, rewards[:, k], *_ = env.step(actions[:, k])
    return actions, rewards, np.array(obs["audio"]), info


def transcribe(target, *, policy: NumpyPolicy | None = None, **env_kwargs) -> tuple[list[int], np.ndarray, list[float]]:
    """Transcribe one target (a path or (samples, sample_rate)) in one episode of
    DrumTranscribe-v0: (actions, the episode's audio float32 (samples,), rewards per step)."""
    from raveforce.transcribe import DrumTranscribeEnv

    policy = load() if policy is None else policy
    env = DrumTranscribeEnv.make_vector(1, **env_kwargs)
    try:
        actions, rewards, audio, _ = run_episodes(policy, env, [target])
    finally:
        env.close()
    return actions[0].tolist(), audio[0], rewards[0].tolist()


def transcribe_bars(audio: np.ndarray, task: Task, *, policy: NumpyPolicy | None = None, **env_kwargs) -> list[int]:
    """The actions of a loop of whole bars: audio float (task.total_samples,) at task.sample_rate,
    task a DrumLoop-like task of 16, 32, 64, ... steps. The policy hears one bar an episode: each
    bar's samples are one lane's target, all bars in one vector env at the task's tempo. A
    HitPolicy hears the whole loop at once: any number of steps."""
    from raveforce.transcribe import DRUM_TRANSCRIBE, DrumTranscribeEnv

    policy = load() if policy is None else policy
    if isinstance(policy, HitPolicy):  # hears the whole loop in one pass, at the task's step boundaries
        return policy.plan(np.asarray(audio, np.float64)[None], task.boundaries, task.sample_rate)[0].tolist()
    bar = DRUM_TRANSCRIBE.steps
    if task.steps % bar:
        raise ArgumentError(f"the policy transcribes whole bars of {bar} steps; this episode has {task.steps} steps (valid: 16, 32, 64)")
    one_bar = int(task.boundaries[bar])
    segments = []
    for start in range(0, task.steps, bar):
        segment = np.zeros(one_bar, np.float32)
        part = audio[int(task.boundaries[start]) : int(task.boundaries[start]) + one_bar]
        segment[: len(part)] = part
        segments.append((segment, task.sample_rate))
    env = DrumTranscribeEnv.make_vector(len(segments), bpm=task.bpm, **env_kwargs)
    try:
        actions, _, _, _ = run_episodes(policy, env, segments)
    finally:
        env.close()
    return actions.ravel().tolist()


__all__ = ["HIT_POLICY_FORMAT", "POLICY_PATH", "HitPolicy", "NumpyPolicy", "PolicyFileError", "SpectralPeakKick", "StepFeatureObservation", "StepFeatures", "VectorStepFeatures", "bar_position", "hit_context", "load", "step_levels", "run_episodes", "transcribe", "transcribe_bars"]
