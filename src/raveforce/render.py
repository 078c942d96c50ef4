"""Renderers: turn one step's notes into that step's audio.

Every renderer has `reset()`, `step(k, notes) -> float32 (n_k,)` (the samples of step k, from
`task.boundaries[k]` to `task.boundaries[k + 1]`) and `close()`.

- `StreamRenderer`: one kept-alive scsynth per environment, fed bundle by bundle (the default).
- `NRTRenderer`: a fresh `scsynth -N` render of the whole prefix at every step (the paper's method,
  and the reference the stream is tested against).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from raveforce import osc
from raveforce.errors import ScsynthError
from raveforce.scsynth import BlockClock, ScsynthStream, find_scsynth, render_nrt
from raveforce.task import Note, Task

MAIN_GROUP = 1


class Renderer(Protocol):
    def reset(self) -> None: ...
    def step(self, step: int, notes: Sequence[Note]) -> np.ndarray: ...
    def close(self) -> None: ...


def setup_messages(task: Task) -> list[bytes]:
    """Load the task's SynthDefs and sound files and make the group its notes play in."""
    messages = [osc.message("/d_recv", d) for d in task.compiled_synthdefs()]
    messages += [osc.message("/b_allocRead", i, str(path)) for i, path in enumerate(task.buffers)]
    messages.append(osc.message("/g_new", MAIN_GROUP, 0, 0))
    return messages


def note_message(note: Note, node: int, bus: int) -> bytes:
    args: list[int | float | str] = [note.synth, node, 0, MAIN_GROUP, "out", bus]
    for name, value in note.controls:
        args += [name, value]
    return osc.message("/s_new", *args)


def episode_score(task: Task, notes_per_step: Sequence[Sequence[Note]]) -> list[tuple[int, list[bytes]]]:
    """The one-shot score of an episode (or of its first len(notes_per_step) steps)."""
    clock = BlockClock(task.sample_rate)
    score = [(0, setup_messages(task))]
    for k, notes in enumerate(notes_per_step):
        if notes:
            score.append((clock.tag(task.boundaries[k]), [note_message(n, -1, 0) for n in notes]))
    return score


def render_episode(task: Task, notes_per_step: Sequence[Sequence[Note]], *, scsynth: str | None = None) -> np.ndarray:
    """float32 (task.total_samples,): an episode rendered in one go with a fresh scsynth."""
    audio = render_nrt(
        episode_score(task, notes_per_step),
        sample_rate=task.sample_rate,
        channels=1,
        frames=task.total_samples,
        executable=scsynth,
    )
    return audio[:, 0]


class NRTRenderer:
    """The paper's method: every step renders the whole prefix again with a fresh scsynth."""

    def __init__(self, task: Task, *, scsynth: str | None = None, timeout: float = 60.0) -> None:
        self.task = task
        self.scsynth = find_scsynth(scsynth)
        self.timeout = timeout
        self._history: list[Sequence[Note]] = []

    def reset(self) -> None:
        self._history = []

    def step(self, step: int, notes: Sequence[Note]) -> np.ndarray:
        if step != len(self._history):
            raise ScsynthError(f"step {step} out of order: {len(self._history)} steps rendered since reset")
        self._history.append(tuple(notes))
        b = self.task.boundaries
        audio = render_nrt(
            episode_score(self.task, self._history),
            sample_rate=self.task.sample_rate,
            channels=1,
            frames=int(b[step + 1]),
            executable=self.scsynth,
            timeout=self.timeout,
        )
        return audio[b[step] :, 0]

    def close(self) -> None:
        self._history = []


class StreamRenderer:
    """One kept-alive scsynth that renders each step as soon as its action is known.

    scsynth only renders whole 64-sample blocks, and a step boundary usually falls inside one
    (a 16th note at 120 BPM lasts 5512.5 samples). To end step k's audio exactly on its last
    sample, the block that holds the boundary must be rendered before step k+1's action is known.
    So every note step k+1 might play starts in advance, sample-accurately, on a side channel of
    its own; when the action arrives, the chosen notes are moved to the main output (`/n_set out 0`)
    from the next block on, their first samples are added from the side channels, and the
    others are freed. Tasks with continuous actions cannot list their notes in advance: they need
    boundaries on block starts, or the NRTRenderer.
    """

    def __init__(self, task: Task, *, scsynth: str | None = None, timeout: float = 10.0) -> None:
        if not self.supports(task):
            raise ValueError(
                f"task {task.name!r}: step boundaries {task.boundaries[:3].tolist()}... fall inside "
                "scsynth's 64-sample blocks and its continuous actions cannot be started in advance; "
                "use renderer='nrt' (or 'auto')"
            )
        self.task = task
        self.scsynth = find_scsynth(scsynth)
        self.timeout = timeout
        self.clock = BlockClock(task.sample_rate)
        self._candidates: tuple[Note, ...] = task.actions.candidates if self._needs_candidates(task) else ()
        self.channels = 1 + len(self._candidates)
        self._stream: ScsynthStream | None = None
        self._next_node = 1000
        self._origin = 0
        self._step = 0
        self._pending: list[int] = []  # candidate node ids started for the next step, one per candidate
        self._tail = np.zeros((0, self.channels), dtype=np.float32)  # rendered past the last step's end

    @staticmethod
    def _needs_candidates(task: Task) -> bool:
        return bool(np.any(task.boundaries[1:-1] % BlockClock(task.sample_rate).block_size))

    @classmethod
    def supports(cls, task: Task) -> bool:
        """Whether every step boundary is a block start, or the task's notes can start ahead."""
        return task.actions.candidates is not None or not cls._needs_candidates(task)

    def _start(self) -> None:
        self._stream = ScsynthStream(
            sample_rate=self.task.sample_rate,
            channels=self.channels,
            executable=self.scsynth,
            timeout=self.timeout,
        )
        self._stream.send(0, setup_messages(self.task))
        self._origin = 0

    def reset(self) -> None:
        """Begin a new episode: free the last episode's notes one block before the new origin."""
        if self._stream is None or not self._stream.alive:
            if self._stream is not None:
                self._stream.close()
            self._start()
        else:
            position = self._stream.frames_rendered
            self._stream.send(self.clock.tag(position), [osc.message("/g_freeAll", MAIN_GROUP)])
            self._origin = position + self.clock.block_size
        self._step = 0
        self._pending = []
        self._tail = np.zeros((0, self.channels), dtype=np.float32)

    def _node(self) -> int:
        self._next_node += 1
        return self._next_node

    def step(self, step: int, notes: Sequence[Note]) -> np.ndarray:
        if self._stream is None:
            raise ScsynthError("StreamRenderer.step() before reset()")
        if step != self._step:
            raise ScsynthError(f"step {step} out of order: expected step {self._step}")
        b = self.task.boundaries
        start, end = self._origin + int(b[step]), self._origin + int(b[step + 1])
        stream, clock = self._stream, self.clock
        chosen: list[int] = []  # candidate channels (1-based) whose first samples join the main output
        if self._pending:
            free = dict(enumerate(self._pending))
            moves = []
            for note in notes:
                i = next(i for i, c in free.items() if self._candidates[i] == note)
                moves.append(osc.message("/n_set", free.pop(i), "out", 0))
                chosen.append(i + 1)
            # /error -1: a note shorter than a block may have ended already; that is not an error.
            messages = [osc.message("/error", -1), *moves, *(osc.message("/n_free", n) for n in free.values())]
            stream.send(clock.tag(clock.ceil(start)), messages)
            self._pending = []
        elif notes:
            stream.send(clock.tag(start), [note_message(n, self._node(), 0) for n in notes])
        if step + 1 < self.task.steps and end % clock.block_size:
            self._pending = [self._node() for _ in self._candidates]
            starts = [note_message(c, node, ch + 1) for ch, (c, node) in enumerate(zip(self._candidates, self._pending))]
            stream.send(clock.tag(end), starts)
        position = stream.frames_rendered
        block = stream.render(clock.ceil(end) - position)
        if position < start - len(self._tail):  # the gap block after a reset
            block = block[start - position :]
        rendered = np.concatenate([self._tail, block]) if len(self._tail) else block
        audio = rendered[: end - start, 0].copy()
        if chosen:
            head = len(self._tail)
            audio[:head] += rendered[:head, chosen].sum(axis=1, dtype=np.float32)
        self._tail = rendered[end - start :]
        self._step = step + 1
        return audio

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def make_renderer(name: str, task: Task, *, scsynth: str | None = None, timeout: float | None = None) -> Renderer:
    """A renderer by name: "stream", "nrt", or "auto" (the stream where the task allows it)."""
    kwargs = {"scsynth": scsynth} | ({"timeout": timeout} if timeout is not None else {})
    if name == "auto":
        return (StreamRenderer if StreamRenderer.supports(task) else NRTRenderer)(task, **kwargs)
    if name == "stream":
        return StreamRenderer(task, **kwargs)
    if name == "nrt":
        return NRTRenderer(task, **kwargs)
    raise ValueError(f"renderer={name!r} is not one of 'auto', 'stream', 'nrt'")
