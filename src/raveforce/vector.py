"""`RaveForceVectorEnv`: many episodes of one task in lockstep, in one scsynth per process.

    envs = gym.make_vec("raveforce/DrumLoop-v0", num_envs=64, vectorization_mode="vector_entry_point")

Every sub-environment is an output channel of a kept-alive scsynth (`StreamRenderer` lanes);
`processes` scsynths share the lanes and render in parallel. Sub-environment i's audio and
rewards are those of the single environment given the same actions.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from raveforce import rewards
from raveforce._optional import one_blas_thread
from raveforce.env import check_reward_mode, check_timeout
from raveforce.errors import ArgumentError, EpisodeError, InvalidActionError, RaveForceError, ScsynthError
from raveforce.synth.render import NRTRenderer, StreamRenderer
from raveforce.task import Choices, Controls, MultiChoices, Note, Task, replace_options


class SubEnvError(RaveForceError):
    """A failure in some sub-environments of a vector environment: `indices` names them."""

    def __init__(self, message: str, indices: Sequence[int]) -> None:
        super().__init__(message)
        self.indices = tuple(indices)


class _NRTLanes:
    """The NRT fallback with the StreamRenderer's lane interface (one fresh render per lane)."""

    def __init__(self, task: Task, *, lanes: int, scsynth: str | None, timeout: float) -> None:
        self.lanes = lanes
        self._renderers = [NRTRenderer(task, scsynth=scsynth, timeout=timeout) for _ in range(lanes)]
        self._submitted: tuple[int, Sequence[Sequence[Note]]] | None = None

    def reset(self) -> None:
        for r in self._renderers:
            r.reset()

    def submit(self, step: int, notes: Sequence[Sequence[Note]]) -> None:
        self._submitted = (step, notes)

    def collect(self, out: np.ndarray | None = None) -> np.ndarray:
        step, notes = self._submitted
        audio = np.stack([r.step(step, n) for r, n in zip(self._renderers, notes)])
        if out is None:
            return audio
        out[:] = audio
        return out

    def retime(self, task: Task) -> None:
        for r in self._renderers:
            r.retime(task)

    def close(self) -> None:
        for r in self._renderers:
            r.close()


class RaveForceVectorEnv(VectorEnv):
    """`num_envs` episodes of a Task, stepped together (Gymnasium's NEXT_STEP autoreset).

    Observations: float32 (num_envs, task.total_samples), each row as `RaveForceEnv`'s. With
    `copy=False` they are the env's own buffer, overwritten by the next step (as
    `SyncVectorEnv(copy=False)`). Rewards: float64 (num_envs,). All sub-environments end
    together after `task.steps` steps; the next `step()` starts new episodes (ignoring its
    actions) and returns zeros, rewards 0.

    target: one target for all, or a sequence of num_envs targets (paths or (samples, rate)).
    processes: scsynth processes sharing the lanes ("auto": one per core, at most one per 8 envs).
    reward_mode: "absolute" or "delta", as `RaveForceEnv`'s.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        task: Task,
        num_envs: int = 1,
        *,
        target=None,
        reward=None,
        reward_mode: str = "absolute",
        processes: int | str = "auto",
        copy: bool = True,
        scsynth: str | os.PathLike | None = None,
        timeout: float = 10.0,
        **task_options: Any,
    ) -> None:
        check_timeout(timeout)
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ArgumentError(f"num_envs={num_envs!r} is not a whole number >= 1")
        if processes == "auto":
            processes = max(1, min(os.cpu_count() or 1, num_envs // 8))
        if isinstance(processes, bool) or not isinstance(processes, int) or not 1 <= processes <= num_envs:
            raise ArgumentError(f"processes={processes!r} is not 'auto' or a whole number from 1 to num_envs={num_envs}")
        self.task = task = replace_options(task, task_options) if task_options else task
        self.num_envs = num_envs
        self.copy = copy
        self.reward_mode = check_reward_mode(reward_mode)
        self._distance = np.zeros(num_envs)  # the previous step's distances (reward_mode="delta")
        self.targets = self._load_targets(target)
        made: dict[int, rewards.Criterion] = {}  # one per distinct target; forks share its features
        self.criteria = []
        for t in self.targets:
            if id(t) in made:
                self.criteria.append(made[id(t)].fork())
            else:
                made[id(t)] = rewards.make(
                    task.reward if reward is None else reward, target=t, sample_rate=task.sample_rate, boundaries=task.boundaries
                )
                self.criteria.append(made[id(t)])
        self.single_action_space = task.action_space
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.single_observation_space = spaces.Box(-np.inf, np.inf, (task.total_samples,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        exe = None if scsynth is None else os.fspath(scsynth)
        sizes = [len(part) for part in np.array_split(np.arange(num_envs), processes)]
        lanes_class = StreamRenderer if StreamRenderer.supports(task) else _NRTLanes
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None  # made on the first step with > 1 group
        self._groups = [lanes_class(task, lanes=n, scsynth=exe, timeout=timeout) for n in sizes]
        self._starts = np.cumsum([0, *sizes])
        self._audio = np.zeros((num_envs, task.total_samples), dtype=np.float32)
        self._step: int | None = None
        self._autoreset = False

    def _load_targets(self, target) -> list[np.ndarray]:
        if isinstance(target, (list, tuple)) and len(target) == self.num_envs and not (
            len(target) == 2 and isinstance(target[1], (int, np.integer))
        ):
            return [self.task.load_target(t) for t in target]
        return [self.task.load_target(target)] * self.num_envs

    # --- Gymnasium vector API ----------------------------------------------------------------

    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict | None = None):
        super().reset(seed=seed if not isinstance(seed, Sequence) else seed[0])
        if options:
            raise ArgumentError(f"reset options {sorted(options)} are not supported; pass None")
        if seed is not None:
            self.action_space.seed(seed if isinstance(seed, int) else int(seed[0]))
        self._start_episodes()
        return self._observation(), {}

    def _start_episodes(self) -> None:
        self._step = None
        failed = []
        for g, group in enumerate(self._groups):
            try:
                group.reset()  # restarts a scsynth that failed
            except ScsynthError as exc:
                group.close()
                failed.append((g, exc))
        if failed:
            raise self._group_error("could not start", failed)
        for criterion in self.criteria:
            criterion.reset()
        self._distance[:] = 0.0
        self._audio[:] = 0.0
        self._step = 0
        self._autoreset = False

    def step(self, actions):
        if self._step is None:
            raise EpisodeError("step() before reset() (or after a failure): call reset() first")
        if self._autoreset:
            self._start_episodes()
            zeros = np.zeros(self.num_envs)
            no = np.zeros(self.num_envs, dtype=bool)
            return self._observation(), zeros, no, no.copy(), {}
        notes = self._notes(actions)  # validated before anything is rendered
        k = self._step
        b0, b1 = int(self.task.boundaries[k]), int(self.task.boundaries[k + 1])
        submitted, failed = [], []
        for g, group in enumerate(self._groups):
            try:
                group.submit(k, notes[self._starts[g] : self._starts[g + 1]])
                submitted.append(g)
            except ScsynthError as exc:
                failed.append((g, exc))
        reward = np.zeros(self.num_envs)
        finish = functools.partial(self._finish_group, k, b0, b1, reward)
        with one_blas_thread():  # while the scsynths render on the same cores
            if len(submitted) > 1 and self.criteria[0]._batch_caches:
                # batched criteria: a few large numpy calls a step, which release the GIL, so the groups'
                # rewards run in threads (the per-env ones are mostly Python: threads only contend)
                others = [self._pool().submit(finish, g) for g in submitted[1:]]
                try:
                    first = finish(submitted[0])
                finally:
                    concurrent.futures.wait(others)  # no thread still writing when an error leaves step()
                outcomes = [first] + [f.result() for f in others]
            else:
                outcomes = [finish(g) for g in submitted]
        failed += [(g, exc) for g, exc in zip(submitted, outcomes) if exc is not None]
        if failed:
            self._step = None
            for g, _ in failed:
                self._groups[g].close()
            raise self._group_error(f"failed at step {k}", failed)
        terminated = k + 1 == self.task.steps
        self._step = k + 1
        self._autoreset = terminated
        done = np.full(self.num_envs, terminated)
        return self._observation(), reward, done, np.zeros(self.num_envs, dtype=bool), {}

    def _finish_group(self, k: int, b0: int, b1: int, reward: np.ndarray, g: int) -> ScsynthError | None:
        """Collect group g's step k (samples b0..b1) and write its lanes' rewards; the error, if any."""
        lanes = slice(self._starts[g], self._starts[g + 1])
        try:
            self._groups[g].collect(out=self._audio[lanes, b0:b1])
        except ScsynthError as exc:
            return exc
        bad = np.flatnonzero(~np.isfinite(self._audio[lanes, b0:b1]).all(axis=1))
        if len(bad):
            return ScsynthError(f"sub-environments {(bad + lanes.start).tolist()} rendered NaN or infinite samples")
        distance = rewards.batch_distances(self.criteria[lanes], self._audio[lanes], k)
        reward[lanes] = 0.0 - distance if self.reward_mode == "absolute" else self._distance[lanes] - distance
        self._distance[lanes] = distance
        return None

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._threads is None:
            self._threads = concurrent.futures.ThreadPoolExecutor(len(self._groups) - 1, thread_name_prefix="raveforce-rewards")
        return self._threads

    def close_extras(self, **kwargs) -> None:
        for group in getattr(self, "_groups", ()):  # none if the constructor raised
            group.close()
        for criterion in getattr(self, "criteria", ()):
            criterion._batch = None  # a batch and its criteria refer to each other: free their buffers now, not at a full collection
        if getattr(self, "_threads", None) is not None:
            self._threads.shutdown()
            self._threads = None
        self._step = None

    # --- helpers -----------------------------------------------------------------------------

    def _observation(self) -> np.ndarray:
        return self._audio.copy() if self.copy else self._audio

    def _notes(self, actions) -> list[tuple[Note, ...]]:
        space = self.single_action_space
        batch = np.asarray(actions)
        expected = (self.num_envs, *space.shape)
        if batch.shape != expected:
            raise InvalidActionError(f"actions have shape {batch.shape}; expected {expected} (one action per sub-environment)")
        options = self.task.actions.options if type(self.task.actions) is Choices else None
        if options is not None and batch.ndim == 1 and batch.dtype.kind in "iu" and 0 <= batch.min() and batch.max() < len(options):
            return [options[a] for a in batch.tolist()]  # Discrete, all valid: what notes() gives each
        if type(self.task.actions) is MultiChoices and batch.dtype.kind in "iu" and (batch >= 0).all() and (batch < self.task.actions.sizes).all():
            return [self.task.actions.play(row) for row in batch.tolist()]  # MultiDiscrete, all valid
        if type(self.task.actions) is Controls and batch.dtype.kind in "biuf":
            x = batch.astype(np.float64)
            if np.isfinite(x).all() and (x >= 0).all() and (x <= 1).all():
                return [self.task.actions.play(row) for row in x]  # Box, all valid: what notes() gives each
        notes = []
        for i, action in enumerate(batch):
            try:
                notes.append(self.task.actions.notes(action))
            except InvalidActionError as exc:
                raise InvalidActionError(f"sub-environment {i}: {exc}") from exc
        return notes

    def _group_error(self, what: str, failed) -> SubEnvError:
        indices = [i for g, _ in failed for i in range(self._starts[g], self._starts[g + 1])]
        detail = "; ".join(f"scsynth {g + 1} of {len(self._groups)}: {exc}" for g, exc in failed)
        return SubEnvError(
            f"sub-environments {indices[0]}-{indices[-1]} {what} ({detail}); the others are intact; "
            "reset() restarts the failed scsynth",
            indices,
        )

    @property
    def audio(self) -> np.ndarray:
        """float32 (num_envs, task.total_samples): a copy of the episodes' audio so far."""
        return self._audio.copy()
