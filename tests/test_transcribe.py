"""Target-conditioned environments (DrumTranscribe-v0, KickTranscribe-v0), their vector
versions, the shipped transcriber and `solve --agent policy`, with real scsynth."""

from __future__ import annotations

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import raveforce
from raveforce.errors import ArgumentError, TargetError
from raveforce.synth.render import render_episode
from raveforce.transcribe import DRUM_TRANSCRIBE, KICK_TRANSCRIBE, mix_pattern
from raveforce.transcribe import policy as transcriber
from raveforce.transcribe.training import hit_scores, split_patterns
from raveforce.wrappers import AppendStep, LogMelObservation

IDS = ("raveforce/DrumTranscribe-v0", "raveforce/KickTranscribe-v0")


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id):
    env = gym.make(env_id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the infinite Box bounds, as every RaveForce env
            check_env(env.unwrapped)
    finally:
        env.close()


def test_drawn_pattern_scores_zero_and_mix_equals_scsynth():
    env = gym.make("raveforce/DrumTranscribe-v0")
    try:
        obs, info = env.reset(seed=3)
        pattern = info["target_pattern"]
        assert pattern.shape == (16,) and pattern.min() >= 0 and pattern.max() < 8
        rewards = [env.step(int(a))[1] for a in pattern]
        assert max(abs(r) for r in rewards) < 1e-9
        rendered = render_episode(DRUM_TRANSCRIBE, [DRUM_TRANSCRIBE.actions.notes(int(a)) for a in pattern])
        assert np.abs(rendered - obs["target"]).max() < 1e-6
        wrong = (pattern + 1) % 8
        obs, _ = env.reset(seed=3)
        assert sum(env.step(int(a))[1] for a in wrong) < -1e-3
    finally:
        env.close()


def test_seeded_draws_repeat_and_differ():
    env = gym.make("raveforce/DrumTranscribe-v0", density=(0.5, 0.0, 0.0))
    try:
        a = env.reset(seed=1)[1]["target_pattern"]
        b = env.reset(seed=1)[1]["target_pattern"]
        c = env.reset()[1]["target_pattern"]
        assert np.array_equal(a, b) and not np.array_equal(a, c)
        assert set(np.unique(np.concatenate([a, c]))) <= {0, 1}  # only kicks at this density
    finally:
        env.close()


def test_given_target_and_its_length_warning(tmp_path):
    from raveforce.audio import write_wav

    pattern = [1, 0, 2, 0] * 4
    audio = mix_pattern(DRUM_TRANSCRIBE, pattern)
    env = gym.make("raveforce/DrumTranscribe-v0")
    try:
        obs, info = env.reset(options={"target": (audio, 44100)})
        assert "target_pattern" not in info and np.array_equal(obs["target"], audio)
        long = write_wav(tmp_path / "long.wav", np.concatenate([audio, audio]), 44100)
        with pytest.warns(UserWarning, match=r"lasts 4\.000 s but an episode lasts 2\.000 s .* cut"):
            obs, _ = env.reset(options={"target": long})
        assert np.abs(obs["target"] - audio).max() < 1e-6
        with pytest.raises(ArgumentError, match="'tempo'"):
            env.reset(options={"tempo": 100})
        with pytest.raises(TargetError):
            env.reset(options={"target": tmp_path / "missing.wav"})
    finally:
        env.close()


def test_kick_transcribe_target_action_is_best():
    env = gym.make("raveforce/KickTranscribe-v0")
    try:
        _, info = env.reset(seed=5)
        assert 30 <= info["target_frequency"] <= 2000
        best = env.step(info["target_action"])[1]
        for shift in (-0.05, 0.05):
            env.reset(seed=5)
            assert env.step(np.clip(info["target_action"] + shift, 0, 1))[1] < best
    finally:
        env.close()


def test_vector_env_lanes_equal_single_env_and_autoreset_draws_new_targets():
    envs = gym.make_vec("raveforce/DrumTranscribe-v0", num_envs=4, vectorization_mode="vector_entry_point")
    single = gym.make("raveforce/DrumTranscribe-v0")
    try:
        obs, info = envs.reset(seed=0)
        patterns = info["target_pattern"]
        assert obs["audio"].shape == obs["target"].shape == (4, 88200) and patterns.shape == (4, 16)
        actions = (patterns + np.arange(4)[:, None]) % 8  # lane 0 right, the others wrong
        rewards = np.zeros((4, 16))
        for k in range(16):
            obs, rewards[:, k], terminated, _, _ = envs.step(actions[:, k])
        assert terminated.all() and np.abs(rewards[0]).max() < 1e-9 and (rewards[1:].sum(axis=1) < 0).all()
        single.reset(options={"target": (obs["target"][2], 44100)})
        alone = [single.step(int(a))[1] for a in actions[2]]
        np.testing.assert_allclose(alone, rewards[2], rtol=1e-9, atol=1e-12)
        obs, r, _, _, info = envs.step(actions[:, 0])  # NEXT_STEP autoreset: new targets
        assert (r == 0).all() and not np.array_equal(info["target_pattern"], patterns)
    finally:
        envs.close()
        single.close()


def test_log_mel_wrappers_on_the_dict():
    env = AppendStep(LogMelObservation(gym.make("raveforce/DrumTranscribe-v0")))
    try:
        obs, _ = env.reset(seed=0)
        assert set(obs) == {"audio", "target", "step"} and env.observation_space.contains(obs)
        assert obs["audio"].max() == 0 and obs["target"].max() > 0.5 and obs["step"][0] == 1
        obs, *_ = env.step(1)
        assert env.observation_space.contains(obs) and obs["step"][1] == 1
    finally:
        env.close()


def test_hit_scores():
    truth = np.array([[1, 0, 7, 2]])
    s = hit_scores(np.array([[1, 0, 3, 2]]), truth)
    assert s["hit_accuracy"] == pytest.approx(11 / 12) and s["step_accuracy"] == 0.75 and s["exact_rate"] == 0
    assert s["hit_recall"] == pytest.approx(4 / 5) and s["hit_precision"] == 1.0
    assert not np.array_equal(split_patterns("dev", 5), split_patterns("held_out", 5))


def test_corrupt_or_missing_policy_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(transcriber.PolicyFileError, match="bad.npz"):
        transcriber.load(bad)
    with pytest.raises(transcriber.PolicyFileError, match="does not exist"):
        transcriber.load(tmp_path / "none.npz")
    np.savez(tmp_path / "other.npz", w0=np.zeros(3))
    with pytest.raises(transcriber.PolicyFileError, match="other.npz"):
        transcriber.load(tmp_path / "other.npz")


def test_hit_policy_plans_once_round_trips_and_names_a_foreign_classifier(tmp_path):
    from raveforce.rewards.hits import HitClassifier

    policy = transcriber.load()
    assert isinstance(policy, transcriber.HitPolicy) and policy.meta["algo"] == "supervised"
    pattern = [1, 0, 4, 0, 2, 0, 4, 1, 5, 0, 4, 0, 2, 0, 6, 4]
    target = mix_pattern(DRUM_TRANSCRIBE, pattern)[None]
    plan = policy.plan(target, DRUM_TRANSCRIBE.boundaries)
    from raveforce.rewards import hits

    b = DRUM_TRANSCRIBE.boundaries
    db = hits.step_windows_db(target[0], b[:-1], b[1:])
    levels = transcriber.step_levels(hits.normalise(db)[None], db.max(axis=(1, 2))[None])[0]  # (16, 6): (level, rise) per band
    rise, played = levels[:, 1::2].max(axis=1), np.array(pattern) > 0
    assert levels.shape == (16, 6) and rise[played].min() > 0.2 > rise[~played].max()  # a hit rises in some band, a rest in none
    assert plan.shape == (1, 16) and [int(policy.act(None, target, k)[0]) for k in range(16)] == plan[0].tolist()
    assert np.array_equal(transcriber.load(policy.save(tmp_path / "same.npz")).plan(target, DRUM_TRANSCRIBE.boundaries), plan)
    own = transcriber.HitPolicy(HitClassifier({k: v * 1.01 for k, v in policy.trunk.w.items()}, policy.trunk.pools), policy.head)
    loaded = transcriber.load(own.save(tmp_path / "own.npz"))  # another trunk travels in the file
    assert np.array_equal(loaded.trunk.w["conv1.weight"], own.trunk.w["conv1.weight"])
    with np.load(tmp_path / "same.npz") as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(str(arrays.pop("header")))
    np.savez(tmp_path / "stale.npz", header=np.array(json.dumps(header | {"trunk": "shipped hit classifier 0123456789abcdef"})), **arrays)
    with pytest.raises(transcriber.PolicyFileError, match=r"stale\.npz.*hears through hit classifier 'shipped hit classifier 0123456789abcdef'"):
        transcriber.load(tmp_path / "stale.npz")


def test_shipped_policy_transcribes_the_shipped_loop_in_one_pass():
    from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN

    actions, audio, _ = transcriber.transcribe((DRUM_LOOP.load_target(), 44100))
    assert len(actions) == 16 and audio.shape == (88200,)
    assert hit_scores(np.array([actions]), np.array([DRUM_LOOP_PATTERN]))["hit_accuracy"] >= 0.9


def test_solve_with_the_policy_writes_env_steps(tmp_path):
    from raveforce.app.main import main

    assert main(["solve", "drum-loop", "--agent", "policy", "--out", str(tmp_path / "out")]) == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["env_steps"] == 16 and len(result["actions"]) == 16
    assert (tmp_path / "out" / "index.html").exists()


def test_transcribe_envs_are_registered():
    assert set(IDS) <= set(raveforce.ENVS)
    assert KICK_TRANSCRIBE.steps == 1


@pytest.mark.heavy
def test_train_drum_transcribe_writes_curve_and_policy(tmp_path):
    import importlib.util

    from raveforce.app.main import main

    out, board = tmp_path / "run", tmp_path / "tb"
    tensorboard = ["--tensorboard", str(board)] if importlib.util.find_spec("tensorboard") else []
    assert main(["train", "drum-transcribe", "--algo", "ppo", "--steps", "256", "--envs", "8", "--dev-size", "16", "--out", str(out), *tensorboard]) == 0
    assert not tensorboard or list(board.rglob("events.out.tfevents.*"))
    rows = (out / "curve.csv").read_text().splitlines()
    assert rows[0].startswith("env_steps,") and len(rows) >= 3  # a header, the untrained policy and the end
    assert (out / "curve.png").stat().st_size > 0 and "curve.png" in (out / "index.html").read_text()
    policy = transcriber.load(out / "policy.npz")
    assert policy.meta["algo"] == "ppo" and policy.meta["env_steps"] >= 256
    result = json.loads((out / "result.json").read_text())
    assert 0 <= result["dev"]["hit_accuracy"] <= 1 and result["dev_size"] == 16
    assert "a fixed dev set of 16 patterns" in (out / "index.html").read_text()


def test_spectral_peak_kick_finds_the_frequency():
    from raveforce.transcribe import KickTranscribeEnv
    from raveforce.transcribe.policy import SpectralPeakKick

    env = KickTranscribeEnv.make_vector(4)
    try:
        obs, info = env.reset(seed=1)
        actions = SpectralPeakKick(env.task).act(obs["audio"], obs["target"], 0)
        np.testing.assert_allclose(actions[:, 0], info["target_action"][:, 0], atol=0.002)  # 0.002 ~ 24 cents
    finally:
        env.close()


def test_kit_family_targets_are_the_kits_loops_rendered_by_scsynth():
    from raveforce import kits

    env = gym.make("raveforce/DrumTranscribe-v0", kits="dev")
    try:
        obs, info = env.reset(seed=7)
        seed, pattern = int(info["target_kit"]), info["target_pattern"]
        assert seed in kits.SPLITS["dev"] and pattern.shape == (16,)
        loop = kits.render_loop(kits.draw(seed), pattern, DRUM_TRANSCRIBE, int(info["target_loop_seed"]))
        assert np.array_equal(obs["target"], loop) and np.abs(loop).max() > 0.01
        again = env.reset(seed=7)[1]
        assert int(again["target_kit"]) == seed and np.array_equal(again["target_pattern"], pattern)
        shipped = mix_pattern(DRUM_TRANSCRIBE, pattern)
        assert np.abs(loop - shipped).max() > 0.01  # another kit, not the shipped one
    finally:
        env.close()


def test_kit_family_vector_env_draws_from_the_given_seeds():
    envs = gym.make_vec("raveforce/DrumTranscribe-v0", num_envs=3, vectorization_mode="vector_entry_point", kits=[3, 5])
    try:
        obs, info = envs.reset(seed=0)
        assert info["target_kit"].shape == (3,) and set(info["target_kit"].tolist()) <= {3, 5}
        assert obs["target"].shape == (3, 88200) and (np.abs(obs["target"]).max(axis=1) > 0.01).all()
        assert len({obs["target"][i].tobytes() for i in range(3)}) == 3
    finally:
        envs.close()


@pytest.mark.parametrize("bad, named", [("test", "'test'"), ([], r"\[\]"), ([1, -2], "-2"), (5, "5"), ([1.5], "1.5")])
def test_a_bad_kits_option_is_named_with_the_valid_ones(bad, named):
    with pytest.raises(ArgumentError, match=named) as error:
        gym.make("raveforce/DrumTranscribe-v0", kits=bad)
    assert "held_out" in str(error.value)


def test_batched_mixing_drawing_and_given_targets_equal_the_one_at_a_time_ones():
    from raveforce.audio import load_target
    from raveforce.transcribe import PatternDrawer, kit_samples, load_given_target, mix_patterns

    task, kit = DRUM_TRANSCRIBE, kit_samples(DRUM_TRANSCRIBE.buffers, 44100)
    patterns = split_patterns("dev", 6)
    expected = np.zeros((6, task.total_samples))
    for row, pattern in zip(expected, patterns):
        for k, action in enumerate(pattern):
            b = int(task.boundaries[k])
            for i, sample in enumerate(kit):
                if action >> i & 1:
                    row[b : b + len(sample)] += sample[: task.total_samples - b]
    mixed = mix_patterns(task, patterns)
    assert mixed.dtype == np.float32 and np.array_equal(mixed, expected.astype(np.float32))
    drawer = PatternDrawer(task, (0.4, 0.3, 0.2))
    rng = np.random.default_rng(9)
    singles = [drawer.draw(rng) for _ in range(4)]
    audio, info = drawer.draw_many(np.random.default_rng(9), 4)
    assert np.array_equal(audio, np.stack([a for a, _ in singles])) and np.array_equal(info["target_pattern"], np.stack([d["target_pattern"] for _, d in singles]))
    # a float32 array of the episode's length at its rate is taken as it is; others go through load_target
    first = mixed[0]
    assert load_given_target(task, (first, 44100)) is first
    assert np.array_equal(load_given_target(task, (first.astype(np.float64), 44100)), load_target((first, 44100), sample_rate=44100, length=task.total_samples))
    bad = first.copy()
    bad[5] = np.nan
    with pytest.raises(TargetError, match="NaN"):
        load_given_target(task, (bad, 44100))


def test_tempo_range_draws_a_tempo_per_reset_and_pads_to_the_slowest():
    from raveforce.transcribe import DrumTranscribeEnv

    env = gym.make("raveforce/DrumTranscribe-v0", bpm=(90, 140))
    slowest = int(np.floor(16 * 0.25 * 60 / 90 * 44100 + 0.5))
    try:
        assert env.observation_space["target"].shape == (slowest,)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the infinite Box bounds
            check_env(env.unwrapped)
        tempos = set()
        for seed in range(3):
            obs, info = env.reset(seed=seed)
            bpm, task = info["target_bpm"], env.unwrapped.task
            tempos.add(bpm)
            assert 90 <= bpm <= 140 and task.bpm == bpm and obs["target"].shape == (slowest,)
            n = task.total_samples
            assert n == int(np.floor(16 * 0.25 * 60 / bpm * 44100 + 0.5)) and not obs["target"][n:].any() and obs["target"][:n].any()
            for k, action in enumerate(info["target_pattern"]):  # the right pattern at the drawn tempo scores 0
                obs, reward, *_ = env.step(int(action))
                assert reward > -1e-9, (seed, k, reward)
            assert not obs["audio"][n:].any()
        assert len(tempos) == 3
        _, info = env.reset(options={"bpm": 100})
        assert info["target_bpm"] == 100 and env.unwrapped.task.total_samples == 105840
        with pytest.raises(ArgumentError, match=r"bpm=150 is outside this env's tempo range 90-140 BPM"):
            env.reset(options={"bpm": 150})
    finally:
        env.close()
    vec = DrumTranscribeEnv.make_vector(3, bpm=(90, 140))
    try:
        obs, info = vec.reset(seed=4)
        bpm = info["target_bpm"][0]
        assert np.all(info["target_bpm"] == bpm) and obs["target"].shape == (3, slowest)
        n = vec.task.total_samples
        assert not obs["target"][:, n:].any() and np.array_equal(obs["target"][0, :n], mix_pattern(vec.task, info["target_pattern"][0]))
        for k in range(16):
            obs, reward, terminated, *_ = vec.step(info["target_pattern"][:, k])
            assert np.all(reward > -1e-9)
        obs, _, _, _, info = vec.step(np.zeros(3, np.int64))  # the autoreset step draws a new tempo
        assert info["target_bpm"][0] != bpm and vec.task.bpm == info["target_bpm"][0]
    finally:
        vec.close()


@pytest.mark.parametrize("bad", [(140, 90), (10, 100), (90, 400), (90,), "fast", (90, float("nan"))])
def test_a_bad_tempo_range_is_a_clear_error(bad):
    with pytest.raises(ArgumentError, match=r"bpm=.* is neither a tempo \(a number\) nor a tempo range \(low, high\) with 30 <= low < high <= 300 BPM"):
        gym.make("raveforce/DrumTranscribe-v0", bpm=bad)
    env = gym.make("raveforce/DrumTranscribe-v0")
    try:
        with pytest.raises(ArgumentError, match="needs a tempo range"):
            env.reset(options={"bpm": 100})
    finally:
        env.close()


def test_shipped_policy_transcribes_any_tempo_and_a_trained_mlp_refuses_too_fast_ones():
    import dataclasses

    from raveforce.transcribe.policy import NumpyPolicy, StepFeatures

    pattern = [1, 0, 4, 0, 2, 0, 4, 1, 5, 0, 4, 0, 2, 0, 6, 4]
    for bpm in (70, 95, 140, 190):
        task = dataclasses.replace(DRUM_TRANSCRIBE, bpm=bpm)
        actions, audio, _ = transcriber.transcribe((mix_pattern(task, pattern), 44100), bpm=bpm)
        assert audio.shape == (task.total_samples,)
        assert hit_scores(np.array([actions]), np.array([pattern]))["hit_accuracy"] >= 46 / 48, (bpm, actions)
    features = StepFeatures(DRUM_TRANSCRIBE)  # an MLP of `raveforce train` hears a fixed number of samples
    mlp = NumpyPolicy([(np.zeros((8, features.size)), np.zeros(8))], "tanh", features)
    fast = dataclasses.replace(DRUM_TRANSCRIBE, bpm=140)
    with pytest.raises(ArgumentError, match=r"bpm=140: its steps of 4725 samples are shorter than the 5120 samples .* valid: up to 129\.2 BPM"):
        transcriber.transcribe((mix_pattern(fast, pattern), 44100), bpm=140, policy=mlp)


def test_step_feature_wrappers_follow_the_episode_tempo():
    from raveforce.transcribe import DrumTranscribeEnv
    from raveforce.transcribe.policy import StepFeatureObservation, StepFeatures, VectorStepFeatures

    env = StepFeatureObservation(gym.make("raveforce/DrumTranscribe-v0", bpm=(90, 120)))
    features = StepFeatures(DRUM_TRANSCRIBE)
    try:
        x, info = env.reset(seed=2)
        task = env.unwrapped.task
        assert task.bpm == info["target_bpm"] != 90
        raw = env.unwrapped._observe(env.unwrapped.audio)
        assert np.array_equal(x, features(raw["audio"], raw["target"], 0, task.boundaries)[0])
        x, *_ = env.step(int(info["target_pattern"][0]))
        raw = env.unwrapped._observe(env.unwrapped.audio)
        assert np.array_equal(x, features(raw["audio"], raw["target"], 1, task.boundaries)[0])
        assert not np.array_equal(x, features(raw["audio"], raw["target"], 1, env.unwrapped.padded_task.boundaries)[0])
    finally:
        env.close()
    vec = VectorStepFeatures(DrumTranscribeEnv.make_vector(2, bpm=(90, 120)))
    try:
        x, info = vec.reset(seed=2)
        x, *_ = vec.step(info["target_pattern"][:, 0])
        raw = vec.env._observation()
        assert np.array_equal(x, features(raw["audio"], raw["target"], 1, vec.env.task.boundaries))
    finally:
        vec.close()


def test_evaluate_in_threads_and_on_kit_family_targets_gives_the_same_answers():
    from raveforce.transcribe.training import evaluate, split_kit_targets

    policy, patterns = transcriber.load(), split_patterns("dev", 12)
    one, two = evaluate(policy.act, patterns, lanes=4), evaluate(policy.act, patterns, lanes=4, threads=2)
    assert np.array_equal(one["predicted"], two["predicted"]) and one["mean_return"] == two["mean_return"]
    audio, kit_patterns = split_kit_targets("dev", 4)
    assert audio.shape == (4, DRUM_TRANSCRIBE.total_samples) and np.array_equal(kit_patterns, split_kit_targets("dev", 4)[1])
    on_kits = evaluate(policy.act, kit_patterns, lanes=4, audio=audio)
    assert on_kits["predicted"].shape == (4, 16) and 0 <= on_kits["hit_accuracy"] <= 1
