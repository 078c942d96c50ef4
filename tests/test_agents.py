"""Baseline agents against the real scsynth: they recover the shipped drum pattern and the kick's best frequency."""

import numpy as np
import pytest
from conftest import scsynth_children

from raveforce import agents
from raveforce.tasks import DRUM_LOOP, DRUM_LOOP_PATTERN, KICK_FREQUENCY


@pytest.mark.parametrize("reward", ["mfcc", "mse"])
def test_greedy_recovers_the_shipped_pattern(reward):
    steps_seen = []
    solution = agents.greedy(DRUM_LOOP, reward=reward, progress=lambda done, total, msg: steps_seen.append(done))
    assert solution.actions == list(DRUM_LOOP_PATTERN)
    assert max(abs(r) for r in solution.rewards) < 1e-9
    assert steps_seen == list(range(1, 17))
    assert solution.evaluations == 8 * 16 * 17 // 2  # every prefix replayed for each of 8 actions
    assert not scsynth_children()


def test_beam_search_recovers_the_pattern_and_its_rewards_are_the_single_envs():
    solution = agents.beam_search(DRUM_LOOP, width=3)
    assert solution.actions == list(DRUM_LOOP_PATTERN)
    _, rewards, _ = agents.play(DRUM_LOOP, solution.actions)
    assert rewards == solution.rewards  # the vector env's rewards equal the single env's


def test_random_search_is_seeded_and_worse_than_the_optimum():
    a = agents.random_search(DRUM_LOOP, episodes=16, seed=7)
    b = agents.random_search(DRUM_LOOP, episodes=16, seed=7)
    c = agents.random_search(DRUM_LOOP, episodes=16, seed=8)
    assert a.actions == b.actions and a.rewards == b.rewards
    assert a.actions != c.actions
    assert a.total_reward == pytest.approx(max(a.history["returns"]), rel=1e-12) and a.total_reward < -1.0
    _, rewards, _ = agents.play(DRUM_LOOP, a.actions)
    assert np.allclose(rewards, a.rewards, rtol=1e-9, atol=1e-9)


def test_sweep_finds_the_best_frequency_of_a_dense_grid():
    solution = agents.sweep(KICK_FREQUENCY, points=32, rounds=4, reward="stft")
    hz = KICK_FREQUENCY.actions.controls[0](float(solution.actions[0][0]))
    assert 60.0 < hz < 80.0  # the kick sweeps 180 -> 48 Hz; figure 6: STFT is best near 69 Hz
    grid = agents.Evaluator(KICK_FREQUENCY, 64, reward="stft")
    try:
        xs = np.linspace(0, 1, 256, dtype=np.float32)
        dense, _ = grid.play([[np.array([x])] for x in xs])
    finally:
        grid.close()
    assert solution.rewards[0] >= dense.max()  # refining beats a grid 2x denser than its first round
    assert solution.evaluations == 32 * 4


@pytest.mark.parametrize("seed, reward", [(0, "stft"), (1, "stft"), (0, None)])  # None: the task's default
def test_actor_critic_converges_to_the_sweeps_frequency(seed, reward):
    sweep = agents.sweep(KICK_FREQUENCY, reward=reward)
    solution = agents.actor_critic(KICK_FREQUENCY, seed=seed, reward=reward)
    control = KICK_FREQUENCY.actions.controls[0]
    hz, best = control(float(solution.actions[0][0])), control(float(sweep.actions[0][0]))
    assert abs(hz / best - 1) < 0.01
    actor = solution.history["actor"]
    assert abs(actor[-1] - actor[-2]) < 0.002  # the actor has settled
    assert abs(control(actor[-1]) / best - 1) < 0.01


def test_actor_critic_critic_fits_a_smooth_function():
    critic = agents.Critic(seed=0)
    x = np.linspace(0, 1, 50)
    y = np.sin(3 * x)
    assert critic.fit(x, y, epochs=800) < 1e-2
    numeric = (critic.predict(x + 1e-5) - critic.predict(x - 1e-5)) / 2e-5
    assert np.allclose(critic.gradient(x), numeric, rtol=1e-4, atol=1e-4)


def test_agents_reject_the_wrong_kind_of_task():
    with pytest.raises(ValueError, match="continuous"):
        agents.greedy(KICK_FREQUENCY)
    with pytest.raises(ValueError, match="one-step continuous"):
        agents.sweep(DRUM_LOOP)
    with pytest.raises(ValueError, match="width"):
        agents.beam_search(DRUM_LOOP, width=0)
