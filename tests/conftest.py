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


# --- sclang servers, one of each per test session (per xdist worker) ----------------------------


@pytest.fixture(scope="session")
def tasks(tmp_path_factory):
    """`raveforce sclang` serving test_sclang.TASKS_SCD (sine, sine2, accents)."""
    from test_sclang import TASKS_SCD, Served, session_processes

    file = tmp_path_factory.mktemp("scd") / "tasks.scd"
    file.write_text(TASKS_SCD)
    served = Served(file)
    yield served
    assert served.stop() == 0
    assert session_processes(served.sclang_pid) == []


@pytest.fixture(scope="session")
def drums():
    """`raveforce sclang` serving the quark's drum_loop.scd example."""
    from test_sclang import QUARK, Served, session_processes

    served = Served(QUARK / "examples" / "drum_loop.scd")
    yield served
    assert served.stop() == 0
    assert session_processes(served.sclang_pid) == []
