import os
import subprocess

import numpy as np
import pytest


def scsynth_children() -> list[int]:
    """scsynth processes started by this test process (directly or through stdbuf)."""
    out = subprocess.run(["pgrep", "-x", "scsynth"], capture_output=True, text=True).stdout.split()
    mine = []
    for pid in map(int, out):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
        except OSError:
            continue
        if ppid == os.getpid():
            mine.append(pid)
    return mine


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def play(env, actions) -> tuple[np.ndarray, list[float]]:
    """Reset (seed 0), play `actions` to the episode's end; (last observation, rewards)."""
    env.reset(seed=0)
    rewards = []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
    assert np.all(terminated) and not np.any(truncated)
    return obs, rewards
