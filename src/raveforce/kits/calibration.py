"""Kit calibration: fit the agent's drum kit to a target loop before sequencing it.

Also the fast search both calibration and the robustness benchmark use: greedy / beam search
over a drum task whose audio is the mix of its one-shots at the step boundaries (exact for
one-shot voices: `render_episode` of the same actions, up to float rounding).
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from raveforce import kits
from raveforce._optional import one_blas_thread
from raveforce.errors import TargetError
from raveforce.rewards import Criterion
from raveforce.rewards import features as F
from raveforce.task import Task
from raveforce.tasks import DRUM_LOOP


def snapshot(criterion: Criterion) -> Criterion:
    """A copy of `criterion` with its own incremental caches (as they are now) and the target's
    precomputed features shared: the next step can be scored incrementally on the copy."""
    twin = criterion.fork()
    shared = {id(v): v for k, v in vars(criterion).items() if vars(twin).get(k) is v}
    return copy.deepcopy(criterion, shared)


def action_shots(shots: dict[str, np.ndarray] | Sequence[np.ndarray], actions: int, total: int) -> np.ndarray:
    """float32 (actions, total): action a's audio at sample 0, the sum of voice i's one-shot for
    every bit i set in a (DrumLoop's actions); `shots` per voice, in bit order."""
    voices = list(shots.values()) if isinstance(shots, dict) else list(shots)
    out = np.zeros((actions, total), np.float32)
    for a in range(actions):
        for i, shot in enumerate(voices):
            if a >> i & 1:
                n = min(total, len(shot))
                out[a, :n] += shot[:n]
    return out


def mixed_search(criterion: Criterion, shots: np.ndarray, task: Task, *, width: int = 1) -> tuple[list[int], float]:
    """Beam search (greedy: width 1) of the action sequence whose mixed one-shots `shots`
    (actions, >= 1 samples, action a started at sample 0) score best under `criterion`, one
    step at a time; the beams are the `width` prefixes of highest return (sum of -distance).
    Returns (actions, return)."""
    b = task.boundaries
    n = task.total_samples
    criterion.reset()
    beams = [((), 0.0, np.zeros(n, np.float32), criterion)]
    for k in range(task.steps):
        scored = []
        for prefix, ret, audio, crit in beams:
            for a in range(len(shots)):
                trial = audio.copy()
                part = shots[a][: n - b[k]]
                trial[b[k] : b[k] + len(part)] += part
                twin = snapshot(crit)
                scored.append((prefix + (a,), ret - twin.distance(trial, k), trial, twin))
        scored.sort(key=lambda c: -c[1])  # stable: ties keep the lower action
        beams = scored[:width]
    return list(beams[0][0]), float(beams[0][1])


# --- calibration ------------------------------------------------------------------------------------
#
# The target is modelled as every voice's one-shot started at every step, each scaled by an
# activation >= 0, summed on a mel magnitude spectrogram (jitter, room and tails are the misfit).
# For each voice in turn, the candidate sound whose non-negative least-squares fit of the
# activations leaves the smallest residual is kept; its gain is the median activation of the
# steps where it clearly plays.

BANK = 48  # candidate sounds per voice: the shipped kit's and those of train-split kits
N_FFT, HOP, FINE_HOP, MEL_BANDS = 2048, 512, 128, 48  # the fit's spectrogram (samples, bands)
ROUNDS = 2
PLAYS = 0.3  # a step plays a voice when its activation is above PLAYS * that voice's largest
SILENT = 1e-4  # peak below which a target holds no hit
HIT_RISE_DB = 8.0  # a hit: a frame whose mel bands rise this much on average (dev loops: >= 11; noise ~3, a sine's start ~5)


@dataclass
class Calibration:
    """The agent's kit fitted to a target: `kit` (dry; each voice's `amp` includes its fitted
    gain), `fitted[v]` the train-split seed whose voice v was chosen (None: the shipped kit's
    sound fitted best), `activations` float (steps, voices) of the final fit, the fit's relative
    residual before (shipped kit) and after, and the `seconds` it took."""

    kit: kits.Kit
    fitted: dict[str, int | None]
    activations: np.ndarray
    residual_before: float
    residual_after: float
    seconds: float

    def summary(self) -> dict:
        """JSON-friendly: the fitted voices' controls and the fit's figures."""
        return {
            "voices": {v: {k: round(float(x), 6) for k, x in c.items()} for v, c in self.kit.voices.items()},
            "from_seed": self.fitted,
            "activations": np.round(self.activations, 4).tolist(),
            "residual_before": round(self.residual_before, 6),
            "residual_after": round(self.residual_after, 6),
            "seconds": round(self.seconds, 3),
        }


def _mel(audio: np.ndarray, centres: np.ndarray, sample_rate: int) -> np.ndarray:
    """float64 (len(centres), MEL_BANDS): mel magnitudes of Hann frames centred at `centres`
    (samples; audio zero outside)."""
    padded = np.concatenate([np.zeros(N_FFT), np.asarray(audio, np.float64), np.zeros(N_FFT)])
    idx = (centres[:, None] + N_FFT // 2) + np.arange(N_FFT)
    spectra = np.fft.rfft(padded[idx] * np.hanning(N_FFT + 1)[:-1], axis=1)
    return np.sqrt((spectra.real**2 + spectra.imag**2) @ F.mel_triangles(sample_rate, N_FFT, MEL_BANDS, 30.0, 16000.0))


def _strongest_onset_db(spectrogram: np.ndarray) -> float:
    """The largest rise from one frame to the next of (frames, bands) magnitudes, in dB averaged
    over the bands (levels floored 60 dB below the loudest)."""
    db = 20 * np.log10(np.maximum(spectrogram, 1e-10))
    db = np.maximum(db, db.max() - 60.0)
    return float(np.maximum(np.diff(db, axis=0), 0.0).mean(axis=1).max(initial=0.0))


class _Design:
    """The columns of the fit: each candidate sound's spectrogram as it sounds from each step."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.frames = np.arange(0, task.total_samples, HOP)
        self.offsets = self.frames[None, :] - task.boundaries[:-1, None]  # (steps, frames) samples after each step's start

    def columns(self, shot: np.ndarray) -> np.ndarray:
        """float64 (frames * bands, steps): the shot started at each step, as loop spectrogram."""
        audible = np.flatnonzero(np.abs(shot) > 1e-6)
        shot = shot[: audible[-1] + 1 if len(audible) else 1]
        fine = _mel(shot, np.arange(-N_FFT // 2, len(shot) + N_FFT // 2, FINE_HOP), self.task.sample_rate)
        index = np.rint((self.offsets + N_FFT // 2) / FINE_HOP).astype(int)
        inside = (index >= 0) & (index < len(fine))
        out = np.where(inside[..., None], fine[np.clip(index, 0, len(fine) - 1)], 0.0)  # (steps, frames, bands)
        return out.reshape(len(out), -1).T


def calibrate(task: Task = DRUM_LOOP, target=None, *, bank: int = BANK, rounds: int = ROUNDS, progress=None) -> Calibration:
    """Fit a kit of the family (`raveforce.kits`) to `target` (a path, (samples, rate), or None:
    the task's) of a DrumLoop-like task (voices kick, snare, hat as action bits): starting from
    the shipped kit's sounds, for each voice pick among `bank` candidate sounds (the shipped
    kit's, then train-split kits') the one that best explains the target with the others
    (non-negative activations per step and voice on a mel spectrogram), `rounds` times; then
    set each voice's gain. Raises TargetError for a silent target or one where no hit fits."""
    with one_blas_thread():
        return _calibrate(task, target, bank=bank, rounds=rounds, progress=progress)


@functools.lru_cache(maxsize=2)
def _bank(task: Task, bank: int):
    """(train seeds, source kits, {voice: [columns (frames * bands, steps) per sound]}, {voice:
    [their Gram matrices]}): the candidate sounds (the shipped kit's first), rendered once."""
    seeds = kits.split_seeds("train", bank - 1)
    sources = [kits.shipped_like(), *(kits.draw(s) for s in seeds)]
    rate = task.sample_rate
    frames = min(task.total_samples, round(max(k.seconds(v) for k in sources for v in kits.VOICES) * rate))
    design = _Design(task)
    columns = {v: [design.columns(shot) for shot in kits.render_notes([k.notes()[v] for k in sources], rate, frames)] for v in kits.VOICES}
    gram = {v: [c.T @ c for c in columns[v]] for v in kits.VOICES}
    return seeds, sources, columns, gram


def _calibrate(task: Task, target, *, bank: int, rounds: int, progress) -> Calibration:
    from scipy.optimize import nnls

    start_time = time.perf_counter()
    audio = task.load_target(target)
    peak = float(np.abs(audio).max())
    if not peak >= SILENT:
        raise TargetError(f"target is silent (peak {peak:.2g} < {SILENT}): there is no hit to calibrate the kit on")
    seeds, sources, columns, gram = _bank(task, bank)
    design = _Design(task)
    spectrogram = _mel(audio, design.frames, task.sample_rate)
    rise = _strongest_onset_db(spectrogram)
    if not rise >= HIT_RISE_DB:
        raise TargetError(
            f"no drum hit found in the target: its strongest onset rises {rise:.1f} dB on average over "
            f"the mel bands, a hit rises >= {HIT_RISE_DB} dB; the kit cannot be calibrated on it"
        )
    y = spectrogram.reshape(-1)
    norm = float(np.linalg.norm(y))
    choice = {v: 0 for v in kits.VOICES}
    projected = {v: [c.T @ y for c in columns[v]] for v in kits.VOICES}

    def fit(choice) -> tuple[float, np.ndarray]:
        """(relative residual, activations (steps, voices)): min ||A x - y||, x >= 0, solved on
        the Gram matrix G = A'A = L L' as min ||L' x - z||, L z = A'y (48 unknowns)."""
        blocks = [columns[v][choice[v]] for v in kits.VOICES]
        g = np.block([[gram[v][choice[v]] if u == v else blocks[i].T @ blocks[j] for j, v in enumerate(kits.VOICES)] for i, u in enumerate(kits.VOICES)])
        b = np.concatenate([projected[v][choice[v]] for v in kits.VOICES])
        lower = np.linalg.cholesky(g + 1e-9 * np.trace(g) / len(g) * np.eye(len(g)))
        z = np.linalg.solve(lower, b)
        x, _ = nnls(lower.T, z, maxiter=2000)
        residual = np.sqrt(max(0.0, float(y @ y - 2 * x @ b + x @ g @ x)))
        return residual / norm, x.reshape(len(kits.VOICES), -1).T

    before, activations = fit(choice)
    after = before
    for r in range(rounds):
        for v in kits.VOICES:
            for c in range(len(sources)):
                residual, x = fit({**choice, v: c})
                if residual < after:
                    after, activations, choice[v] = residual, x, c
        if progress:
            progress(r + 1, rounds, f"round {r + 1}: residual {before:.3f} -> {after:.3f}")
    voices = {}
    for i, v in enumerate(kits.VOICES):
        a = activations[:, i]
        plays = a > PLAYS * a.max()
        gain = float(np.median(a[plays])) if plays.any() else 1.0
        source = sources[choice[v]].voices[v]
        voices[v] = {**source, "amp": source["amp"] * gain}
    if not (activations.max() > 0):
        raise TargetError("no drum sound of the kit family fits the target at any step: the kit cannot be calibrated on it")
    origin = {v: None if choice[v] == 0 else seeds[choice[v] - 1] for v in kits.VOICES}
    kit = kits.Kit(-1, voices, kits.Rendition.dry(task.sample_rate))
    return Calibration(kit, origin, activations, float(before), float(after), time.perf_counter() - start_time)
