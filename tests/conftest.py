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


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "heavy: among the suite's longest tests; `make test`'s workers start them first, the short ones fill in around them"
    )
    # xdist's loadgroup otherwise hands out the groups with the most tests first and the rest in
    # collection order, so a long test collected late keeps one worker busy while the other idles
    config.option.loadscopereorder = False


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Groups for `--dist loadgroup` (`make test`): one worker runs a group's tests one after another.

    - The `xdist_group` marks. pytest-xdist 3.8 tags a marked test by appending "@group" to
      `item._nodeid`, which pytest 9.2 no longer reads (node ids live in `item._id`): the marks
      were silently ignored, so two workers each started a local Ray, built the wheel, paid
      librosa's JIT. Tagged here again.
    - In each module, the tests that use a module- or class-scoped fixture (a solved run, a quark
      server, reference episodes): spread over both workers, and interleaved with other modules'
      tests, they set it up again each time the worker came back to the module.
    - The tests that use the session's sclang servers (`tasks`, `drums`, below; in test_sclang and
      test_faults): on one worker, which boots each server once, not once per worker.
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers only
        return
    for item in items:
        if "@" in item.nodeid:  # an older pytest: xdist's own tag worked
            continue
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
        fixtures = item._fixtureinfo.name2fixturedefs.values()
        if not names and {"tasks", "drums"} & set(item.fixturenames):
            names = {"sclang_served"}
        if not names and any(defs and defs[-1].scope in ("module", "class") for defs in fixtures):
            names = {item.path.stem}
        if names:
            _tag(item, "_".join(sorted(names)))
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)  # stable: heavy first, in collection order


def _tag(item, group: str) -> None:
    """Append "@group" to the item's node id, as pytest-xdist's loadgroup scheduling reads it."""
    nodeid = f"{item.nodeid}@{group}"
    if hasattr(item, "_id"):  # pytest >= 9.2
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(nodeid)
    else:
        item._nodeid = nodeid


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


# --- the `raveforce` command in this process -----------------------------------------------------


@pytest.fixture
def raveforce_cli(capsys):
    """`raveforce ARGS` as its main() in this process (what `python -m raveforce` and the console
    script call): a `subprocess.CompletedProcess` with its exit code, stdout and stderr. A
    subprocess would pay ~1 s of imports (numpy, scipy, gymnasium, matplotlib) each time; the tests
    of the entry points themselves (the console script, a pipe closed early) still start one."""
    from raveforce.app.main import main

    def run(*args) -> subprocess.CompletedProcess:
        argv = [str(a) for a in args]
        capsys.readouterr()  # what earlier code printed is not this command's
        try:
            code = main(argv)
        except SystemExit as exc:  # the parser's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return subprocess.CompletedProcess(["raveforce", *argv], code, out.out, out.err)

    return run


@pytest.fixture
def run_example(monkeypatch, capsys):
    """`python examples/SCRIPT ARGS` run in this process (runpy, as __main__), in `cwd` if given:
    its stdout. numpy, scipy, gymnasium, raveforce (and torch) are imported once per test worker,
    not once more for each script."""
    import runpy
    import sys
    from pathlib import Path

    examples = Path(__file__).resolve().parents[1] / "examples"

    def run(script, *args, cwd=None) -> str:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", [str(examples / script), *map(str, args)])
        capsys.readouterr()
        runpy.run_path(str(examples / script), run_name="__main__")
        return capsys.readouterr().out

    return run


@pytest.fixture(scope="session")
def loop95_example(tmp_path_factory):
    """examples/loop_to_midi.py run as documented (a subprocess), once per test worker: it exports
    a one-bar loop at 95 BPM as a 48 kHz stereo MP3, then runs `raveforce solve drum-loop --target
    loop95.mp3 --bpm auto --out DIR`. (its stdout, with the command's, and DIR). test_examples checks
    what it prints, test_loops what the command found and wrote; both tests are in
    xdist_group("loop95"), so one worker runs it once."""
    import sys
    from pathlib import Path

    out = tmp_path_factory.mktemp("loop95") / "loop95"
    example = Path(__file__).resolve().parents[1] / "examples" / "loop_to_midi.py"
    done = subprocess.run([sys.executable, str(example), str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout, out
