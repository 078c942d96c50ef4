"""scripts/record_episodes.py compare: the project's tolerance (observations 1e-6, rewards 1e-6
relative or 1e-9 absolute) and --exact."""

import importlib.util
from pathlib import Path

import numpy as np

spec = importlib.util.spec_from_file_location("record_episodes", Path(__file__).parents[1] / "scripts" / "record_episodes.py")
record_episodes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(record_episodes)


def test_compare_within_the_tolerance_or_exactly(tmp_path):
    a = {"x-obs": np.array([0.5, -0.25], np.float32), "x-rew": np.array([-1.0, -1e-12, 0.0])}
    close = {"x-obs": np.array([0.5 + 5e-7, -0.25], np.float32), "x-rew": np.array([-1.0 - 5e-7, -5e-10, 0.0])}
    far = {"x-obs": a["x-obs"], "x-rew": np.array([-1.0 - 3e-6, -1e-12, 0.0])}
    paths = {}
    for name, arrays in (("a", a), ("close", close), ("far", far)):
        paths[name] = tmp_path / f"{name}.npz"
        np.savez(paths[name], **arrays)
    assert record_episodes.compare(paths["a"], paths["a"], exact=True)
    assert record_episodes.compare(paths["a"], paths["close"]) and not record_episodes.compare(paths["a"], paths["close"], exact=True)
    assert not record_episodes.compare(paths["a"], paths["far"])
    assert record_episodes.within("x-rew", a["x-rew"], far["x-rew"])[1] > 1e-6
