"""Batching: many criteria of one class (sub-envs of a vector env) stepped in a few numpy calls."""

from __future__ import annotations

import functools

import numpy as np

from raveforce.rewards.base import Criterion


def _get(owner, key: str | int):
    """``owner.key``, or ``owner[key]`` for an int key (a list of trackers)."""
    return owner[key] if isinstance(key, int) else getattr(owner, key)


def _set(owner, key: str | int, value) -> None:
    if isinstance(key, int):
        owner[key] = value
    else:
        setattr(owner, key, value)


class _Batch:
    """Criteria stepped together.  Their ``_batch_caches`` arrays become the rows of shared
    ``arrays`` (m, ...), so one numpy call updates them all; each criterion still works alone
    on its rows.  ``groups``: (criterion, rows) per distinct target, rows (a slice or an index
    array) the criteria sharing that criterion's target."""

    def __init__(self, criteria: list[Criterion]) -> None:
        self.criteria = criteria
        self.arrays = []
        for path in criteria[0]._batch_caches:
            owners = [functools.reduce(_get, path[:-1], c) for c in criteria]
            shared = np.stack([_get(o, path[-1]) for o in owners])
            for owner, row in zip(owners, shared):
                _set(owner, path[-1], row)
            self.arrays.append(shared)
        for c in criteria:
            c._after_batching()
        by_target: dict[int, list[int]] = {}
        for i, c in enumerate(criteria):
            by_target.setdefault(id(c.target), []).append(i)
            c._batch = self
        if len(by_target) == 1:
            self.groups = [(criteria[0], slice(None))]
        else:
            self.groups = [(criteria[rows[0]], np.array(rows)) for rows in by_target.values()]
        self._scratch = np.empty(0)
        self.segment: np.ndarray | None = None  # (m, n) the new samples of the last call, row i criterion i's

    @classmethod
    def of(cls, criteria: list[Criterion]) -> _Batch:
        """The batch of exactly these criteria, in this order (made on first use)."""
        batch = getattr(criteria[0], "_batch", None)
        if batch is None or len(batch.criteria) != len(criteria) or not all(
            getattr(c, "_batch", None) is batch and c is d for c, d in zip(criteria, batch.criteria)
        ):
            batch = cls(criteria)
        return batch

    def follows(self, audio: np.ndarray, step: int, start: int) -> np.ndarray:
        """(m,) bool: ``[c._follows(row, step, start) ...]``, in one comparison when every
        criterion still holds the rows this batch's last call gave it."""
        segment = self.segment
        if segment is not None and all(
            c._step == step - 1 and c._last_start == self.criteria[0]._last_start and c._last_segment.base is segment
            for c in self.criteria
        ):
            last = self.criteria[0]._last_start
            if start - last == segment.shape[1]:
                return (audio[:, last:start] == segment).all(axis=1)
        return np.array([c._follows(row, step, start) for c, row in zip(self.criteria, audio)])

    CHUNK = 8  # rows per FFT call: 8 sub-envs' frames (~1.8 MB) ran fastest; all 64 at once, slower than one by one
    CHUNK_BYTES = 2 << 20

    def chunks(self, row_bytes: int = 0) -> list[slice]:
        """Row slices of at most CHUNK rows, and of at most CHUNK_BYTES of frames if ``row_bytes``
        (one row's frames) is given, for the FFT-based criteria (large temporaries are slow)."""
        size = max(1, min(self.CHUNK, self.CHUNK_BYTES // row_bytes)) if row_bytes else self.CHUNK
        return [slice(i, i + size) for i in range(0, len(self.criteria), size)]

    def groups_in(self, chunk: slice) -> list[tuple[Criterion, slice | np.ndarray]]:
        """``groups`` restricted to the rows of ``chunk``: (criterion, rows counted from chunk.start)."""
        if len(self.groups) == 1:
            return [(self.groups[0][0], slice(None))]
        index = np.arange(len(self.criteria))[chunk]
        out = []
        for c, rows in self.groups:
            inside = np.flatnonzero(np.isin(index, rows))
            if len(inside):
                out.append((c, inside))
        return out

    def scratch(self, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised float64 work array, reused between steps (no page faults)."""
        size = int(np.prod(shape))
        if self._scratch.size < size:
            self._scratch = np.empty(size)
        return self._scratch[:size].reshape(shape)

    def rows(self, follows: np.ndarray, start: int):
        """(criterion, rows, lo) for each target group: its rows to (re)write from sample ``lo``:
        ``start`` where ``follows``, 0 elsewhere (the common case gives slices)."""
        if follows.all():
            return [(c, rows, start) for c, rows in self.groups]
        out = []
        for c, rows in self.groups:
            index = np.arange(len(self.criteria))[rows]
            out += [(c, index[follows[index]], start), (c, index[~follows[index]], 0)]
        return [(c, rows, lo) for c, rows, lo in out if len(rows)]


def batch_distances(criteria, audio: np.ndarray, step: int) -> np.ndarray:
    """(n,) float64 ``[c.distance(audio[i], step) for i, c in enumerate(criteria)]``, bit-identical,
    each criterion's cache left as that call leaves it.  ``audio``: (n, >= boundaries[step + 1])
    float rows.  Criteria of one batching class (mse, stft, mfcc) with equal boundaries and
    sample rates (``make()`` and its ``fork()``s; targets may differ) are computed together,
    a few numpy calls per step for all; other criteria, one call each."""
    criteria = list(criteria)
    audio = np.asarray(audio)
    if audio.ndim != 2 or len(audio) != len(criteria):
        raise ValueError(f"audio must be 2-D with one row per criterion ({len(criteria)}), got shape {audio.shape}")
    head = criteria[0] if criteria else None
    if len(criteria) < 2 or not head._batch_caches or not all(
        type(c) is type(head)
        and c.sample_rate == head.sample_rate
        and (c.boundaries is head.boundaries or np.array_equal(c.boundaries, head.boundaries))
        for c in criteria
    ):
        return np.array([c.distance(row, step) for c, row in zip(criteria, audio)], dtype=np.float64)
    start, stop = head._span(audio[0], step)
    batch = _Batch.of(criteria)
    follows = batch.follows(audio, step, start)
    for c in criteria:
        c._step = None  # an exception below leaves the caches invalid
    values = type(head)._batch_update(batch, audio, int(step), start, follows)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise ValueError(f"{head.name} distance of row {bad[0]} at step {step} is {values[bad[0]]!r}: audio has non-finite samples")
    segment = batch.segment
    if segment is not None and segment.shape == (len(criteria), stop - start) and segment.dtype == audio.dtype:
        np.copyto(segment, audio[:, start:stop])  # the rows' views stay the criteria's last segments
    else:
        batch.segment = segment = np.array(audio[:, start:stop])
    for c, row in zip(criteria, segment):
        c._last_start, c._last_segment, c._step = start, row, int(step)
    return values



def _write_signals(batch: _Batch, trackers: list, data: np.ndarray, audio: np.ndarray, start: int, stop: int, follows: np.ndarray, *, minus_target: bool) -> int:
    """Write each row's new samples (minus its target for linear criteria) into the trackers'
    shared signal rows ``data``, as ``tracker.extend`` would (rows not following are cleared and
    written from 0); return the first sample written in any row."""
    pad = trackers[0].signal.pad
    for i in np.flatnonzero(~follows):
        trackers[i].clear()
    for c, rows, lo in batch.rows(follows, start):
        new = audio[rows, lo:stop]
        data[rows, pad + lo : pad + stop] = new - c.target[lo:stop] if minus_target else new
    for tracker in trackers:
        tracker.signal.length = stop
    return start if follows.all() else 0

