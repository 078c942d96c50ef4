"""The main job's examples run as documented and print what they claim."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def run(monkeypatch, capsys):
    """`python examples/SCRIPT` run in this process (runpy, as __main__): its stdout. numpy, scipy,
    gymnasium and raveforce are imported once per test worker, not once more for each script."""

    def run(script, cwd=None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", [str(EXAMPLES / script)])
        capsys.readouterr()
        runpy.run_path(str(EXAMPLES / script), run_name="__main__")
        return capsys.readouterr().out

    return run


def test_solve_drum_loop_example(run):
    lines = {line.split()[0]: line.split("]")[0] + "]" for line in run("solve_drum_loop.py").splitlines() if "[" in line}
    assert lines["greedy"].split(None, 1)[1] == lines["target"].split(None, 1)[1] == lines["beam"].split(None, 1)[1]
    assert lines["random"].split(None, 1)[1] != lines["target"].split(None, 1)[1]


def test_kick_example_agents_agree(run):
    out = run("kick_actor_critic.py").splitlines()
    sweep, ac = (float(line.split()[1]) for line in out[:2])
    assert abs(sweep / ac - 1) < 0.01 and 40 < sweep < 100  # the kick sweeps 180 -> 48 Hz


def test_wrappers_example(tmp_path, run):
    out = run("wrappers.py", cwd=tmp_path)
    assert "observation space: (1392,)" in out
    assert sorted(p.name for p in (tmp_path / "out" / "example-wrappers").iterdir()) == ["rl-episode-0.wav", "rl-episode-2.wav"]


@pytest.mark.heavy
def test_train_example(tmp_path, monkeypatch, capsys):
    """`python examples/train_sb3.py 256` run in this process: torch and stable-baselines3 are
    imported once per test worker, not once more for the script."""
    pytest.importorskip("stable_baselines3", reason="the sb3 extra is not installed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / "train_sb3.py"), "256"])
    runpy.run_path(str(EXAMPLES / "train_sb3.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "PPO after 256 steps" in out and (tmp_path / "out" / "example-ppo" / "episodes" / "rl-episode-0.wav").is_file()
