"""The "onsets" reward (DrumLoop's default before `hits`): exact at the optimum, incremental, tolerant of timing and gain."""

import gymnasium as gym
import numpy as np
import pytest

import raveforce  # noqa: F401
from raveforce import rewards as R
from raveforce.rewards import Onsets, onsets
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN


@pytest.fixture(scope="module")
def target():
    return DRUM_LOOP.load_target()


def _make(target, reward="onsets"):
    return R.make(reward, target=target, sample_rate=DRUM_LOOP.sample_rate, boundaries=DRUM_LOOP.boundaries)


def test_onsets_optimum_scores_exactly_zero():
    assert "onsets" in R.available()
    env = gym.make("raveforce/DrumLoop-v0", reward="onsets")
    try:
        env.reset(seed=0)
        assert [env.step(a)[1] for a in DRUM_LOOP_PATTERN] == [0.0] * 16
    finally:
        env.close()


@pytest.mark.parametrize("reward", ["onsets", onsets(time_tolerance=0), onsets(time_tolerance=7, hop=128)])
def test_incremental_steps_equal_fresh_calls(target, reward):
    """Each step computes only the new frames and the pooled rows they reach: the same bits as
    the whole prefix from scratch, also after an earlier step's samples change."""
    rng = np.random.default_rng(0)
    bursts = rng.standard_normal(len(target)) * np.repeat(rng.random(len(target) // 512 + 1) ** 4, 512)[: len(target)]
    audio = (0.7 * np.roll(target, 300) + 0.3 * bursts).astype(np.float32)
    stepped = _make(target, reward)
    for k in range(DRUM_LOOP.steps):
        if k == 9:
            audio[DRUM_LOOP.boundaries[5] :] *= 0.5  # not the prefix step 8 saw: computed from scratch
        value = stepped.distance(audio, k)
        assert value == _make(target, reward).distance(audio, k)


def test_hits_a_few_ms_late_or_quieter_cost_less_than_missing_ones(target):
    last = DRUM_LOOP.steps - 1
    late = np.roll(target, round(0.004 * DRUM_LOOP.sample_rate))  # every onset 4 ms late
    quiet = 0.5 * target  # 6 dB down
    missing = target.copy()
    missing[DRUM_LOOP.boundaries[4] : DRUM_LOOP.boundaries[12]] = 0  # the hits of 8 steps gone
    d = {name: _make(target).distance(audio, last) for name, audio in [("late", late), ("quiet", quiet), ("missing", missing)]}
    assert 0 < d["late"] < d["missing"] and 0 < d["quiet"] < d["missing"]


def test_parameters_and_bad_ones():
    variant = onsets(time_tolerance=1, bands=12)
    assert issubclass(variant, Onsets) and variant.bands == 12 and variant.name.startswith("onsets(")
    with pytest.raises(TypeError, match="hop_size"):
        onsets(hop_size=128)
