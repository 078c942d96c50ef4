"""Criteria that survive another instrument or a few ms of timing jitter.

The paper's criteria compare waveforms or phase-bearing transforms: they reward the agent's own
instrument, and prefer silence to a right note played by another instrument.  These compare STFT
magnitudes (phase-free) at several resolutions, or move spectral mass along a log-frequency axis
(optimal transport): their minimum survives a different kit or a few ms of timing jitter, and
their basins are wide.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from typing import ClassVar

import numpy as np

from raveforce.rewards import features as F
from raveforce.rewards.base import Criterion, _variant, register
from raveforce.rewards.batch import _Batch, _write_signals


class _PrefixFrames:
    """One analysis of the target as every prefix sees it.

    ``tracker.extend`` is run over the target step by step; step k recomputes frames
    [first_k, stop_k) (those whose window reaches ``boundaries[k]``, zero-padded after
    ``boundaries[k + 1]``), kept as a snapshot.  Frames before first_k never change again,
    so the prefix of step k is ``final[:first_k]`` followed by step k's snapshot."""

    def __init__(self, tracker, target: np.ndarray, boundaries: np.ndarray, feature) -> None:
        self.firsts, self.snaps = [], []
        for k in range(len(boundaries) - 1):
            first, stop, mags = tracker.extend(boundaries[k], target[boundaries[k] : boundaries[k + 1]])
            self.firsts.append(first)
            self.snaps.append(feature(mags))
        self.final = np.empty((stop, *self.snaps[-1].shape[1:]))
        for first, snap in zip(self.firsts, self.snaps):
            self.final[first : first + len(snap)] = snap

    def rows(self, step: int, first: int, stop: int) -> np.ndarray:
        """(stop - first, ...) features of frames [first, stop) of the target prefix of ``step``."""
        fk = self.firsts[step]
        if first >= fk:
            return self.snaps[step][first - fk : stop - fk]
        return np.concatenate([self.final[first:fk], self.snaps[step][: stop - fk]])


KEPT_BYTES = 64 << 20  # the last targets' analyses kept per process (~9 MB for a 2 s multiscale target)
_kept: OrderedDict[tuple, tuple[list[_PrefixFrames], int]] = OrderedDict()
_kept_lock = threading.Lock()


def _target_frames(criterion: _Framewise) -> list[_PrefixFrames]:
    """criterion's ``_PrefixFrames`` of the target, one per analysis (read-only, shared): an env
    made again on the same target, with the same class, sample rate and boundaries, reuses those of
    the last ones made, up to KEPT_BYTES of them."""
    key = (
        type(criterion),
        criterion.sample_rate,
        criterion.target.dtype.str,
        hashlib.blake2b(criterion.target.tobytes(), digest_size=16).digest(),
        criterion.boundaries.tobytes(),
    )
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key][0]
    found = [
        _PrefixFrames(make_tracker(), criterion.target, criterion.boundaries, feature)
        for make_tracker, feature, _, _ in criterion._plan
    ]
    criterion._finish_target_frames(found)
    for frames in found:
        for array in (frames.final, *frames.snaps):
            array.flags.writeable = False  # shared by every criterion on this target
    size = sum(p.final.nbytes + sum(s.nbytes for s in p.snaps) for p in found)
    with _kept_lock:
        _kept[key] = (found, size)
        while sum(n for _, n in _kept.values()) > KEPT_BYTES:
            _kept.popitem(last=False)
    return found


class _Framewise(Criterion):
    """A criterion that is a sum over analyses of a mean over frames of a per-frame cost.

    Subclasses define ``_analyses()``: a list of ``(make_tracker, feature, cost, scale)``:
    ``make_tracker()`` a fresh frame tracker (``extend(start, samples) -> (first, stop, mags)``),
    ``feature(mags) -> (frames, ...)``, ``cost(fx, ft) -> (frames,)``; the analysis contributes
    ``scale * sum(cost over the prefix's frames) / frames``.  The target's features are
    computed once (shared by forks); each step recomputes only the audio frames it changes.
    Features and costs work on the last axis, so a batch of sub-envs runs through the same calls
    with a leading (m,) axis; trackers must be :class:`F.Magnitudes`."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._batch_caches = tuple(
            path for a in range(cls._analysis_count()) for path in (("_trackers", a, "signal", "data"), ("_costs", a))
        )

    @classmethod
    def _analysis_count(cls) -> int:
        """len(_analyses()), known from the class; 0: not batched."""
        return 0

    def __init__(self, target: np.ndarray, *, sample_rate: int, boundaries: np.ndarray) -> None:
        super().__init__(target, sample_rate=sample_rate, boundaries=boundaries)
        self._plan = self._analyses()
        self._targets = _target_frames(self)
        self._new_caches()

    def _analyses(self) -> list:
        raise NotImplementedError

    def _finish_target_frames(self, frames: list[_PrefixFrames]) -> None:
        """Change the target's frames, freshly computed, before they are shared (default: none)."""

    def _new_caches(self) -> None:
        self._trackers = [make_tracker() for make_tracker, *_ in self._plan]
        self._costs = [np.zeros(len(t.final)) for t in self._targets]

    def _update(self, audio: np.ndarray, step: int, start: int) -> float:
        stop_sample = self.boundaries[step + 1]
        total = 0.0
        for (_, feature, cost, scale), tracker, frames, costs in zip(self._plan, self._trackers, self._targets, self._costs):
            if not start:
                tracker.clear()
            first, stop, mags = tracker.extend(start, audio[start:stop_sample])
            costs[first:stop] = cost(feature(mags), frames.rows(step, first, stop))
            total += scale * float(np.add.reduce(costs[:stop])) / stop  # np.sum's arithmetic
        return total

    @classmethod
    def _batch_update(cls, batch: _Batch, audio: np.ndarray, step: int, start: int, follows: np.ndarray) -> np.ndarray:
        head = batch.criteria[0]
        length = int(head.boundaries[step + 1])
        totals = np.zeros(len(batch.criteria))
        for a, (_, feature, cost, scale) in enumerate(head._plan):
            data, costs = batch.arrays[2 * a : 2 * a + 2]
            trackers = [c._trackers[a] for c in batch.criteria]
            lo = _write_signals(batch, trackers, data, audio, start, length, follows, minus_target=False)
            first, stop = F.changed_frames(trackers[0], lo, length)
            for r in batch.chunks(row_bytes=8 * (stop - first) * trackers[0].n_fft):
                features = feature(F.magnitudes_many(data[r], trackers[0], lo, length, batch.scratch))  # (rows, frames, ...)
                for c, rows in batch.groups_in(r):
                    costs[r][rows, first:stop] = cost(features[rows], c._targets[a].rows(step, first, stop))
            totals += scale * np.sum(costs[:, :stop], axis=1) / stop
        return totals


Resolution = tuple[int, int, int]  # (n_fft, hop, window length), samples
DEFAULT_RESOLUTIONS: tuple[Resolution, ...] = ((2048, 512, 2048), (1024, 256, 1024), (512, 128, 512))


def _check_resolutions(resolutions) -> tuple[Resolution, ...]:
    out = []
    for r in resolutions:
        r = tuple(int(v) for v in (r if len(r) == 3 else (*r, r[0])))
        if not (r[0] >= 16 and 0 < r[1] and 0 < r[2] <= r[0]):
            raise ValueError(f"resolution {r} is not (n_fft >= 16, hop > 0, 0 < window <= n_fft)")
        out.append(r)
    if not out:
        raise ValueError("resolutions is empty")
    return tuple(out)


def _l1(fx: np.ndarray, ft: np.ndarray) -> np.ndarray:
    diff = fx - ft
    return np.add.reduce(np.abs(diff, out=diff), axis=-1)  # np.sum(np.abs(fx - ft), axis=-1), one temporary less


@register
class Multiscale(_Framewise):
    """Multi-resolution STFT magnitude distance (linear magnitudes, L1).

    For each resolution ``(n_fft, hop, win)`` (centred, zero-padded frames, periodic Hann of
    ``win`` samples), magnitudes ``M = sqrt(max(1e-8, |X|**2))``; the distance is the mean
    over resolutions of ``mean |M_audio - M_target|`` over (frames, n_fft//2 + 1 bins).
    Equal to auraloss's ``MultiResolutionSTFTLoss(w_sc=0, w_log_mag=0, w_lin_mag=1)`` on
    signals with >= n_fft/2 zeros at both ends (auraloss pads by reflection).
    Units: STFT magnitude (linear amplitude x window sum); gain g scales it by g; phase-free.
    Cost per incremental step, defaults: ~(new samples + n_fft) / hop rffts per resolution
    (~0.3 ms for 5512 new samples at 44.1 kHz).  Parameters: :func:`multiscale`."""

    name = "multiscale"
    resolutions: ClassVar[tuple[Resolution, ...]] = DEFAULT_RESOLUTIONS
    log: ClassVar[bool] = False

    @classmethod
    def _analysis_count(cls) -> int:
        return len(cls.resolutions)

    def _analyses(self) -> list:
        n = len(self.target)
        feature = (lambda m: np.log(m, out=m)) if self.log else (lambda m: m)
        return [
            (functools.partial(F.Magnitudes, n, n_fft, hop, win), feature, _l1, 1.0 / (len(self.resolutions) * (n_fft // 2 + 1)))
            for n_fft, hop, win in self.resolutions
        ]


@register
class MultiscaleLog(Multiscale):
    """As :class:`Multiscale` on natural-log magnitudes: ``mean |log M_audio - log M_target|``
    (auraloss's ``w_log_mag`` term).  Units: nepers; gain-invariant up to the 1e-4 magnitude
    floor (silence is log 1e-4).  Same cost as multiscale."""

    name = "multiscale_log"
    log = True


def _ot_feature(power: np.ndarray) -> np.ndarray:
    """(..., frames, bins) powers |X|**2 -> (..., frames, bins), in place: the CDF of the power
    spectrum over bins 0..bins-2, then the mass sqrt(sum |X|**2) (frequency-independent for a
    sine, by Parseval)."""
    cum = F.cumsum_rows(power, out=power)
    energy = cum[..., -1:]
    cum[..., :-1] /= np.where(energy > 0, energy, 1.0)
    np.sqrt(energy, out=energy)
    return cum


@register
class SpectralOT(_Framewise):
    """1-D optimal transport (Wasserstein-1) between STFT magnitude spectra on a log-frequency axis.

    Per frame (centred, zero-padded, Hann, ``n_fft`` / ``hop``), with masses ``m = sum_f |X[f]|``
    and spectra normalised to distributions over ``u = log2(max(f, fmin))`` (octaves):
    ``cost = min(m_a, m_t) * W1(p_a, p_t) + mass_cost * |m_a - m_t|``
    (partial transport: the common mass is moved along the axis, the rest created or destroyed
    at ``mass_cost`` octaves per unit).  ``W1 = sum_f |CDF_a - CDF_t| * du``, exact in 1-D.
    The distance is the mean cost per frame.  Units: STFT magnitude x octaves.  A pure tone
    against a pure tone costs ``m * |log2(f_a / f_t)|``: a single basin as wide as the axis.
    Gain g scales it by g.  Cost per incremental step: one rfft, a cumsum and a dot product per
    new frame (~0.2 ms for 5512 new samples).  Parameters: :func:`spectral_ot`."""

    name = "spectral_ot"
    n_fft: ClassVar[int] = 2048
    hop: ClassVar[int] = 256
    fmin: ClassVar[float] = 20.0  # Hz: lower frequencies share its place on the axis
    mass_cost: ClassVar[float] = 1.0  # octaves per unit of unmatched magnitude

    @classmethod
    def _analysis_count(cls) -> int:
        return 1

    def _analyses(self) -> list:
        du = F.log_frequency_steps(self.n_fft, self.sample_rate, self.fmin)
        mass_cost = self.mass_cost

        def cost(fx: np.ndarray, ft: np.ndarray) -> np.ndarray:
            mx, mt = fx[..., -1], ft[..., -1]
            moved = fx[..., :-1] - ft[..., :-1]
            np.abs(moved, out=moved)
            moved *= du
            return np.minimum(mx, mt) * np.add.reduce(moved, axis=-1) + mass_cost * np.abs(mx - mt)  # np.sum(|CDF_a - CDF_t| * du)

        tracker = functools.partial(F.Magnitudes, len(self.target), self.n_fft, self.hop, self.n_fft, 0.0, power=True)
        return [(tracker, _ot_feature, cost, 1.0)]



def multiscale(resolutions=DEFAULT_RESOLUTIONS, *, log: bool = False) -> type[Criterion]:
    """The multi-resolution magnitude criterion with other ``resolutions``: ``(n_fft, hop)`` or
    ``(n_fft, hop, window length)`` tuples, in samples.  Pass the result as ``reward=``."""
    res = _check_resolutions(resolutions)
    return _variant(Multiscale, f"multiscale{'_log' if log else ''}(resolutions={res})", resolutions=res, log=bool(log))


def spectral_ot(*, n_fft: int = 2048, hop: int = 256, fmin: float = 20.0, mass_cost: float = 1.0) -> type[Criterion]:
    """The spectral OT criterion with other parameters (samples, Hz, octaves per unit mass)."""
    if not (n_fft >= 16 and 0 < hop and fmin > 0 and mass_cost >= 0):
        raise ValueError(f"need n_fft >= 16, hop > 0, fmin > 0, mass_cost >= 0; got {n_fft}, {hop}, {fmin}, {mass_cost}")
    label = f"spectral_ot(n_fft={n_fft}, hop={hop}, fmin={fmin}, mass_cost={mass_cost})"
    return _variant(SpectralOT, label, n_fft=int(n_fft), hop=int(hop), fmin=float(fmin), mass_cost=float(mass_cost))

