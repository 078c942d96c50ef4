"""The task suite beyond the paper (KickMatch, FMTone, BassLine, Melody), with the real scsynth.

check_env runs over the whole registry in test_env.py; here: the shipped targets are the
documented parameters, the documented optimum scores ~0 and beats random, the vector env agrees.
"""

import gymnasium as gym
import numpy as np
import pytest
import soundfile
from conftest import scsynth_children

from raveforce import tasks
from raveforce.synth.render import render_episode
from raveforce.task import Note
from raveforce.tasks import (
    BASS_LINE,
    BASS_LINE_PATTERN,
    FM_TONE,
    FM_TONE_OPTIMUM,
    KICK_MATCH,
    KICK_MATCH_OPTIMUM,
    MELODY,
    MELODY_PATTERN,
    instruments,
)

BASS_ACTIONS = [tasks.bass_action(m) for m in BASS_LINE_PATTERN]
MELODY_ACTIONS = [tasks.melody_action(m) for m in MELODY_PATTERN]
OPTIMA = {  # env id: (task, the documented optimal actions)
    "raveforce/KickMatch-v0": (KICK_MATCH, [KICK_MATCH_OPTIMUM]),
    "raveforce/FMTone-v0": (FM_TONE, [FM_TONE_OPTIMUM]),
    "raveforce/BassLine-v0": (BASS_LINE, BASS_ACTIONS),
    "raveforce/Melody-v0": (MELODY, MELODY_ACTIONS),
}


def test_suite_is_registered_with_vector_entry_points():
    for env_id in OPTIMA:
        assert gym.spec(env_id).vector_entry_point is not None


def test_documented_parameters_map_to_the_documented_actions():
    kick = dict(KICK_MATCH.actions.notes(KICK_MATCH_OPTIMUM)[0].controls)
    assert kick == pytest.approx(tasks.KICK_MATCH_PARAMETERS, rel=1e-5)
    fm = dict(FM_TONE.actions.notes(FM_TONE_OPTIMUM)[0].controls)
    assert fm == pytest.approx({**tasks.FM_TONE_PARAMETERS, "freq": 220.0}, rel=1e-5)
    assert BASS_ACTIONS == [6, 0, 6, 18, 0, 6, 9, 0, 11, 0, 11, 23, 13, 0, 16, 13]  # as the docstring says
    assert MELODY_ACTIONS == [8, 0, 13, 17, 20, 17, 13, 0, 15, 18, 0, 15, 12, 0, 8, 13]
    assert BASS_LINE.action_space.n == MELODY.action_space.n == 25
    assert tasks.midi_hz(69) == 440.0 and tasks.midi_hz(33) == pytest.approx(55.0)


@pytest.mark.parametrize("env_id", sorted(OPTIMA))
def test_shipped_target_is_a_one_shot_render_of_the_documented_optimum(env_id):
    task, actions = OPTIMA[env_id]
    shipped, rate = soundfile.read(task.target, dtype="float32")
    assert rate == 44100 and shipped.shape == (task.total_samples,) and np.abs(shipped).max() > 0.1
    rendered = render_episode(task, [task.actions.notes(a) for a in actions])
    # KickMatch's target is the kit's kick (instruments.kit_kick): equal up to the float32 action.
    tolerance = 1e-4 if task is KICK_MATCH else 1e-6
    assert np.abs(shipped - rendered).max() <= tolerance


def test_the_kit_kick_is_the_kick_synth_at_the_kits_parameters():
    assert instruments.KIT["kick"][0].name == "kit_kick"
    exact = render_episode(KICK_MATCH, [(Note.of("kick", **tasks.KICK_MATCH_PARAMETERS),)])
    shipped, _ = soundfile.read(KICK_MATCH.target, dtype="float32")
    assert np.abs(shipped - exact).max() <= 1e-6


@pytest.mark.parametrize("env_id", sorted(OPTIMA))
@pytest.mark.parametrize("reward", [None, "mse", "mfcc"])
def test_the_documented_optimum_scores_zero_and_beats_random(env_id, reward, rng):
    task, actions = OPTIMA[env_id]
    env = gym.make(env_id, **({} if reward is None else {"reward": reward}))
    try:
        env.action_space.seed(7)
        random_finals = []
        for _ in range(5):
            env.reset(seed=0)
            random_finals.append([env.step(env.action_space.sample())[1] for _ in range(task.steps)][-1])
        env.reset(seed=0)
        best = [env.step(a)[1] for a in actions]
    finally:
        env.close()
    scale = abs(min(random_finals))
    assert all(abs(r) <= 1e-6 * scale for r in best), (best, random_finals)
    assert max(random_finals) < best[-1]


def test_bass_line_with_a_cutoff_dimension_plays_the_default_target_at_its_middle_cutoff():
    cutoffs = (400.0, tasks.BASS_CUTOFF, 1600.0)
    choices = tasks.bass_choices(33, 50, cutoffs=cutoffs)
    env = gym.make("raveforce/BassLine-v0", actions=choices)
    try:
        assert env.action_space.n == 1 + 18 * 3 == len(choices.candidates) + 1
        env.reset(seed=0)
        best = [env.step(tasks.bass_action(m, 1, low=33, n_cutoffs=3))[1] for m in BASS_LINE_PATTERN]
        env.reset(seed=0)
        bright = [env.step(tasks.bass_action(m, 2, low=33, n_cutoffs=3))[1] for m in BASS_LINE_PATTERN]
    finally:
        env.close()
    assert max(abs(r) for r in best) <= 1e-9 and bright[-1] < -1e-3


def test_greedy_search_recovers_the_melody():
    """Step k's reward depends only on steps 0..k, so one pass over the actions per step finds it."""
    from raveforce.agents import greedy

    assert greedy(MELODY).actions == list(MELODY_ACTIONS)


@pytest.mark.parametrize("env_id", sorted(OPTIMA))
def test_vector_env_rewards_equal_the_single_env(env_id):
    task, actions = OPTIMA[env_id]
    single = gym.make(env_id)
    vector = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    try:
        vector.action_space.seed(3)
        other = [vector.single_action_space.sample() for _ in range(task.steps)]
        vector.reset(seed=0)
        batch = [vector.step(np.stack([a, b]))[1] for a, b in zip(actions, other)]
        single.reset(seed=0)
        alone = [single.step(b)[1] for b in other]
    finally:
        vector.close()
        single.close()
    assert all(abs(r[0]) <= 1e-9 * max(1.0, abs(alone[-1])) for r in batch)
    assert [r[1] for r in batch] == pytest.approx(alone, rel=1e-5, abs=1e-9)
    assert not scsynth_children()
