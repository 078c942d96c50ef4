"""The batched vector environment, with the real scsynth."""

import dataclasses
import threading

import gymnasium as gym
import numpy as np
import pytest
from conftest import scsynth_children

import raveforce
from raveforce import rewards
from raveforce.errors import EpisodeError, InvalidActionError
from raveforce.tasks import DRUM_LOOP, KICK_FREQUENCY
from raveforce.vector import RaveForceVectorEnv, SubEnvError


def single_episode(actions, **kwargs):
    env = gym.make("raveforce/DrumLoop-v0", **kwargs)
    try:
        env.reset(seed=0)
        steps = [env.step(a) for a in actions]
        return steps[-1][0], [s[1] for s in steps]
    finally:
        env.close()


@pytest.mark.parametrize("processes", [1, 2])
def test_each_sub_env_equals_the_single_env(rng, processes):
    n = 6
    envs = gym.make_vec("raveforce/DrumLoop-v0", num_envs=n, vectorization_mode="vector_entry_point", reward="mfcc", processes=processes)
    try:
        assert envs.observation_space.shape == (n, 88200) and envs.action_space.shape == (n,)
        actions = rng.integers(0, 8, (16, n))
        obs, _ = envs.reset(seed=1)
        assert obs.shape == (n, 88200) and not obs.any()
        rewards = []
        for a in actions:
            obs, reward, terminated, truncated, _ = envs.step(a)
            rewards.append(reward)
        assert terminated.all() and not truncated.any()
    finally:
        envs.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("raveforce-rewards")]  # the groups' reward threads ended
    rewards = np.array(rewards)
    for i in (0, n - 1):
        alone_obs, alone_rewards = single_episode(actions[:, i], reward="mfcc")
        assert np.array_equal(obs[i], alone_obs)
        assert rewards[:, i].tolist() == alone_rewards


def test_next_step_autoreset():
    envs = RaveForceVectorEnv(dataclasses.replace(DRUM_LOOP, steps=2), num_envs=3, reward="mse", processes=1)
    try:
        envs.reset(seed=0)
        envs.step(np.array([1, 2, 4]))
        obs, reward, terminated, truncated, _ = envs.step(np.array([1, 2, 4]))
        assert terminated.all() and obs.any(axis=1).all()
        obs, reward, terminated, truncated, _ = envs.step(np.array([7, 7, 7]))  # the reset step
        assert not obs.any() and not reward.any() and not terminated.any()
        obs, reward, terminated, _, _ = envs.step(np.array([1, 2, 4]))
        assert obs.any(axis=1).all() and not terminated.any()
    finally:
        envs.close()


def test_per_env_targets_and_copy_false(rng):
    silence = (np.zeros(88200, np.float32), 44100)
    envs = RaveForceVectorEnv(DRUM_LOOP, num_envs=2, target=[DRUM_LOOP.target, silence], reward="mse", copy=False)
    try:
        obs, _ = envs.reset(seed=0)
        obs2, reward, *_ = envs.step(np.array([0, 0]))
        assert obs2 is obs  # copy=False: the env's own buffer
        assert reward[1] == 0.0 and reward[0] < 0.0  # a rest matches silence, not the loop
    finally:
        envs.close()


def test_bad_actions_name_the_sub_env():
    envs = RaveForceVectorEnv(DRUM_LOOP, num_envs=3, reward="mse")
    try:
        envs.reset(seed=0)
        with pytest.raises(InvalidActionError, match=r"shape \(2,\); expected \(3,\)"):
            envs.step(np.array([1, 2]))
        with pytest.raises(InvalidActionError, match="sub-environment 2: action 9"):
            envs.step(np.array([1, 2, 9]))
        with pytest.raises(InvalidActionError, match="sub-environment 0"):
            envs.step(np.array([0.5, 1.0, 2.0]))
        _, reward, *_ = envs.step(np.array([1, 2, 4]))  # nothing was rendered by the bad steps
        assert reward.shape == (3,)
    finally:
        envs.close()


def test_a_dead_scsynth_names_its_sub_envs_and_reset_recovers():
    envs = RaveForceVectorEnv(DRUM_LOOP, num_envs=4, reward="mse", processes=2)
    try:
        envs.reset(seed=0)
        envs.step(np.array([1, 1, 1, 1]))
        envs._groups[1]._stream._process.kill()
        with pytest.raises(SubEnvError, match="sub-environments 2-3") as failure:
            envs.step(np.array([1, 1, 1, 1]))
        assert failure.value.indices == (2, 3)
        with pytest.raises(EpisodeError):
            envs.step(np.array([1, 1, 1, 1]))
        envs.reset(seed=0)
        _, reward, *_ = envs.step(np.array([5, 5, 5, 5]))  # the documented pattern's first step
        assert np.allclose(reward, 0.0, atol=1e-9)
    finally:
        envs.close()
    assert not scsynth_children()


def test_continuous_task_falls_back_to_nrt_lanes():
    task = dataclasses.replace(KICK_FREQUENCY, steps=2, beats_per_step=0.25)
    envs = RaveForceVectorEnv(task, num_envs=2, reward="mse", processes=1)
    try:
        envs.reset(seed=0)
        obs, reward, *_ = envs.step(np.array([[0.1], [0.3]], np.float32))
        assert obs.shape == (2, task.total_samples) and reward.shape == (2,)
        assert not np.array_equal(obs[0], obs[1])
    finally:
        envs.close()


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="num_envs=0"):
        RaveForceVectorEnv(DRUM_LOOP, num_envs=0)
    with pytest.raises(ValueError, match="processes=3"):
        RaveForceVectorEnv(DRUM_LOOP, num_envs=2, processes=3)


@pytest.mark.parametrize("env_id", sorted(set(raveforce.ENVS) - raveforce.SERVED))
def test_every_registered_task_has_a_vector_env(env_id):
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", reward="mse")
    try:
        envs.reset(seed=0)
        obs, reward, *_ = envs.step(envs.action_space.sample())
        audio = obs["audio"] if isinstance(obs, dict) else obs  # the transcription envs: Dict(audio, target)
        assert audio.shape == (2, envs.unwrapped.task.total_samples) and reward.shape == (2,)
    finally:
        envs.close()


@pytest.mark.parametrize("n", [5, 64])
@pytest.mark.parametrize("reward", ["mse", "stft", "mfcc"])
def test_batched_rewards_equal_the_per_env_criteria(rng, reward, n):
    """Per-env targets, two episodes through the autoreset step: every reward is, to the bit,
    minus the distance of a per-env criterion of its sub-env's audio."""
    task = dataclasses.replace(DRUM_LOOP, steps=4)
    loop = DRUM_LOOP.target
    targets = [loop, (np.zeros(task.total_samples, np.float32), 44100)] + [loop] * (n - 2)
    envs = RaveForceVectorEnv(task, num_envs=n, target=targets, reward=reward)
    try:
        alone = [rewards.make(reward, target=t, sample_rate=task.sample_rate, boundaries=task.boundaries) for t in envs.targets]
        envs.reset(seed=0)
        for episode in range(2):
            for c in alone:
                c.reset()
            for k in range(task.steps):
                obs, reward_, terminated, *_ = envs.step(rng.integers(0, 8, n))
                assert reward_.tolist() == [0.0 - c.distance(o, k) for c, o in zip(alone, obs)], (episode, k)
            assert terminated.all()
            obs, reward_, *_ = envs.step(rng.integers(0, 8, n))  # the autoreset step
            assert not reward_.any() and not obs.any()
    finally:
        envs.close()


def test_a_closed_vector_env_frees_its_batched_criteria_without_a_full_collection():
    """A batch and its criteria refer to each other; close() breaks that, so re-creating envs does
    not pile up their buffers (about 2.5 MB an env) until the garbage collector's next full pass."""
    import gc
    import weakref

    env = gym.make_vec("raveforce/DrumLoop-v0", num_envs=4, vectorization_mode="vector_entry_point", reward="mfcc")
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())
    criterion = weakref.ref(env.unwrapped.criteria[0])
    assert criterion()._batch is not None  # the rewards were batched
    gc.disable()
    try:
        env.close()
        del env
        assert criterion() is None
    finally:
        gc.enable()
