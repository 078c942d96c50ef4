"""`raveforce/SCLang-v0`: an environment whose task is defined in sclang with the RaveForce quark.

The task comes from a running sclang over OSC (`raveforce.synth.sclang` is the client and
says the protocol); this module turns its describe reply into a `Task` and renders it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from gymnasium import spaces

from raveforce.env import RaveForceEnv
from raveforce.errors import ArgumentError, SCLangError
from raveforce.synth.render import NRTRenderer, StreamRenderer, make_renderer
from raveforce.synth.sclang import DEFAULT_PORT, SCLangClient, note_from_osc, notes_from_osc
from raveforce.task import Choices, Control, Controls, Note, Task


def task_from_description(description: dict, synthdefs: Sequence[bytes]) -> Task:
    """The `Task` a describe reply stands for (its actions are exact when description["direct"])."""
    d = description
    if d["kind"] == "discrete":
        actions: Choices | Controls = Choices(tuple(notes_from_osc(option) for option in d["options"]))
    elif d["kind"] == "continuous":
        fixed = note_from_osc(d.get("synth", ""), d.get("fixed", []))
        actions = Controls(
            d.get("synth", ""),
            tuple(Control(c["key"], float(c["low"]), float(c["high"]), c["scale"]) for c in d["controls"]),
            fixed.controls,
        )
    else:
        raise SCLangError(f"describe reply has kind={d['kind']!r}, not 'discrete' or 'continuous'")
    return Task(
        name=d["name"],
        synthdefs=tuple(bytes(b) for b in synthdefs),
        actions=actions,
        buffers=tuple(Path(p) for p in d.get("buffers", [])),
        target=Path(d["target"]) if d.get("target") else None,
        sample_rate=int(d["sample_rate"]),
        bpm=float(d["bpm"]),
        steps=int(d["steps"]),
        beats_per_step=float(d["beats_per_step"]),
        reward=d.get("reward") or "mse",
        description=f"defined in sclang: {d['kind']} key(s) {d['keys']}",
    )


# --- renderers for the sclang path ---------------------------------------------------------------


class _ActionRenderer:
    """A renderer that also needs the step's raw action (SCLangEnv.step hands it over)."""

    action: Sequence[float] = ()


class SCLangEventsRenderer(_ActionRenderer):
    """Asks sclang for each step's notes (`events`), renders them with a Python-side renderer.

    For patterns whose notes the describe reply cannot list once for all steps.
    """

    def __init__(self, client: SCLangClient, inner) -> None:
        self.client, self.inner = client, inner

    def reset(self) -> None:
        self.inner.reset()

    def step(self, step: int, notes: Sequence[Note]) -> np.ndarray:
        return self.inner.step(step, self.client.events(step, self.action))

    def close(self) -> None:
        self.inner.close()


class SCLangNRTRenderer(_ActionRenderer):
    """The paper's architecture: sclang renders the whole prefix with Score.recordNRT each step."""

    def __init__(self, client: SCLangClient, task: Task, *, timeout: float) -> None:
        self.client, self.task, self.timeout = client, task, timeout

    def reset(self) -> None:
        self.client.request("reset")

    def step(self, step: int, notes: Sequence[Note]) -> np.ndarray:
        import soundfile

        path, frames = self.client.request("step", step, *self.action, timeout=self.timeout)
        b0, b1 = int(self.task.boundaries[step]), int(self.task.boundaries[step + 1])
        try:
            audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
            raise SCLangError(f"cannot read sclang's render {path!r} of step {step}: {exc}") from exc
        if rate != self.task.sample_rate or len(audio) < frames:
            raise SCLangError(f"sclang's render {path!r} has {len(audio)} frames at {rate} Hz; expected {frames} at {self.task.sample_rate}")
        out = np.zeros(b1 - b0, dtype=np.float32)
        chunk = audio[b0:b1, 0]
        out[: len(chunk)] = chunk
        return out

    def close(self) -> None:
        try:
            self.client.request("close", timeout=min(self.timeout, 1.0))
        except SCLangError:
            pass  # sclang gone: it has nothing left to delete


# --- the environment -------------------------------------------------------------------------------


class SCLangEnv(RaveForceEnv):
    """A task defined in sclang with the RaveForce quark (a SynthDef and a pattern).

    ## Action Space
    From sclang: `Discrete(n)` for `key: \\k -> [choice, ...]`, else `Box(0, 1, (keys,), float32)`,
    each dimension scaled into its key's range (lin or exp) as the describe reply says.

    ## Observation Space
    `Box(-inf, inf, (total_samples,), float32)`: the mono audio so far, zero-padded to the
    episode (as `RaveForceEnv`).

    ## Rewards
    `-distance` between the audio so far and the target's prefix; the reward is the one passed
    here, else the task's (`RaveForce.start(..., reward: \\mfcc)`), else "mse".

    ## Arguments
    name, host, port: the task (`name:` of RaveForce.start) and where sclang listens.
    mode: "events" (default): sclang's pattern gives the notes, Python's scsynth renders them
    (fast; same audio as the core env); "sclang": sclang renders every prefix with
    Score.recordNRT and replies with the file (the paper's architecture). Sound file paths
    (buffers, and the render files of mode "sclang") must be readable here: run sclang on this machine.
    renderer: for mode "events", "auto", "stream" or "nrt" (see `RaveForceEnv`).
    target: a sound file or (samples, rate); default the task's `target:`.
    timeout: seconds to wait for any reply from sclang or render from scsynth.

    ## Version History
    - v0: initial version.
    """

    def __init__(
        self,
        name: str = "default",
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        mode: str = "events",
        renderer: str = "auto",
        target=None,
        reward=None,
        render_mode: str | None = None,
        scsynth: str | os.PathLike | None = None,
        timeout: float = 5.0,
    ) -> None:
        if mode not in ("events", "sclang"):
            raise ArgumentError(f"mode={mode!r} is not 'events' (Python renders sclang's notes) or 'sclang' (sclang renders)")
        if renderer not in ("auto", "stream", "nrt"):
            raise ArgumentError(f"renderer={renderer!r} is not one of 'auto', 'stream', 'nrt'")
        self.mode = mode
        self.client = client = SCLangClient(name, host, port, timeout=timeout)
        try:
            self.description, synthdefs = client.describe()
            try:
                task = task_from_description(self.description, synthdefs)
            except (KeyError, TypeError, ValueError) as exc:
                raise SCLangError(f"sclang at {client.where} described task {name!r} in a way Python cannot use: {exc!r}") from exc
            if task.target is None and target is None:
                raise SCLangError(
                    f"task {name!r} has no target: pass target= (a sound file or (samples, sample_rate)) "
                    "or give RaveForce.start a target: path"
                )
            if mode == "sclang":
                if renderer != "auto":
                    raise ArgumentError(f"renderer={renderer!r} applies to mode='events' only; mode='sclang' renders in sclang")
                chosen = SCLangNRTRenderer(client, task, timeout=max(timeout, 10.0))
            else:
                chosen = self._events_renderer(task, renderer, scsynth, timeout)
            super().__init__(task, target=target, reward=reward, render_mode=render_mode, renderer=chosen, timeout=timeout)
        except BaseException:
            client.close()
            raise

    def _events_renderer(self, task: Task, renderer: str, scsynth, timeout: float):
        kwargs = {"scsynth": None if scsynth is None else os.fspath(scsynth), "timeout": timeout}
        ahead = bool(np.any(task.boundaries[1:-1] % 64))  # boundaries inside scsynth's blocks
        if not self.description["direct"]:  # notes vary by step: ask sclang for them each step
            if renderer == "stream" and ahead:
                raise ArgumentError(f"task {task.name!r}: its notes change from step to step, so renderer='stream' cannot start them ahead; use 'auto' or 'nrt'")
            inner = (NRTRenderer if ahead or renderer == "nrt" else StreamRenderer)(task, **kwargs)
            return SCLangEventsRenderer(self.client, inner)
        without_out = sorted({s["name"] for s in self.description["synthdefs"] if "out" not in s["controls"]})
        if isinstance(task.actions, Choices) and without_out and ahead:
            # Candidates play ahead on side channels, chosen by their `out` control.
            if renderer == "stream":
                raise ArgumentError(f"renderer='stream' needs an `out` control in SynthDef(s) {without_out}; use 'auto' or 'nrt'")
            renderer = "nrt"
        return make_renderer(renderer, task, **kwargs)

    def step(self, action):
        if isinstance(self._renderer, _ActionRenderer):
            self.task.actions.notes(action)  # raises InvalidActionError before anything is sent
            a = np.asarray(action)
            self._renderer.action = [int(a)] if isinstance(self.action_space, spaces.Discrete) else [float(x) for x in a.ravel()]
        return super().step(action)

    def close(self) -> None:
        super().close()
        if getattr(self, "client", None) is not None:
            self.client.close()


__all__ = ["SCLangEnv", "task_from_description"]
