"""Renderers: turn one step's notes into that step's audio.

Every renderer has `reset()`, `step(k, notes) -> float32 (n_k,)` (the samples of step k, from
`task.boundaries[k]` to `task.boundaries[k + 1]`) and `close()`.

- `StreamRenderer`: one kept-alive scsynth per environment, fed bundle by bundle (the default).
- `NRTRenderer`: a fresh `scsynth -N` render of the whole prefix at every step (the paper's method,
  and the reference the stream is tested against).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Protocol

import numpy as np

from raveforce.audio import check_sound_file, sounding_frames
from raveforce.errors import ArgumentError, ScsynthError
from raveforce.synth import osc
from raveforce.synth.scsynth import BlockClock, ScsynthStream, find_scsynth, render_nrt
from raveforce.task import Note, Task

MAIN_GROUP = 1


class Renderer(Protocol):
    def reset(self) -> None: ...
    def step(self, step: int, notes: Sequence[Note]) -> np.ndarray: ...
    def close(self) -> None: ...


def setup_messages(task: Task) -> list[bytes]:
    """Load the task's SynthDefs and sound files and make the group its notes play in."""
    messages = [osc.message("/d_recv", d) for d in task.compiled_synthdefs()]
    for i, path in enumerate(task.buffers):
        check_sound_file(path, f"task {task.name!r}: buffers[{i}]")
        frames = (0, sounding_frames(path)) if task.one_shot_buffers else ()  # from frame 0; else the whole file
        messages.append(osc.message("/b_allocRead", i, str(path), *frames))
    messages.append(osc.message("/g_new", MAIN_GROUP, 0, 0))
    return messages


@lru_cache(maxsize=4096)
def _note_template(note: Note) -> osc.Template:
    args: list[int | float | str | None] = [note.synth, None, 0, MAIN_GROUP, "out", None]
    for name, value in note.controls:
        args += [name, value]
    return osc.Template("/s_new", *args)


def note_message(note: Note, node: int, bus: int) -> bytes:
    """/s_new of `note` as node `node` at the head of the main group, writing to bus `bus`."""
    return _note_template(note)(node, bus)


_N_SETS_OUT = osc.Frames(osc.Template("/n_set", None, "out", None))  # rows of (node, bus)
_NO_ERRORS = osc.message("/error", -1)  # a note shorter than a block may have ended: no error


def _mix_by_sum(side: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """float32 (lanes, head): each lane's chosen candidates in the side channels `side` (head,
    candidates) weighted by `chosen` (lanes, candidates), summed by numpy over the candidates."""
    return (side[:, None, :] * chosen).sum(axis=2, dtype=np.float32).T


def _mix_in_order(side: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """`_mix_by_sum` as one in-place add per candidate from +0.0 (a reduction over a short axis
    costs numpy ~40 us; numpy sums fewer than 8 elements in this order, see `_in_order_is_exact`)."""
    total = np.zeros((len(side), len(chosen)), dtype=np.float32)
    for j in range(side.shape[1]):
        total += side[:, j, None] * chosen[:, j]
    return total.T


@cache
def _in_order_is_exact(candidates: int, lanes: int) -> bool:
    """Whether `_mix_in_order` gives `_mix_by_sum`'s bits (signed zeros included), checked once on
    random side channels."""
    rng = np.random.default_rng(0)
    side = rng.standard_normal((64, candidates)).astype(np.float32)
    side[::5], side[1::7] = -0.0, 0.0
    chosen = (rng.random((lanes, candidates)) < 0.5).astype(np.float32)
    return bool(np.all(_mix_in_order(side, chosen).view(np.uint32) == _mix_by_sum(side, chosen).view(np.uint32)))


def _transpose_into(out: np.ndarray, frames: np.ndarray, block: int = 512) -> None:
    """``out[:] = frames.T`` for (frames, lanes) float32 `frames`; for many lanes a block of frames
    at a time (a whole transpose of 32 lanes x 22,050 frames runs through the cache 2x slower)."""
    if frames.shape[1] < 8:
        np.copyto(out, frames.T)
        return
    for i in range(0, len(frames), block):
        np.copyto(out[:, i : i + block], frames[i : i + block].T)


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

    def retime(self, task: Task) -> None:
        """Render the next episode on `task`'s step boundaries: this task at another tempo."""
        self.task = check_retime(self.task, task)

    def close(self) -> None:
        self._history = []


class StreamRenderer:
    """One kept-alive scsynth that renders each step as soon as its action is known.

    scsynth only renders whole 64-sample blocks, and a step boundary usually falls inside one
    (a 16th note at 120 BPM lasts 5512.5 samples). To end step k's audio exactly on its last
    sample, the block that holds the boundary must be rendered before step k+1's action is known.
    So every note step k+1 might play starts in advance, sample-accurately, on a side channel of
    its own; when the action arrives, the chosen notes are moved to the main output (`/n_set out`)
    from the next block on, their first samples are added from the side channels, and the
    others are freed. Tasks with continuous actions cannot list their notes in advance: they need
    boundaries on block starts, or the NRTRenderer.

    `lanes` episodes run in lockstep in the one process, each on an output channel of its own:
    the vector environment's batch. With more than one lane, one shared set of candidates writes
    the side channels, and each lane's own candidates play silently on a private bus until chosen:
    a note's first samples depend only on its synth, controls and start sample, so they are the
    same in every lane (exactly, for synths whose noise is seeded with RandSeed).
    """

    def __init__(self, task: Task, *, lanes: int = 1, scsynth: str | None = None, timeout: float = 10.0) -> None:
        if not self.supports(task):
            raise ArgumentError(
                f"task {task.name!r}: step boundaries {task.boundaries[:3].tolist()}... fall inside "
                "scsynth's 64-sample blocks and its continuous actions cannot be started in advance; "
                "use renderer='nrt' (or 'auto')"
            )
        if not (isinstance(lanes, int) and lanes >= 1):
            raise ArgumentError(f"lanes={lanes!r} is not a whole number >= 1")
        self.task = task
        self.lanes = lanes
        self.scsynth = find_scsynth(scsynth)
        self.timeout = timeout
        self.clock = BlockClock(task.sample_rate)
        self.chunk = self._chunk(task)
        self._candidates: tuple[Note, ...] = task.actions.candidates if self._needs_candidates(task) else ()
        self._choices: dict[tuple[Note, ...], tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self.channels = lanes + len(self._candidates)
        self._silent_bus = self.channels  # a private bus past the outputs
        self._starts, self._start_ints = self._candidate_starts()
        self._stream: ScsynthStream | None = None
        self._next_node = 1000
        self._origin = 0
        self._step = 0
        self._pending: list[range] = []  # per lane: node ids of the candidates started for the next step
        self._chosen = np.zeros((lanes, len(self._candidates)), dtype=np.float32)  # 1 where a candidate plays
        self._any_chosen = False  # whether _chosen has a 1
        self._mix = _mix_in_order if _in_order_is_exact(len(self._candidates), lanes) else _mix_by_sum
        self._tail = np.zeros((0, self.channels), dtype=np.float32)  # rendered past the last step's end
        self._buffers = [np.zeros((0, self.channels), dtype=np.float32)] * 2  # read into in turn (see collect)
        self._shared: list[int] = []  # node ids of the shared candidates (more than one lane)
        self._span = (0, 0)

    @staticmethod
    def _chunk(task: Task) -> int:
        """Frames scsynth renders per write: a block, or for tasks whose notes can start ahead,
        up to 1024 (fewer system calls; candidates then play ahead for up to a chunk)."""
        if task.actions.candidates is None:
            return BlockClock(task.sample_rate).block_size
        chunk = 64
        while chunk * 2 <= min(1024, int(np.diff(task.boundaries).min())):
            chunk *= 2
        return chunk

    @classmethod
    def _needs_candidates(cls, task: Task) -> bool:
        return bool(np.any(task.boundaries[1:-1] % cls._chunk(task)))

    def _ceil(self, sample: int) -> int:
        return -(-sample // self.chunk) * self.chunk

    @classmethod
    def supports(cls, task: Task) -> bool:
        """Whether every step boundary is a block start, or the task's notes can start ahead."""
        return task.actions.candidates is not None or not cls._needs_candidates(task)

    def _choice(self, notes: Sequence[Note]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(chosen, unchosen) candidate indices for one lane's notes: each note takes the first
        free candidate equal to it (cached per distinct notes: the same few options recur)."""
        key = tuple(notes)
        found = self._choices.get(key)
        if found is None:
            if len(self._choices) >= 4096:  # a MultiDiscrete action has more combinations than are worth keeping
                self._choices.clear()
            free = list(range(len(self._candidates)))
            chosen = []
            for note in key:
                i = next(i for i in free if self._candidates[i] == note)
                free.remove(i)
                chosen.append(i)
            found = self._choices[key] = (tuple(chosen), tuple(free))
        return found

    def _candidate_starts(self) -> tuple[osc.Frames | None, np.ndarray]:
        """The /s_new of every lane's candidates (lane by lane), then with more than one lane of the
        shared ones: an encoder of one row of candidates, and its (rows, 2 * candidates) ints
        (node ids counted from 0, buses), whose node ids count on from the first one given."""
        count = len(self._candidates)
        if not count:
            return None, np.zeros((0, 0), dtype=np.int64)
        shared = self.lanes > 1
        ints = np.zeros((self.lanes + shared, 2 * count), dtype=np.int64)
        ints[:, 0::2] = np.arange(ints.size // 2).reshape(-1, count)
        ints[:, 1::2] = self._silent_bus if shared else self.lanes + np.arange(count)
        if shared:  # the shared candidates write the side channels
            ints[-1, 1::2] = self.lanes + np.arange(count)
        return osc.Frames(*(_note_template(c) for c in self._candidates)), ints

    def _start(self) -> None:
        # Every lane may hold every note it started in one episode, plus the candidates.
        most_notes = max((len(o) for o in getattr(self.task.actions, "options", ((None,),))), default=1)
        nodes = 64 + 2 * len(self._candidates) + self.lanes * (self.task.steps * max(1, most_notes) + len(self._candidates) + 8)
        setup = setup_messages(self.task)  # its errors before scsynth starts
        self._stream = ScsynthStream(
            sample_rate=self.task.sample_rate,
            channels=self.channels,
            executable=self.scsynth,
            chunk=self.chunk,
            timeout=self.timeout,
            max_nodes=nodes,
        )
        self._stream.send(0, setup)
        # Render one silent chunk now, so reset() returns with scsynth started and its setup done.
        self._stream.render(self.chunk)
        self._origin = self.chunk

    def reset(self) -> None:
        """Begin a new episode: free the last episode's notes a chunk before the new origin."""
        if self._stream is None or not self._stream.alive:
            if self._stream is not None:
                self._stream.close()
            self._start()
        else:
            position = self._stream.frames_rendered
            self._stream.send(self.clock.tag(position), [osc.message("/g_freeAll", MAIN_GROUP)])
            # A chunk's gap absorbs OffsetOut's leftovers, and every episode starts in the same
            # phase of scsynth's chunks, so the same actions always give the same samples.
            self._origin = position + self.chunk
        self._next_node = 1000  # every node of the last episode is freed first: ids count again (int32 in OSC)
        self._step = 0
        self._pending = []
        self._shared = []
        self._tail = np.zeros((0, self.channels), dtype=np.float32)

    def _node(self) -> int:
        self._next_node += 1
        return self._next_node

    def step(self, step: int, notes: Sequence[Note]) -> np.ndarray:
        """float32 (n_k,): the samples of step k of lane 0 (the single-environment protocol)."""
        return self.step_lanes(step, [notes])[0]

    def step_lanes(self, step: int, notes: Sequence[Sequence[Note]]) -> np.ndarray:
        """float32 (lanes, n_k): step k of every lane, `notes[i]` playing in lane i."""
        self.submit(step, notes)
        return self.collect()

    def submit(self, step: int, notes: Sequence[Sequence[Note]]) -> None:
        """Send step k's bundles and ask scsynth to render through its end (see `collect`)."""
        if self._stream is None:
            raise ScsynthError("StreamRenderer.step() before reset()")
        if step != self._step:
            raise ScsynthError(f"step {step} out of order: expected step {self._step}")
        if len(notes) != self.lanes:
            raise ArgumentError(f"{len(notes)} lists of notes for {self.lanes} lanes")
        b = self.task.boundaries
        start, end = self._origin + int(b[step]), self._origin + int(b[step + 1])
        stream, clock = self._stream, self.clock
        self._chosen[:] = 0.0
        self._any_chosen = False
        if self._pending:
            freed = list(self._shared)
            moved = []  # (node, lane) of every chosen candidate
            for lane, (lane_notes, nodes) in enumerate(zip(notes, self._pending)):
                chosen, unchosen = self._choice(lane_notes)
                for i in chosen:
                    moved += (nodes[i], lane)
                    self._chosen[lane, i] = 1.0
                freed += [nodes[i] for i in unchosen]
            self._any_chosen = bool(moved)
            elements = _N_SETS_OUT(moved) if moved else b""
            if freed:  # scsynth frees them in order, as one message each
                elements += osc.framed([osc.int_message("/n_free", freed)])
            stream.send(clock.tag(self._ceil(start)), [_NO_ERRORS], elements)
            self._pending = []
        else:
            messages = [note_message(n, self._node(), lane) for lane, lane_notes in enumerate(notes) for n in lane_notes]
            if messages:
                stream.send(clock.tag(start), messages)
        if step + 1 < self.task.steps and end % self.chunk:
            first, count = self._next_node + 1, len(self._candidates)
            self._next_node += self._start_ints.size // 2
            self._pending = [range(first + lane * count, first + (lane + 1) * count) for lane in range(self.lanes)]
            if self.lanes > 1:  # the shared candidates, freed with the choice
                self._shared = list(range(first + self.lanes * count, first + (self.lanes + 1) * count))
            if self._starts is not None:  # None: the actions play no notes at all
                ints = self._start_ints.copy()
                ints[:, 0::2] += first
                stream.send(clock.tag(end), (), self._starts(ints))
        stream.request(self._ceil(end) - stream.frames_rendered)
        self._span = (start, end)
        self._step = step + 1

    def collect(self, out: np.ndarray | None = None) -> np.ndarray:
        """float32 (lanes, n_k): the step `submit` asked for, once scsynth has rendered it
        (written into `out` if given, a (lanes, n_k) float32 array, and returned)."""
        start, end = self._span
        position = self._stream.frames_rendered
        head, frames = len(self._tail), self._stream.requested
        # The tail, then scsynth's frames read straight behind it, in the buffer the tail is not in.
        buffer, other = self._buffers
        if len(buffer) < head + frames:
            buffer = np.empty((head + frames + self.chunk, self.channels), dtype=np.float32)
        self._buffers = [other, buffer]
        buffer[:head] = self._tail
        self._stream.collect(out=buffer[head : head + frames])
        skip = start - position if position < start - head else 0  # the gap block after a reset
        rendered = buffer[skip : head + frames]
        audio = np.empty((self.lanes, end - start), dtype=np.float32) if out is None else out
        _transpose_into(audio, rendered[: end - start, : self.lanes])
        if head and self._any_chosen:
            side = rendered[:head, self.lanes :]  # (head, candidates), the same for every lane
            audio[:, :head] += self._mix(side, self._chosen)
        self._tail = rendered[end - start :]
        return audio

    def retime(self, task: Task) -> None:
        """Render the next episode (from the next reset()) on `task`'s step boundaries: this task at
        another tempo whose steps fit the running scsynth's chunk and candidates."""
        task = check_retime(self.task, task)
        if self._chunk(task) != self.chunk or (self._needs_candidates(task) and not self._candidates):
            raise ArgumentError(
                f"{task.bpm:g} BPM does not fit this renderer started at {self.task.bpm:g} BPM "
                f"(steps of {int(np.diff(task.boundaries).min())} samples against chunks of {self.chunk})"
            )
        self.task = task

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def check_retime(task: Task, new: Task) -> Task:
    """`new` if it is `task` at another tempo (every other field equal), else ArgumentError."""
    import dataclasses

    if dataclasses.replace(new, bpm=task.bpm) != task:
        raise ArgumentError(f"task {new.name!r} differs from {task.name!r} in more than its tempo: a renderer can only change tempo")
    return new


def make_renderer(name: str, task: Task, *, scsynth: str | None = None, timeout: float | None = None) -> Renderer:
    """A renderer by name: "stream", "nrt", or "auto" (the stream where the task allows it)."""
    kwargs = {"scsynth": scsynth} | ({"timeout": timeout} if timeout is not None else {})
    if name == "auto":
        return (StreamRenderer if StreamRenderer.supports(task) else NRTRenderer)(task, **kwargs)
    if name == "stream":
        return StreamRenderer(task, **kwargs)
    if name == "nrt":
        return NRTRenderer(task, **kwargs)
    raise ArgumentError(f"renderer={name!r} is not one of 'auto', 'stream', 'nrt'")
