"""The shipped kick transcriber: a small numpy model that hears a KickTranscribe-v0 target and
answers its frequency in one pass (one env step).

    from raveforce.transcribe import kick_policy as kick_transcriber
    policy = kick_transcriber.load()          # raveforce/data/policies/kick_transcriber.npz
    actions = policy.act(obs["audio"], obs["target"], 0)   # float32 (n, 1)

Features: the target's log-magnitude spectrum (zero-padded FFT) read on a log-frequency axis of
`bins` points. Model: one logit per bin, a learned filter along the log-frequency axis (the same
at every bin: a pitch shift is a shift there) plus a bias per bin; the answer is the probability-weighted
mean log-frequency of the bins around the most likely one. Trained by imitation (cross-entropy
against a bump at info["target_action"]'s frequency), not by RL: `scripts/train_kick_transcriber.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from raveforce.task import Task
from raveforce.transcribe.policy import PolicyFileError, read_policy_file

POLICY_PATH = Path(__file__).resolve().parents[1] / "data" / "policies" / "kick_transcriber.npz"
FORMAT = "raveforce-kick-policy-1"


class LogFrequencySpectrum:
    """float32 (n, bins): log-magnitude spectra of (n, samples) targets at `bins` log-spaced
    frequencies from low to high Hz, in [0, 1]: 1 at each row's maximum, 0 at `floor` nepers
    (natural log) below it or lower."""

    def __init__(self, sample_rate: int, *, low: float = 25.0, high: float = 2400.0, bins: int = 384, n_fft: int = 1 << 16, floor: float = 12.0) -> None:
        self.sample_rate, self.low, self.high, self.bins, self.n_fft = int(sample_rate), float(low), float(high), int(bins), int(n_fft)
        self.floor = float(floor)
        self.log_frequencies = np.linspace(np.log(self.low), np.log(self.high), self.bins)  # ln Hz, (bins,)

    def config(self) -> dict:
        return {"sample_rate": self.sample_rate, "low": self.low, "high": self.high, "bins": self.bins, "n_fft": self.n_fft, "floor": self.floor}

    def __call__(self, target: np.ndarray) -> np.ndarray:
        spectrum = np.log(np.abs(np.fft.rfft(np.atleast_2d(target), self.n_fft, axis=1)) + 1e-9)
        position = np.exp(self.log_frequencies) * self.n_fft / self.sample_rate  # fractional FFT bin
        i = np.floor(position).astype(np.int64)
        w = position - i
        out = spectrum[:, i] * (1 - w) + spectrum[:, i + 1] * w
        return np.clip(1 + (out - out.max(axis=1, keepdims=True)) / self.floor, 0, 1).astype(np.float32)


def windows(x: np.ndarray, taps: int) -> np.ndarray:
    """(n, bins, taps) view: the `taps` features centred on each bin (zero past the ends)."""
    half = taps // 2
    return np.lib.stride_tricks.sliding_window_view(np.pad(x, ((0, 0), (half, half))), taps, axis=1)


class KickPolicy:
    """`logits[k] = sum_j kernel[j] features[k + j - taps // 2] + bias[k]` (bins,), decoded to a
    frequency around the argmax. kernel (taps,) odd, bias (bins,)."""

    def __init__(self, features: LogFrequencySpectrum, kernel: np.ndarray, bias: np.ndarray, *, meta: dict | None = None) -> None:
        self.features, self.kernel, self.bias, self.meta = features, kernel, bias, dict(meta or {})

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits = windows(x, len(self.kernel)) @ self.kernel + self.bias
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def frequency(self, target: np.ndarray, *, window: int = 2) -> np.ndarray:
        """float64 (n,) Hz of (n, samples) targets."""
        p = self.probabilities(self.features(target))
        k = np.clip(p.argmax(axis=1), window, self.features.bins - 1 - window)
        near = k[:, None] + np.arange(-window, window + 1)
        weights = np.take_along_axis(p, near, axis=1)
        return np.exp((weights * self.features.log_frequencies[near]).sum(axis=1) / weights.sum(axis=1))

    def act(self, audio: np.ndarray, target: np.ndarray, k: int = 0, *, task: Task | None = None) -> np.ndarray:
        """float32 (n, 1): the KickTranscribe actions that play each target's frequency."""
        from raveforce.transcribe import KICK_TRANSCRIBE

        control = (task or KICK_TRANSCRIBE).actions.controls[0]
        f = np.clip(self.frequency(target), control.low, control.high)
        return (np.log(f / control.low) / np.log(control.high / control.low)).astype(np.float32)[:, None]

    def save(self, path: str | os.PathLike) -> Path:
        header = {"format": FORMAT, "features": self.features.config(), **self.meta}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, header=np.array(json.dumps(header)), kernel=self.kernel, bias=self.bias)
        return path


def load(path: str | os.PathLike | None = None) -> KickPolicy:
    """The kick policy in `path` (default the shipped one); PolicyFileError names a bad file."""
    path = POLICY_PATH if path is None else Path(path)
    header, kernel, bias, features = read_policy_file(
        path, {FORMAT: lambda header, data: (header, data["kernel"], data["bias"], LogFrequencySpectrum(**header["features"]))}, what="kick policy"
    )
    if kernel.ndim != 1 or len(kernel) % 2 == 0 or bias.shape != (features.bins,):
        raise PolicyFileError(f"kick policy file {str(path)!r} has kernel {kernel.shape}, bias {bias.shape}: not (odd taps,), ({features.bins},)")
    meta = {k: v for k, v in header.items() if k not in ("format", "features")}
    return KickPolicy(features, kernel, bias, meta=meta)


__all__ = ["POLICY_PATH", "KickPolicy", "LogFrequencySpectrum", "PolicyFileError", "load"]
