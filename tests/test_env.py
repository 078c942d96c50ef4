"""The Gymnasium environments, end to end with the real scsynth."""

import gc
import os
import subprocess
import sys
import textwrap

import gymnasium as gym
import numpy as np
import pytest
import soundfile
from conftest import scsynth_children
from gymnasium.utils.env_checker import check_env

import raveforce
from raveforce.env import RaveForceEnv
from raveforce.errors import EpisodeError, InvalidActionError, ScsynthError, TargetError
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN, KICK_FREQUENCY


@pytest.fixture
def drum_env():
    env = gym.make("raveforce/DrumLoop-v0", reward="mse")
    yield env
    env.close()


@pytest.mark.parametrize("env_id", sorted(set(raveforce.ENVS) - raveforce.SERVED))  # served: test_sclang.py
def test_check_env_passes_for_every_registered_env(env_id):
    env = gym.make(env_id)
    try:
        check_env(env.unwrapped, skip_render_check=False)
    finally:
        env.close()


def test_observation_is_padded_and_cut_at_the_step_boundary(drum_env, rng):
    obs, info = drum_env.reset(seed=0)
    b = DRUM_LOOP.boundaries
    assert obs.shape == (88200,) and obs.dtype == np.float32 and not obs.any()
    assert drum_env.observation_space.contains(obs)
    for k in range(16):
        obs, reward, terminated, truncated, info = drum_env.step(7)  # every drum, every step
        assert np.abs(obs[b[k] : b[k + 1]]).max() > 0
        assert not obs[b[k + 1] :].any()
        prefix = b[k + 1]
        target = drum_env.unwrapped.target
        assert reward == pytest.approx(-np.mean((obs[:prefix].astype(np.float64) - target[:prefix]) ** 2), rel=1e-9)
        assert terminated == (k == 15) and truncated is False and info["step"] == k + 1


@pytest.mark.parametrize("reward", ["mse", "mfcc", "stft", "cqt"])
def test_the_documented_optimum_scores_zero_and_beats_random(reward, rng):
    env = gym.make("raveforce/DrumLoop-v0", reward=reward)
    try:
        env.reset(seed=0)
        best = [env.step(a)[1] for a in DRUM_LOOP_PATTERN]
        env.reset(seed=0)
        other = [env.step(a)[1] for a in rng.integers(0, 8, 16)]
    finally:
        env.close()
    scale = max(abs(min(other)), 1e-12)
    assert all(abs(r) <= 1e-6 * scale for r in best), best
    assert sum(other) < sum(best)


def test_same_seed_and_actions_give_bit_identical_episodes(rng):
    actions = rng.integers(0, 8, 16)
    runs = []
    for _ in range(2):
        env = gym.make("raveforce/DrumLoop-v0")
        obs0, _ = env.reset(seed=42)
        steps = [env.step(a) for a in actions]
        runs.append((obs0, [s[0] for s in steps], [s[1] for s in steps]))
        env.close()
    (o1, obs1, r1), (o2, obs2, r2) = runs
    assert np.array_equal(o1, o2)
    assert all(np.array_equal(a, b) for a, b in zip(obs1, obs2))
    assert r1 == r2


def test_kick_frequency_finds_the_kicks_range():
    env = gym.make("raveforce/KickFrequency-v0")
    try:
        rewards = {}
        for x in np.linspace(0.0, 1.0, 21):
            env.reset(seed=0)
            obs, reward, terminated, _, _ = env.step(np.array([x], dtype=np.float32))
            assert terminated and obs.shape == (22050,)
            rewards[x] = reward
    finally:
        env.close()
    best = max(rewards, key=rewards.get)
    freq = 20.0 * (22000.0 / 20.0) ** best
    assert 30.0 <= freq <= 200.0  # the kit's kick sweeps from 180 Hz down to 48 Hz


@pytest.mark.parametrize(
    "action, message",
    [(8, "outside Discrete"), (-1, "outside Discrete"), (1.5, "not one integer"), ("kick", "not one integer"), ([1, 2], "not one integer")],
)
def test_bad_discrete_actions_are_rejected_and_leave_the_episode_intact(drum_env, action, message):
    drum_env.reset(seed=0)
    drum_env.step(5)
    with pytest.raises(InvalidActionError, match=message):
        drum_env.step(action)
    obs, *_ = drum_env.step(0)  # the episode goes on at step 2
    assert drum_env.unwrapped.episode_rewards.__len__() == 2


@pytest.mark.parametrize(
    "action, message",
    [
        (np.array([np.nan], np.float32), "NaN or inf"),
        (np.array([np.inf], np.float32), "NaN or inf"),
        (np.array([1.5], np.float32), "outside"),
        (np.array([0.2, 0.3], np.float32), "shape"),
        ("loud", "not a number array"),
    ],
)
def test_bad_continuous_actions_are_rejected(action, message):
    env = gym.make("raveforce/KickFrequency-v0")
    try:
        env.reset(seed=0)
        with pytest.raises(InvalidActionError, match=message):
            env.step(action)
        env.step(np.array([0.1], np.float32))
    finally:
        env.close()


def test_step_before_reset_and_after_the_end(drum_env):
    env = drum_env.unwrapped  # gym.make's order-enforcing wrapper would answer first
    with pytest.raises(EpisodeError, match="before reset"):
        env.step(0)
    env.reset(seed=0)
    for _ in range(16):
        env.step(0)
    with pytest.raises(EpisodeError, match="ended"):
        env.step(0)


def test_unknown_reward_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'loudness'.*mfcc"):
        gym.make("raveforce/DrumLoop-v0", reward="loudness")


def test_callable_reward(drum_env):
    env = gym.make("raveforce/DrumLoop-v0", reward=lambda observed, target, sr: -float(np.abs(observed - target).sum()))
    try:
        env.reset(seed=0)
        obs, reward, *_ = env.step(1)
        b = DRUM_LOOP.boundaries[1]
        assert reward == pytest.approx(-np.abs(obs[:b] - env.unwrapped.target[:b]).sum(), rel=1e-6)
    finally:
        env.close()


def test_target_as_array_at_another_rate_is_resampled(tmp_path):
    t = np.arange(22050) / 22050
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    env = RaveForceEnv(KICK_FREQUENCY, target=(tone, 22050))
    try:
        assert env.target.shape == (22050,)  # 0.5 s at 44100 Hz
        spectrum = np.abs(np.fft.rfft(env.target[:20000]))
        assert abs(np.argmax(spectrum) * 44100 / 20000 - 440) < 5
    finally:
        env.close()
    stereo = np.stack([tone, tone], axis=1)
    env = RaveForceEnv(KICK_FREQUENCY, target=(stereo, 22050))
    env.close()


def test_bad_targets(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, np.float32), 44100)
    cases = [
        (tmp_path / "missing.wav", "does not exist"),
        (text, "not readable audio"),
        (empty, "empty"),
        (tmp_path, "not a file"),
        ((np.zeros((2, 2, 2)), 44100), "shape"),
        ((np.array([0.0, np.nan]), 44100), "NaN"),
        ((np.zeros(100), 0), "sample rate 0"),
        ((["a", "b"], 44100), "not numeric"),
        (42, "neither a sound file path nor a pair"),
    ]
    for target, message in cases:
        with pytest.raises(TargetError, match=message):
            RaveForceEnv(DRUM_LOOP, target=target)


def test_bad_task_options():
    with pytest.raises(ValueError, match="bpm=0"):
        gym.make("raveforce/DrumLoop-v0", bpm=0)
    with pytest.raises(ValueError, match="steps=0"):
        gym.make("raveforce/DrumLoop-v0", steps=0)
    with pytest.raises(TypeError, match="unknown task option.*'tempo'"):
        gym.make("raveforce/DrumLoop-v0", tempo=120)
    with pytest.raises(ValueError, match="render_mode='ansi'"):
        RaveForceEnv(DRUM_LOOP, render_mode="ansi")


def test_bpm_and_steps_change_the_grid():
    env = gym.make("raveforce/DrumLoop-v0", bpm=90, steps=8)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (round(8 * 0.25 * 60 / 90 * 44100),)
        for _ in range(8):
            obs, _, terminated, _, _ = env.step(1)
        assert terminated
    finally:
        env.close()


def test_rgb_array_picture_and_wav(tmp_path):
    env = gym.make("raveforce/DrumLoop-v0", render_mode="rgb_array")
    try:
        env.reset(seed=0)
        for a in DRUM_LOOP_PATTERN[:8]:
            env.step(a)
        picture = env.render()
        assert picture.shape == (240, 640, 3) and picture.dtype == np.uint8
        assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 3
        path = env.unwrapped.save_wav(tmp_path / "episode.wav")
        audio, rate = soundfile.read(path, dtype="float32")
        assert rate == 44100 and np.array_equal(audio, env.unwrapped.audio)
    finally:
        env.close()


# --- faults and leaks ---------------------------------------------------------------------------


def _stream_process(env):
    return env.unwrapped._renderer._stream._process


def test_scsynth_dying_mid_episode_raises_then_reset_recovers(rng):
    env = gym.make("raveforce/DrumLoop-v0", reward="mse")
    try:
        env.reset(seed=0)
        env.step(1)
        _stream_process(env).kill()
        with pytest.raises(ScsynthError, match="scsynth"):
            env.step(1)
        with pytest.raises(EpisodeError):
            env.step(1)
        env.reset(seed=0)
        rewards = [env.step(a)[1] for a in DRUM_LOOP_PATTERN]
        assert all(abs(r) < 1e-9 for r in rewards)
    finally:
        env.close()


def test_hung_scsynth_times_out():
    env = gym.make("raveforce/DrumLoop-v0", reward="mse", timeout=2.0)  # a loaded machine may take 0.5 s to start scsynth
    try:
        env.reset(seed=0)
        process = _stream_process(env)
        os.kill(process.pid, 19)  # SIGSTOP
        with pytest.raises(ScsynthError, match="timeout"):
            env.step(1)
        assert process.poll() is not None  # the hung process was killed
        env.reset(seed=0)
        env.step(1)
    finally:
        env.close()


def test_close_leaves_nothing_behind():
    env = gym.make("raveforce/DrumLoop-v0")
    env.reset(seed=0)
    env.step(1)
    stream = env.unwrapped._renderer._stream
    tmpdir, pid = stream._tmpdir, stream._process.pid
    assert os.path.isdir(tmpdir) and pid in scsynth_children()
    env.close()
    env.close()  # twice is fine
    assert not os.path.exists(tmpdir) and pid not in scsynth_children()


def test_garbage_collection_leaves_nothing_behind():
    env = gym.make("raveforce/DrumLoop-v0")
    env.reset(seed=0)
    tmpdir = env.unwrapped._renderer._stream._tmpdir
    del env
    gc.collect()
    assert not os.path.exists(tmpdir) and not scsynth_children()


def test_interpreter_exit_leaves_nothing_behind(tmp_path):
    script = textwrap.dedent(
        """
        import gymnasium as gym, raveforce
        env = gym.make("raveforce/DrumLoop-v0")
        env.reset(seed=0)
        env.step(3)
        print(env.unwrapped._renderer._stream._process.pid)
        """
    )
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, "TMPDIR": str(tmp)}, timeout=60)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[-1])
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower()
    assert list(tmp.iterdir()) == []
