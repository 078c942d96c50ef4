"""The shipped drum transcriber, `HitPolicy`: it hears a loop through the `hits` reward's
classifier and writes every step down in one pass, at any tempo and length.

    from raveforce.transcribe import policy as transcriber
    transcriber.load()                                # the shipped HitPolicy
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

HIT_POLICY_FORMAT = "raveforce-hit-policy-1"


def bar_position(steps: int, steps_per_bar: int = 16, steps_per_beat: int = 4) -> np.ndarray:
    """float32 (steps, 4): each step's place in its bar and in its beat, as (sin, cos) pairs."""
    k = np.arange(steps)
    bar, beat = 2 * np.pi * (k % steps_per_bar) / steps_per_bar, 2 * np.pi * (k % steps_per_beat) / steps_per_beat
    return np.stack([np.sin(bar), np.cos(bar), np.sin(beat), np.cos(beat)], -1).astype(np.float32)


LEVEL_BANDS = ((0, 12), (12, 40), (40, 64))  # the classifier's mel bands, low (kicks), middle (snares) and high (hats)


def step_levels(windows: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """float32 (n, steps, 6): how loud each step starts, which the classifier's windows (each
    relative to its own peak) no longer say. From n loops' windows (n, steps, PRE + POST, BANDS)
    and their peaks in dB (n, steps): per band group of LEVEL_BANDS, the mean dB of the step's
    first 4 frames relative to the loudest value of the loop's windows, and its rise over the 4 frames before,
    both / 80."""
    from raveforce.rewards.hits import FLOOR_DB, PRE

    db = (windows - 1.0) * FLOOR_DB + peaks[..., None, None]
    loudest = peaks.max(axis=1)[:, None]
    out = []
    for lo, hi in LEVEL_BANDS:
        now, before = db[:, :, PRE : PRE + 4, lo:hi].mean((-2, -1)), db[:, :, :PRE, lo:hi].mean((-2, -1))
        out += [np.maximum(now - loudest, -FLOOR_DB) / FLOOR_DB, (now - before) / FLOOR_DB]
    return np.stack(out, -1).astype(np.float32)


def hit_context(hidden: np.ndarray, probabilities: np.ndarray, levels: np.ndarray | None = None) -> np.ndarray:
    """float32 (n, steps, hidden + 13 (+ 6)): a step's features for `HitPolicy`'s head from the
    hit classifier's outputs at every step of n loops (hidden (n, steps, hidden), probabilities
    (n, steps, 3)): the step's hidden units, the probabilities of the step before, the step and
    the step after (0 beyond the loop's ends), `bar_position`, and `step_levels` if given."""
    n, steps, _ = probabilities.shape
    padded = np.pad(probabilities, ((0, 0), (1, 1), (0, 0)))
    around = np.concatenate([padded[:, :-2], padded[:, 1:-1], padded[:, 2:]], -1)
    position = np.broadcast_to(bar_position(steps), (n, steps, 4))
    return np.concatenate([hidden, around, position, *([] if levels is None else [levels])], -1).astype(np.float32)


class HitPolicy:
    """The shipped drum transcriber: one pass over the target, no search.

    At every step it hears what the `hits` reward's classifier hears (the step's first ~110 ms,
    `rewards.hits.step_windows`; its own copy of the network, `trunk`): the classifier's hidden
    units at the step and its kick, snare and hat probabilities at the step and its two
    neighbours, with the step's place in the bar and the beat (`hit_context`). The `head` maps
    them to the logits of the 8 DrumLoop actions: a dense layer (ReLU), then, if the head has
    one, attention over all the loop's steps (a step can compare its sound with the others'),
    then a dense layer (ReLU) and the logits. Steps are the episode's own step boundaries, so it
    takes any tempo (steps of >= 128 samples) and any number of steps.
    """

    def __init__(self, trunk, head: dict[str, np.ndarray], *, meta: dict | None = None) -> None:
        self.trunk = trunk
        self.head = {k: np.asarray(v, np.float32) for k, v in head.items()}
        self.meta = dict(meta or {})
        self._planned: tuple[bytes, np.ndarray] | None = None

    def features(self, targets: np.ndarray, boundaries: np.ndarray, sample_rate: int = 44100) -> np.ndarray:
        """float32 (n, steps, size): `hit_context` of n targets (n, samples) whose steps start at
        `boundaries` (samples, steps + 1)."""
        from raveforce.rewards import hits

        targets = np.atleast_2d(targets)
        b = np.asarray(boundaries)
        db = np.concatenate([hits.step_windows_db(t, b[:-1], b[1:], sample_rate) for t in targets])
        windows = hits.normalise(db)
        hidden = self.trunk.hidden(windows)
        probabilities = self.trunk.hidden_probabilities(hidden)
        n, steps = len(targets), len(b) - 1
        levels = None
        if self.head["embed.weight"].shape[1] == hidden.shape[1] + 13 + 2 * len(LEVEL_BANDS):
            levels = step_levels(windows.reshape(n, steps, *windows.shape[1:]), db.max(axis=(1, 2)).astype(np.float32).reshape(n, steps))
        return hit_context(hidden.reshape(n, steps, -1), probabilities.reshape(n, steps, 3), levels)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """float32 (n, steps, 8) of features (n, steps, size)."""
        h = self.head

        def dense(name, v):
            return np.einsum("...i,oi->...o", v, h[f"{name}.weight"]) + h[f"{name}.bias"]

        z = np.maximum(dense("embed", x), 0.0)
        if "query.weight" in h:
            q, k, v = dense("query", z), dense("key", z), dense("value", z)
            scores = np.einsum("nsd,ntd->nst", q, k) / np.sqrt(q.shape[-1])
            weights = np.exp(scores - scores.max(-1, keepdims=True))
            z = np.concatenate([z, np.einsum("nst,ntd->nsd", weights / weights.sum(-1, keepdims=True), v)], -1)
        return dense("out", np.maximum(dense("mix", z), 0.0))

    def plan(self, targets: np.ndarray, boundaries: np.ndarray, sample_rate: int = 44100) -> np.ndarray:
        """int64 (n, steps): the actions of every step of n targets (n, samples)."""
        return self.logits(self.features(targets, boundaries, sample_rate)).argmax(-1)

    def act(self, audio: np.ndarray, target: np.ndarray, k: int, boundaries: np.ndarray | None = None) -> np.ndarray:
        """int64 (n,): step k's actions for n episodes (target (n, samples); audio unused: the
        plan depends on the target only, made at k = 0 and again whenever the targets or
        boundaries change); boundaries: the episode's step boundaries if not DrumTranscribe's."""
        import hashlib

        from raveforce.transcribe.targets import DRUM_TRANSCRIBE

        boundaries = DRUM_TRANSCRIBE.boundaries if boundaries is None else boundaries
        target = np.atleast_2d(target)
        sketch = np.ascontiguousarray(target[:, ::61]).tobytes()  # hashing every sample of 200 lanes took 60 ms a step
        key = hashlib.blake2b(sketch + np.asarray(boundaries).tobytes() + str(target.shape).encode(), digest_size=16).digest()
        if k == 0 or self._planned is None or self._planned[0] != key:
            self._planned = (key, self.plan(target, boundaries))
        return self._planned[1][:, min(int(k), self._planned[1].shape[1] - 1)]

    def check_tempo(self, boundaries: np.ndarray, bpm: float) -> None:
        """Any tempo: the features follow the step boundaries."""

    def save(self, path: str | os.PathLike) -> Path:
        """Writes the head, and the trunk unless it is the shipped hit classifier (then its digest)."""
        import json

        from raveforce.rewards import hits

        digest = _digest(self.trunk.w)
        shipped = digest == _digest(hits.classifier().w)
        arrays = {f"head/{k}": v for k, v in self.head.items()} | ({} if shipped else {f"trunk/{k}": v for k, v in self.trunk.w.items()})
        header = {"format": HIT_POLICY_FORMAT, "pools": [list(p) for p in self.trunk.pools], **self.meta}
        header["trunk"] = f"shipped hit classifier {digest}" if shipped else "in this file"
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, header=np.array(json.dumps(header)), **arrays)
        return path

    @classmethod
    def parse(cls, header: dict, data) -> HitPolicy:
        from raveforce.rewards import hits

        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k.removeprefix(prefix): data[k] for k in data.files if k.startswith(prefix)}

        trunk = part("trunk/")
        if trunk:
            trunk = hits.HitClassifier(trunk, header["pools"])
        else:
            trunk = hits.classifier()
            if header.get("trunk") != f"shipped hit classifier {_digest(trunk.w)}":
                raise ValueError(f"it hears through hit classifier {header.get('trunk')!r}, and the shipped one is {_digest(trunk.w)}")
        meta = {k: v for k, v in header.items() if k not in ("format", "pools", "trunk")}
        return cls(trunk, part("head/"), meta=meta)


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 (16 hex digits) of named arrays."""
    import hashlib

    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode() + np.ascontiguousarray(arrays[name], np.float32).tobytes())
    return h.hexdigest()[:16]


__all__ = ["HIT_POLICY_FORMAT", "LEVEL_BANDS", "HitPolicy", "bar_position", "hit_context", "step_levels"]
