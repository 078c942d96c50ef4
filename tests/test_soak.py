"""Under load: a short soak of every env kind (benchmarks/soak.py runs the long one) and many envs
at once, in threads of one process and in two processes, each with its own target."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from conftest import scsynth_children

import raveforce  # noqa: F401
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import soak  # noqa: E402


@pytest.mark.parametrize(
    "kind,steps,recreate",  # re-create the env (a fresh scsynth, temp dir, socket) every `recreate` episodes
    [("single", 640, 10), ("vector", 512, 5), ("sclang", 320, 10), ("sclang-nrt", 32, 1)],
)
def test_short_soak_leaks_nothing_and_loses_nothing(kind, steps, recreate):
    if kind.startswith("sclang") and shutil.which("sclang") is None:
        pytest.skip("sclang is not installed")
    result = soak.soak(kind, steps=steps, max_seconds=120, recreate=recreate, check=5, sample=max(16, steps // 20), num_envs=4)
    summary, problems = soak.verdict(result, warmup=0.2, max_rss_slope=float("inf"))  # memory: see below
    assert result.errors == [] and result.steps >= steps
    assert result.recreations >= 1 and result.checks >= 1
    assert problems == [], problems  # descriptors, threads, children, temp files back where they began
    # after the warm-up (first env, first criterion of the default reward, lazy imports), as the verdict
    samples = result.process.samples
    first, last = samples[int(0.2 * len(samples))]["rss_kb"], samples[-1]["rss_kb"]
    assert last - first < 30_000, summary["process"]["rss_kb"]  # KB; the long soak measures the slope
    if result.server is not None:
        s0, s1 = result.server.samples[0], result.server_after_close
        assert s1["children"] <= s0["children"] and s1["tmp_files"] <= s0["tmp_files"] and s1["fds"] <= s0["fds"]
    assert scsynth_children() == []


# --- many envs at once ------------------------------------------------------------------------------

N = 8


def targets(n: int) -> list[tuple[np.ndarray, int]]:
    """n different targets: the drum loop's optimum, each with its steps rotated."""
    from raveforce.synth.render import render_episode

    out = []
    for i in range(n):
        pattern = DRUM_LOOP_PATTERN[i:] + DRUM_LOOP_PATTERN[:i]
        out.append((render_episode(DRUM_LOOP, [DRUM_LOOP.actions.notes(a) for a in pattern]), 44100))
    return out


def episode(env, actions) -> tuple[np.ndarray, list[float]]:
    env.reset(seed=0)
    rewards = [env.step(int(a))[1] for a in actions]
    return env.unwrapped.audio, rewards


ALONE = """
import json, sys
import numpy as np
import gymnasium as gym, raveforce
from concurrent.futures import ThreadPoolExecutor
spec = json.loads(sys.argv[1])
envs = [gym.make("raveforce/DrumLoop-v0", reward="mse", target=(np.load(t), 44100)) for t in spec["targets"]]
def run(i):
    out = []
    for rep in range(spec["episodes"]):
        envs[i].reset(seed=0)
        rewards = [envs[i].step(int(a))[1] for a in spec["actions"][i]]
        out.append((envs[i].unwrapped.audio, rewards))
    return out
with ThreadPoolExecutor(len(envs)) as pool:
    results = list(pool.map(run, range(len(envs))))
for env in envs:
    env.close()
np.savez(spec["out"], audio=np.array([[a for a, _ in r] for r in results]), rewards=np.array([[w for _, w in r] for r in results]))
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Each of N envs' actions, target, and its audio and rewards played alone (one at a time)."""
    rng = np.random.default_rng(7)
    actions = rng.integers(0, 8, (N, DRUM_LOOP.steps))
    made = targets(N)
    alone = []
    for i in range(N):
        env = gym.make("raveforce/DrumLoop-v0", reward="mse", target=made[i])
        alone.append(episode(env, actions[i]))
        env.close()
    folder = tmp_path_factory.mktemp("targets")
    paths = []
    for i, (samples, _) in enumerate(made):
        paths.append(str(folder / f"t{i}.npy"))
        np.save(paths[-1], samples)
    return actions, made, alone, paths


def test_eight_envs_in_threads_of_one_process(reference):
    actions, made, alone, _ = reference
    envs = [gym.make("raveforce/DrumLoop-v0", reward="mse", target=made[i]) for i in range(N)]
    try:
        for env in envs:
            env.reset(seed=0)
        streams = [env.unwrapped._renderer._stream for env in envs]
        assert len({s._tmpdir for s in streams}) == N and len({s._process.pid for s in streams}) == N
        for s in streams:  # non-real-time scsynth opens no port: nothing to collide on
            fds = os.listdir(f"/proc/{s._process.pid}/fd")
            links = [os.readlink(f"/proc/{s._process.pid}/fd/{fd}") for fd in fds]
            assert not [link for link in links if link.startswith("socket:")], links

        def run(i):
            return [episode(envs[i], actions[i]) for _ in range(3)]

        with ThreadPoolExecutor(N) as pool:
            results = list(pool.map(run, range(N)))
    finally:
        for env in envs:
            env.close()
    for i in range(N):
        for audio, rewards in results[i]:
            assert np.array_equal(audio, alone[i][0])
            assert rewards == alone[i][1]
    assert len({tuple(alone[i][1]) for i in range(N)}) == N  # the targets differ, so do the rewards
    assert scsynth_children() == []


def test_two_processes_of_eight_envs(reference, tmp_path):
    actions, _, alone, paths = reference
    procs = []
    for p in range(2):
        spec = {"targets": paths, "actions": actions.tolist(), "episodes": 2, "out": str(tmp_path / f"p{p}.npz")}
        procs.append(subprocess.Popen([sys.executable, "-c", textwrap.dedent(ALONE), json.dumps(spec)], stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for p in range(2):
        got = np.load(tmp_path / f"p{p}.npz")
        for i in range(N):
            for rep in range(2):
                assert np.array_equal(got["audio"][i, rep], alone[i][0])
                assert got["rewards"][i, rep].tolist() == alone[i][1]
