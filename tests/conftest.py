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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Makes `xdist_group` marks group again under `--dist loadgroup` (`make test`).

    pytest-xdist 3.8 tags each marked test by appending "@group" to `item._nodeid`, which pytest
    9.2 no longer reads (its node ids live in `item._id`): the groups were silently ignored, so
    two workers each started a local Ray, built the wheel and paid librosa's JIT. Tag the id here.
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers only
        return
    for item in items:
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
        if names and "@" not in item.nodeid:  # older pytest: xdist's own tag worked
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(names))}")


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
