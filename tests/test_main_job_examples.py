"""The main job's examples run as documented and print what they claim."""

import pytest


def test_solve_drum_loop_example(run_example):
    lines = {line.split()[0]: line.split("]")[0] + "]" for line in run_example("solve_drum_loop.py").splitlines() if "[" in line}
    assert lines["greedy"].split(None, 1)[1] == lines["target"].split(None, 1)[1] == lines["beam"].split(None, 1)[1]
    assert lines["random"].split(None, 1)[1] != lines["target"].split(None, 1)[1]


def test_kick_example_agents_agree(run_example):
    out = run_example("kick_actor_critic.py").splitlines()
    sweep, ac = (float(line.split()[1]) for line in out[:2])
    assert abs(sweep / ac - 1) < 0.01 and 40 < sweep < 100  # the kick sweeps 180 -> 48 Hz


def test_wrappers_example(tmp_path, run_example):
    out = run_example("wrappers.py", cwd=tmp_path)
    assert "observation space: (1392,)" in out
    assert sorted(p.name for p in (tmp_path / "out" / "example-wrappers").iterdir()) == ["rl-episode-0.wav", "rl-episode-2.wav"]


@pytest.mark.heavy
def test_train_example(tmp_path, run_example):
    """`python examples/train_sb3.py 256`, run in this process (conftest's `run_example`)."""
    pytest.importorskip("stable_baselines3", reason="the sb3 extra is not installed")
    out = run_example("train_sb3.py", 256, cwd=tmp_path)
    assert "PPO after 256 steps" in out and (tmp_path / "out" / "example-ppo" / "episodes" / "rl-episode-0.wav").is_file()
