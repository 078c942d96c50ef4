"""`raveforce baselines`: the study's CSV files, skipping done cells, one-line errors; with the real scsynth."""

import csv
import importlib.util
import json
import math
import tempfile

import pytest
from conftest import scsynth_children

from raveforce.agents import baselines
from raveforce.app.baselines import CURVES, RESULTS, TASKS, load_task

needs_sb3 = pytest.mark.skipif(importlib.util.find_spec("stable_baselines3") is None, reason="the sb3 extra is not installed (make install adds it)")
needs_cma = pytest.mark.skipif(importlib.util.find_spec("cma") is None, reason="the baselines extra is not installed (make install adds it)")


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_every_task_has_hyperparameters_for_each_algorithm_that_fits_it():
    for name in TASKS:
        table = baselines.hyperparameters(name)
        assert table["budget"] in (20_000, 200_000) and table["envs"] >= 1
        assert set(baselines.valid_algos(load_task(name))) <= set(table), name


def test_beam_reference_and_a_rerun_that_skips_done_cells(raveforce_cli, tmp_path):
    out = tmp_path / "study"
    run = raveforce_cli("baselines", "--tasks", "drum-loop", "--algos", "beam,greedy", "--seeds", "3", "--steps", "64", "--out", out)
    assert run.returncode == 0, run.stderr
    rows = read(out / "results.csv")
    assert list(rows[0]) == list(RESULTS)
    assert [(r["task"], r["algo"], r["seed"]) for r in rows] == [("DrumLoop", "beam", "0"), ("DrumLoop", "greedy", "0")]  # deterministic: seed 0 only
    for r in rows:
        assert float(r["normalized_score"]) >= 0.99 and float(r["final_distance"]) <= 1e-6 and int(r["env_steps"]) > 16
    assert list(read(out / "curves.csv")[0]) == list(CURVES)
    random = json.loads((out / "random.json").read_text())["DrumLoop"]
    assert random["episodes"] == 32 and random["mean_final_distance"] > 0
    assert json.loads((out / "hyperparameters.json").read_text())["DrumLoop/beam/64"]["kwargs"] == {"width": 4}

    again = raveforce_cli("baselines", "--tasks", "DrumLoop", "--algos", "beam,greedy", "--seeds", "3", "--steps", "64", "--out", out)
    assert again.returncode == 0 and "skipping 2 cells" in again.stdout and "0 cells run" in again.stdout
    assert read(out / "results.csv") == rows
    assert not scsynth_children()


@needs_sb3
def test_sb3_cells_write_rows_and_curves_reproducibly(raveforce_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where SB3's default logger would make its folder
    runs = []
    for out in (tmp_path / "a", tmp_path / "b"):
        run = raveforce_cli("baselines", "--tasks", "drum-loop", "--algos", "ppo,dqn", "--seeds", "1", "--steps", "64", "--envs", "2", "--out", out)
        assert run.returncode == 0, run.stderr
        runs.append(read(out / "results.csv"))
    rows = runs[0]
    assert [(r["algo"], r["seed"]) for r in rows] == [("ppo", "0"), ("dqn", "0")]
    for r in rows:
        assert int(r["env_steps"]) >= 64 and math.isfinite(float(r["normalized_score"])) and math.isfinite(float(r["return"]))
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in runs[1]]  # each cell reproducible from its seed
    curves = read(tmp_path / "a" / "curves.csv")
    ppo = [int(r["env_steps"]) for r in curves if r["algo"] == "ppo"]
    assert ppo == sorted(ppo) and len(ppo) >= 2 and all(math.isfinite(float(r["normalized_score"])) for r in curves)
    used = json.loads((tmp_path / "a" / "hyperparameters.json").read_text())["DrumLoop/ppo/64"]
    assert used["envs"] == 2 and used["kwargs"]["n_steps"] == 64
    assert not scsynth_children() and not list(tmp_path.glob("SB3-*"))


@needs_cma
def test_cma_on_a_five_dimensional_one_step_task(raveforce_cli, tmp_path):
    run = raveforce_cli("baselines", "--tasks", "kick-match", "--algos", "cma", "--seeds", "1", "--steps", "64", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    (row,) = read(tmp_path / "results.csv")
    assert row["algo"] == "cma" and int(row["env_steps"]) == 64 and 0 < float(row["normalized_score"]) <= 1
    assert not scsynth_children()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tasks", "drum-loop", "--algos", "sac"), "algorithm 'sac' does not fit DrumLoop; valid: ppo, a2c, dqn, greedy, beam"),
        (("--tasks", "kick-frequency", "--algos", "cma"), "algorithm 'cma' does not fit KickFrequency; valid: ppo, a2c, sac, td3, sweep"),
        (("--tasks", "drum-lop", "--algos", "ppo"), "unknown task 'drum-lop'; valid: DrumLoop, KickFrequency"),
        (("--tasks", "drum-loop", "--algos", "ppo+louder"), "algorithm 'ppo+louder' does not fit DrumLoop"),
        (("--tasks", "drum-loop", "--algos", "beam+delta"), "(or all; SB3 ones with +delta or +step, +sym on continuous tasks)"),
        (("--tasks", "drum-loop", "--algos", "ppo+sym"), "algorithm 'ppo+sym' does not fit DrumLoop"),
    ],
)
def test_a_bad_task_or_algorithm_is_a_one_line_error(raveforce_cli, tmp_path, args, message):
    run = raveforce_cli("baselines", *args, "--out", tmp_path / "x")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and message in run.stderr, run.stderr
    assert not (tmp_path / "x").exists()


@needs_sb3
def test_the_training_lanes_see_what_raveforce_train_sees():
    """lane_vec_env's observations and rewards are sb3.make_env's, step by step, on every lane."""
    import numpy as np

    from raveforce.agents.sb3 import make_env
    from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN

    single = make_env(DRUM_LOOP)
    lanes = baselines.lane_vec_env(DRUM_LOOP, 2, single.get_wrapper_attr("log_mel"))
    try:
        expected, _ = single.reset(seed=0)
        got = lanes.reset()
        for k, action in enumerate(DRUM_LOOP_PATTERN):
            np.testing.assert_allclose(got, np.stack([expected, expected]), atol=1e-6, err_msg=f"step {k}")
            expected, reward, *_ = single.step(action)
            got, rewards, dones, infos = lanes.step(np.array([action, action]))
            np.testing.assert_allclose(rewards, [reward, reward], atol=1e-9)
        assert dones.all() and infos[0]["terminal_observation"].shape == expected.shape
        np.testing.assert_allclose(infos[0]["terminal_observation"], expected, atol=1e-6)
        assert got[:, -16:].argmax(axis=1).tolist() == [0, 0]  # the next episodes began
    finally:
        lanes.close()
        single.close()
    assert not scsynth_children()


@needs_sb3
def test_the_env_levers_train_on_delta_rewards_and_on_the_step_alone():
    import numpy as np

    from raveforce.tasks import DRUM_LOOP

    delta = baselines.lane_vec_env(DRUM_LOOP, 2, None, reward_mode="delta")
    try:
        first = delta.reset()
        assert first.shape == (2, 16) and first[:, 0].tolist() == [1.0, 1.0]  # the one-hot alone
        rewards = [delta.step(np.array([5, 5]))[1] for _ in range(16)]
        total = np.sum(rewards, axis=0)  # delta rewards sum to the last absolute reward
    finally:
        delta.close()
    absolute = baselines.lane_vec_env(DRUM_LOOP, 2, None)
    try:
        absolute.reset()
        last = [absolute.step(np.array([5, 5]))[1] for _ in range(16)][-1]
    finally:
        absolute.close()
    np.testing.assert_allclose(total, last, atol=1e-9)
    import gymnasium as gym

    from raveforce.tasks import KICK_MATCH

    sym = baselines.run("a2c+sym", KICK_MATCH, seed=0, steps=32, envs=2, kwargs=baselines.hyperparameters("KickMatch")["a2c"], points=1)
    assert sym.env_steps >= 32 and sym.final_distance >= 0
    lanes = baselines.lane_vec_env(KICK_MATCH, 2, None, symmetric=True)
    try:
        assert lanes.action_space == gym.spaces.Box(-1.0, 1.0, (5,), np.float32)
        lanes.reset()
        lanes.step(np.zeros((2, 5), np.float32))
        assert lanes._actions.tolist() == [[0.5] * 5] * 2  # the middle of the task's box
    finally:
        lanes.close()
    for algo in ("a2c+delta", "a2c+step"):
        run = baselines.run(algo, DRUM_LOOP, seed=0, steps=64, envs=2, kwargs=baselines.hyperparameters("DrumLoop")["a2c"], points=1)
        assert run.env_steps >= 64 and run.final_distance >= 0
    assert baselines.split_algo("ppo+delta+step") == ("ppo", ("delta", "step")) and not baselines.fits("dqn+delta", load_task("KickMatch"))
    assert not scsynth_children()


needs_rliable = pytest.mark.skipif(importlib.util.find_spec("rliable") is None, reason="the baselines extra is not installed (make install adds it)")


@needs_sb3
@needs_rliable
def test_report_of_a_tiny_study(raveforce_cli, tmp_path, monkeypatch):
    from raveforce.app import baselines_report

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(baselines_report, "BOOTSTRAP_REPS", 200)  # the CLI's 2000 take seconds per cell
    out = tmp_path / "study"
    run = raveforce_cli("baselines", "--tasks", "drum-loop", "--algos", "ppo,greedy", "--seeds", "2", "--steps", "64", "--envs", "2", "--out", out)
    assert run.returncode == 0, run.stderr
    report = raveforce_cli("baselines-report", out)
    assert report.returncode == 0, report.stderr
    rows = read(out / "summary.csv")
    assert [(r["task"], r["algo"], r["seeds"]) for r in rows] == [
        ("DrumLoop", "greedy", "1"),
        ("DrumLoop", "ppo", "2"),
        ("all", "greedy", "1"),
        ("all", "ppo", "2"),
    ]
    greedy, ppo = rows[0], rows[1]
    assert greedy["ci_low"] == greedy["ci_high"] == "" and "reference" in greedy["note"] and float(greedy["iqm"]) >= 0.99
    assert float(ppo["ci_low"]) <= float(ppo["iqm"]) <= float(ppo["ci_high"]) and "fewer than 5 seeds" in ppo["note"]
    assert "| DrumLoop | ppo | 2 |" in report.stdout and "200 reps" in report.stdout
    assert (out / "report.png").stat().st_size > 0 and (out / "curves-report.png").stat().st_size > 0

    # the same cells run as two studies apart, then reported as their union
    apart = raveforce_cli("baselines", "--tasks", "drum-loop", "--algos", "greedy", "--seeds", "2", "--steps", "64", "--out", tmp_path / "part")
    assert apart.returncode == 0, apart.stderr
    with (out / "results.csv").open() as f:
        lines = f.readlines()
    (tmp_path / "ppo").mkdir()
    (tmp_path / "ppo" / "results.csv").write_text("".join(line for line in lines if ",greedy," not in line))
    merged = raveforce_cli("baselines-report", tmp_path / "ppo", tmp_path / "part", "--out", tmp_path / "union")
    assert merged.returncode == 0, merged.stderr
    timeless = lambda path: sorted(str({k: v for k, v in r.items() if k != "seconds"}) for r in read(path))  # noqa: E731
    assert read(tmp_path / "union" / "summary.csv") == rows and timeless(tmp_path / "union" / "results.csv") == timeless(out / "results.csv")
    twice = raveforce_cli("baselines-report", out, tmp_path / "part", "--out", tmp_path / "twice")
    assert twice.returncode == 2 and "is in another study too" in twice.stderr
    alone = raveforce_cli("baselines-report", out, tmp_path / "part")
    assert alone.returncode == 2 and "--out names the folder" in alone.stderr


def synthetic(rows):
    """results.csv's rows of (task, algo, seed, normalized score)."""
    return [dict(zip(RESULTS, (task, algo, seed, 100, 100, 0, 0, score, 1))) for task, algo, seed, score in rows]


@needs_rliable
def test_iqm_and_its_confidence_interval_by_hand():
    from raveforce.app.baselines_report import markdown, summarize

    a = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    rows = synthetic([("A", "ppo", s, x) for s, x in enumerate(a)] + [("B", "ppo", s, 1.0) for s in range(6)])
    rows += synthetic([("A", "a2c", s, 0.5) for s in range(3)] + [("A", "greedy", 0, 0.9)])
    summary = summarize(rows, reps=500)
    cell = {(r["task"], r["algo"]): r for r in summary}
    ppo = cell["A", "ppo"]
    # IQM of 6 seeds: the 25 % trimmed mean drops the lowest and the highest: mean(0.2, 0.4, 0.6, 0.8)
    assert ppo["iqm"] == pytest.approx(0.5) and ppo["median"] == pytest.approx(0.5) and (ppo["min"], ppo["max"], ppo["seeds"]) == (0.0, 1.0, 6)
    assert 0.0 <= ppo["ci_low"] < 0.5 < ppo["ci_high"] <= 1.0 and ppo["note"] == ""
    assert ppo["success"] == pytest.approx(1 / 6)  # one run of six at the target
    # over both tasks, 12 scores: 0, .2, .4, .6, .8 and seven 1.0; dropping 3 each side: mean(.6, .8, 1, 1, 1, 1) = 0.9
    total = cell["all", "ppo"]
    assert total["iqm"] == pytest.approx(0.9) and total["ci_low"] <= 0.9 <= total["ci_high"] and total["seeds"] == 6 and total["note"] == "2 tasks: A, B"
    assert total["success"] == pytest.approx(7 / 12)  # B's six and A's one, of twelve runs
    assert cell["A", "a2c"]["note"] == "fewer than 5 seeds" and cell["A", "a2c"]["ci_low"] == pytest.approx(0.5)
    assert cell["A", "greedy"]["ci_low"] is None and cell["A", "greedy"]["iqm"] == pytest.approx(0.9)
    assert summarize(rows, reps=500) == summary  # the bootstrap is seeded
    assert "| A | ppo | 6 | 0.500 [" in markdown(summary)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no results.csv in"), ("task,algo,seed\nDrumLoop,ppo,0\n", "lacks the columns budget, env_steps, return, final_distance, normalized_score")],
)
def test_a_report_without_results_is_a_one_line_error(raveforce_cli, tmp_path, content, message):
    if content is not None:
        (tmp_path / "results.csv").write_text(content)
    run = raveforce_cli("baselines-report", tmp_path)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and message in run.stderr, run.stderr
